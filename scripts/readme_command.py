"""Print a command marked in README.md (``book-command`` or ``test-command``).

The README's set-up commands are the project's contract: ``.ci/run`` and the
GitHub workflows run exactly these, read from the README by this script, so a
reader and CI never run different things.

Usage: ``bash -euo pipefail -c "$(python3 scripts/readme_command.py test-command)"``
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_command(name: str) -> str:
    """The command between ``<!-- name -->`` and ``<!-- /name -->`` in README.md, fences removed."""
    found = re.search(
        rf"<!-- {re.escape(name)} -->\n(.*?)<!-- /{re.escape(name)} -->",
        README.read_text(),
        re.S,
    )
    if not found:
        raise SystemExit(f"README.md has no block marked <!-- {name} -->")
    lines = [
        line
        for line in found.group(1).splitlines()
        if line.strip() and not line.startswith("```")
    ]
    if not lines:
        raise SystemExit(f"README.md's {name} block is empty")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: readme_command.py book-command|test-command")
    print(readme_command(sys.argv[1]))
