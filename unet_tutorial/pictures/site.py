"""The book's side of the pictures: figures and animation frames as image files.

A notebook output shows a ``Drawing`` or a ``FrameStepper`` as HTML with its
images inline (``data:`` URIs): one output that Jupyter, Colab and VS Code
show with its caption, alt text and controls. myst-nb, which turns the
executed chapters into the book's pages, copies such HTML into the page as it
is, so every image would be base64 text inside the page (pages of well over
a megabyte). ``FigureFiles`` is a myst-nb mime renderer (the
``myst_nb.mime_renderers`` entry point of the package) that takes the HTML
of the package's figures (the ones marked with ``page.MARKER``) apart: each
inline image becomes an image file, written and named by its content as
myst-nb writes ``image/png`` outputs (Sphinx copies it to ``_images/``), and
the HTML around it stays as it is. The page keeps the figure, its caption,
alt text and controls, and loads the images as files. Any other HTML output
is left to myst-nb.

It is registered in ``pyproject.toml``::

    [project.entry-points."myst_nb.mime_renderers"]
    unet_tutorial = "unet_tutorial.pictures.site:FigureFiles"
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Callable

from .page import MARKER

_IMG = re.compile(r"<img\b[^>]*>")
_SRC = re.compile(r'\bsrc="data:image/([\w.+-]+);base64,([A-Za-z0-9+/=\s]+)"')
_ATTR = re.compile(r'([\w-]+)="([^"]*)"')
_EXTENSIONS = {"png": ".png", "jpeg": ".jpg", "gif": ".gif", "webp": ".webp"}


def is_package_figure(text: str) -> bool:
    """Whether an HTML output is a figure of the package (its images may be files)."""
    head = text.lstrip()[:600]
    return head.startswith("<figure") and f'{MARKER}="files"' in head


def split_images(
    text: str, write: Callable[[str, bytes], str]
) -> list[tuple[str, str] | tuple[str, str, dict[str, str]]]:
    """Cut HTML at its inline ``<img>`` images.

    Args:
        text: HTML whose ``<img src="data:image/...;base64,...">`` are to be files.
        write: ``write(file name, bytes) -> uri``; the name is the SHA-256 of
            the bytes and the image's extension.

    Returns:
        ``[("html", text), ("image", uri, attributes), ("html", text), ...]``:
        the HTML between the images, as it was, and each image's file and its
        other attributes (``alt``, ``class``, ``loading`` ...; unescaped).
    """
    parts: list = []
    at = 0
    for tag in _IMG.finditer(text):
        src = _SRC.search(tag.group(0))
        fmt = src and src.group(1)
        if fmt not in _EXTENSIONS:
            continue  # an image by address, or a kind we leave inline
        data = base64.b64decode(re.sub(r"\s", "", src.group(2)))
        name = hashlib.sha256(data).hexdigest() + _EXTENSIONS[fmt]
        attributes = {
            key: html.unescape(value)
            for key, value in _ATTR.findall(tag.group(0).replace(src.group(0), ""))
        }
        parts.append(("html", text[at : tag.start()]))
        parts.append(("image", write(name, data), attributes))
        at = tag.end()
    parts.append(("html", text[at:]))
    return parts


class FigureFiles:
    """myst-nb mime renderer: the package's figures and frame steppers with their
    images as files next to the page, not inline.

    myst-nb asks every registered renderer first; this one takes the
    ``text/html`` of a figure of the package (``is_package_figure``) and
    returns docutils nodes: the HTML around the images as raw HTML, each
    image as an image node (Sphinx copies its file to ``_images/`` and keeps
    its ``alt`` text, classes and lazy loading). Anything else, an inline
    output (glue) or a build without Sphinx gets ``None``: myst-nb renders it
    as usual.
    """

    mime_priority_overrides = ()

    @staticmethod
    def handle_mime(renderer, data, inline: bool):
        if inline or data.mime_type != "text/html":
            return None
        text = data.string
        if not is_package_figure(text) or not renderer.renderer.sphinx_env:
            return None
        from docutils import nodes

        def write(name: str, content: bytes) -> str:
            return renderer.write_file([name], content, overwrite=False, exists_ok=True)

        # raw nodes without classes: docutils would wrap each in a <div> of its own
        out = []
        for part in split_images(f'<div class="output text_html">{text}</div>', write):
            if part[0] == "html":
                if part[1]:
                    out.append(nodes.raw(text=part[1], format="html"))
                continue
            _, uri, attributes = part
            image = nodes.image(uri=uri, alt=attributes.get("alt", ""))
            image["classes"] += attributes.get("class", "").split()
            if attributes.get("loading") == "lazy":
                image["loading"] = "lazy"
            out.append(image)
        return out
