"""Write the overview tables of ``book/api.md`` from the package's own docstrings.

One table per wing (the teaching core, the engine, the pictures), one row per
public name: how to reach it (``ut.NAME``, or ``ut.engine.NAME`` for the
engine's other names), its module, and the first sentence of its docstring.
The full docstrings are on the wing pages (``book/api_core.md``,
``book/api_engine.md``, ``book/api_pictures.md``); the order of their
``automodule`` blocks is the order of the tables' rows. Everything is read from
the sources (``ast``): nothing is imported, so this takes a moment, not
TensorFlow's start-up.

Which names: every name ``unet_tutorial/__init__.py`` exports (``_EXPORTS``,
so ``ut.NAME``) and the package's own names its page lists; for the engine,
also every other public name with a docstring that its modules define
(``ut.engine.NAME`` reaches them all), as its page documents them. Each name
links to its documentation; a name without a docstring yet (``NO_DOCSTRING``)
has nothing to link to.

Usage (from the repository root)::

    python scripts/api_tables.py           # rewrite the tables in book/api.md
    python scripts/api_tables.py --check   # exit 1 if they are stale (the tests run this)
"""

from __future__ import annotations

import argparse
import ast
import inspect
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "unet_tutorial"
OVERVIEW = ROOT / "book" / "api.md"
WINGS = {"core": "", "engine": "engine", "pictures": "pictures"}
"""Wing -> its folder inside the package ("" for the teaching core)."""
NO_DOCSTRING = {
    "NUM_CLASSES": "The number of classes, ``len(CLASS_NAMES)``.",
    "PRESETS": "The presets of ``TrainConfig.preset``: name -> settings.",
}
"""The line for a public name that has no docstring yet. ``--check`` fails once the
name has one (or is gone), so that this line is dropped rather than left to drift."""
TABLE = re.compile(r"(<!-- api-table: (\w+) -->\n).*?(<!-- /api-table: \2 -->)", re.S)


@dataclass(frozen=True)
class Row:
    wing: str
    module: str  # unet_tutorial.model
    name: str  # build_unet
    reach: str  # ut.build_unet or ut.engine.RunLock
    line: str  # the first sentence of its docstring, in Markdown
    documented: bool = True  # False: no docstring, so not on the wing page


def wing_page(wing: str) -> Path:
    return ROOT / "book" / f"api_{wing}.md"


def page_modules(wing: str) -> list[tuple[str, list[str] | None]]:
    """The modules the wing's page documents, in its order, each with the names its
    ``:members:`` option lists (``[]`` for all, ``None`` without the option)."""
    text = wing_page(wing).read_text(encoding="utf-8")
    found = []
    for module, options in re.findall(
        r"^\.\. automodule:: (\S+)\n((?:   :.*\n)*)", text, re.M
    ):
        members = re.search(r"^   :members:(.*)$", options, re.M)
        found.append(
            (module, re.findall(r"\w+", members.group(1)) if members else None)
        )
    return found


def _module_file(module: str) -> Path:
    parts = module.split(".")[1:]
    path = PACKAGE.joinpath(*parts)
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def defined_names(module: str) -> dict[str, str | None]:
    """Public names bound at the top level of ``module``'s source -> their docstring
    (a function's or class's own, or the string right after a constant), in source order."""
    body = ast.parse(_module_file(module).read_text(encoding="utf-8")).body
    found: dict[str, str | None] = {}
    for node, after in zip(body, [*body[1:], None], strict=True):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found.setdefault(node.name, ast.get_docstring(node))
            continue
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        doc = None
        if (
            isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            doc = inspect.cleandoc(after.value.value)
        # NAME = ... and A, B = ..., not PRESETS["x"] = ...
        names = [t for t in targets if isinstance(t, ast.Name)]
        names += [e for t in targets if isinstance(t, ast.Tuple) for e in t.elts]
        for name in names:
            if isinstance(name, ast.Name) and (doc or name.id not in found):
                found[name.id] = doc
    return {n: d for n, d in found.items() if not n.startswith("_")}


def exports() -> dict[str, tuple[str, ...]]:
    """``_EXPORTS`` of ``unet_tutorial/__init__.py``: module -> the names ``ut.NAME`` reaches."""
    for node in ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8")).body:
        if (
            isinstance(node, ast.AnnAssign)
            and getattr(node.target, "id", "") == "_EXPORTS"
        ):
            return {
                f"unet_tutorial.{k}": tuple(v)
                for k, v in ast.literal_eval(node.value).items()
            }
    raise SystemExit("unet_tutorial/__init__.py defines no _EXPORTS")


def first_sentence(doc: str) -> str:
    """The docstring's first sentence (of its first paragraph), on one line."""
    paragraph = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())
    end = re.search(r"(?<!e\.g)(?<!i\.e)(?<!\bal)\.(?=\s+[A-Z`(\"])", paragraph)
    return paragraph[: end.end()] if end else paragraph


def to_markdown(text: str) -> str:
    """reStructuredText inline markup of a docstring line as Markdown in a table cell."""
    text = re.sub(r":\w+:`~?([^`]+)`", r"``\1``", text)  # :func:`x` -> ``x``
    text = re.sub(r"``(.+?)``", lambda m: "\0" + m.group(1) + "\0", text)
    parts = text.split("\0")
    for i, part in enumerate(parts):
        if i % 2:  # code
            parts[i] = "`" + part + "`"
        else:
            parts[i] = re.sub(r"([$<>])", r"\\\1", part)
    return "".join(parts).replace("|", "\\|")


def rows() -> list[Row]:
    """Every row of every table, wing by wing, in the order of the wing pages."""
    exported = exports()
    top_level = {n for names in exported.values() for n in names}
    out = []
    for wing in WINGS:
        for module, members in page_modules(wing):
            defined = defined_names(module)
            if members is None:  # the module's docstring only
                names = []
            elif members:  # the names the page lists
                names = members
            elif wing == "engine":  # ut.engine.NAME reaches them all: those documented
                names = [n for n in defined if defined[n] or n in top_level]
            else:  # ut.NAME
                listed = set(exported.get(module, ()))
                names = [n for n in defined if n in listed]
                # exported, never defined: no docstring, so it fails below
                names += sorted(listed - set(names))
            for name in names:
                doc = defined.get(name)
                line = doc and first_sentence(doc) or NO_DOCSTRING.get(name)
                if not line:
                    raise SystemExit(f"{module}.{name} has no docstring")
                if name in top_level or module == "unet_tutorial":
                    reach = f"ut.{name}"
                elif wing == "engine":
                    reach = f"ut.engine.{name}"
                else:
                    reach = f"{module.replace('unet_tutorial', 'ut', 1)}.{name}"
                out.append(Row(wing, module, name, reach, to_markdown(line), bool(doc)))
    return out


def table(wing: str, all_rows: list[Row]) -> str:
    lines = ["| name | module | what it is for |", "|---|---|---|"]
    for row in all_rows:
        if row.wing == wing:
            short = row.module.removeprefix("unet_tutorial.").removeprefix(
                f"{WINGS[wing]}."
            )
            name = (
                f"{{py:obj}}`{row.reach} <{row.module}.{row.name}>`"
                if row.documented
                else f"`{row.reach}`"
            )
            lines.append(
                f"| {name} | {{py:mod}}`{short} <{row.module}>` | {row.line} |"
            )
    return "\n".join(lines) + "\n"


def stamp(check: bool = False) -> list[str]:
    """Rewrite (or, with ``check``, compare) the tables of book/api.md; return what is stale."""
    all_rows = rows()
    dropped = [
        name
        for name, line in NO_DOCSTRING.items()
        if not any(r.name == name and r.line == to_markdown(line) for r in all_rows)
    ]
    if dropped:
        raise SystemExit(
            f"scripts/api_tables.py: drop {dropped} from NO_DOCSTRING: "
            "each has a docstring now, or is gone"
        )
    stale = []
    text = OVERVIEW.read_text(encoding="utf-8")
    missing = set(WINGS) - set(m.group(2) for m in TABLE.finditer(text))
    if missing:
        raise SystemExit(
            f"book/api.md has no <!-- api-table: WING --> for {sorted(missing)}"
        )
    wanted = TABLE.sub(
        lambda m: m.group(1) + table(m.group(2), all_rows) + m.group(3), text
    )
    if wanted != text:
        stale.append("book/api.md")
        if not check:
            OVERVIEW.write_text(wanted, encoding="utf-8")
    return stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--check",
        action="store_true",
        help="only report what is stale (exit 1 if anything is)",
    )
    args = parser.parse_args(argv)
    stale = stamp(check=args.check)
    if args.check and stale:
        print("stale (run python scripts/api_tables.py): " + ", ".join(stale))
        return 1
    print(("rewrote: " + ", ".join(stale)) if stale else "up to date: book/api.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
