"""A pybtex style whose bibliography labels read like the book's citations.

For example "Ronneberger et al., 2015".

The chapters cite as plain author–year links (they must read the same in
Colab, which renders no MyST roles), so the references page labels its
entries the same way instead of pybtex's "alpha" keys such as [RFB15].
Registered as the pybtex formatting style ``authoryear`` (see ``_config.yml``).
"""

from __future__ import annotations

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person) -> str:
    return " ".join(name.render_as("text") for name in person.rich_last_names)


def author_year_label(entry) -> str:
    """A label like ``"Ronneberger et al., 2015"`` or ``"Dumoulin & Visin, 2016"``.

    One author gives ``"Chollet, 2017"``; an entry without a year gets ``n.d.``.
    """
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p) for p in people]
    if not names:
        who = entry.fields.get("title", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} & {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabels(BaseLabelStyle):
    def format_labels(self, sorted_entries):
        seen: dict[str, int] = {}
        for entry in sorted_entries:
            label = author_year_label(entry)
            seen[label] = seen.get(label, 0) + 1
            yield (
                label
                if seen[label] == 1
                else f"{label}{chr(ord('a') + seen[label] - 1)}"
            )


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


def setup(app):
    register_plugin("pybtex.style.formatting", "authoryear", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
