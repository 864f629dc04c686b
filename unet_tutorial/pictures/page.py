"""How a picture sits on a page: its image encoding, its size and the panel around it.

Every figure (``Drawing``) and animation (``FrameStepper``) of the package
shows as one HTML ``<figure>`` built here, the same in Jupyter, Colab and on
the book's pages:

* **sharp at 2x**: images are drawn with ``DENSITY`` device pixels per CSS
  pixel and laid out at their CSS width, so text and lines stay crisp on
  high-density screens;
* **legible on a phone**: the image fills the text column, but never gets
  narrower than the width at which its smallest text is ``PHONE_TEXT_PX``
  high; on a narrower screen the figure keeps that width inside a box that
  scrolls sideways, instead of shrinking its text to nothing;
* **readable in dark mode**: the figure, its caption and controls sit on a
  white panel with dark text, so the class colours keep their meaning on a
  dark page;
* **light pages**: the figure carries ``MARKER``; when the book is built,
  ``unet_tutorial.pictures.site`` writes its images as files next to the
  page (myst-nb keeps any other HTML output's images inline).
"""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np

DENSITY = 2
"""Device pixels per CSS pixel that figures and animation frames are drawn at: a
figure shown 700 px wide is a 1400 px image, sharp on a 2x (retina) screen.
"""
PHONE_TEXT_PX = 10
"""The smallest text height, in CSS pixels, a narrow screen (a phone) may show; a
figure is never laid out narrower than the width that gives it.
"""
MARKER = "data-ut-images"
"""The attribute that marks a figure whose images the book writes as files."""

PANEL_STYLE = (
    "margin:0 0 1em 0;padding:8px;background:#fff;color:#1f2328;"
    "border-radius:4px;box-sizing:border-box"
)
"""The inline style of a figure's panel: white with dark text (dark mode), a margin."""
TEXT_STYLE = (
    "font-size:14px;font-weight:400;line-height:1.4;margin-top:6px;color:#1f2328"
)
"""The inline style of a caption (and of a stepper's step line)."""
SCROLL_STYLE = "overflow-x:auto;width:0;min-width:100%"
"""The inline style of the box that scrolls sideways when the figure is wider than the
column: as wide as the panel, and (width 0, at least 100 %) adding no width of its own
to the page's layout, which would otherwise widen the whole page on a phone.
"""
IMAGE_STYLE = "display:block;width:100%;height:auto"
"""The inline style of a figure's image: as wide as its box (the box sets the width)."""


def _palette_png(rgb: np.ndarray) -> bytes | None:
    """``rgb`` as an exact palette PNG (at most 256 colours), else ``None``."""
    from PIL import Image

    counted = Image.fromarray(rgb).getcolors(256)
    if counted is None:
        return None
    palette = np.array([c for _, c in counted], dtype=np.uint8).reshape(-1, 3)

    def key(a):
        a = a.astype(np.uint32)
        return (a[..., 0] << 16) | (a[..., 1] << 8) | a[..., 2]

    order = np.argsort(key(palette))
    index = order[np.searchsorted(key(palette)[order], key(rgb))]
    image = Image.fromarray(index.astype(np.uint8), mode="P")
    image.putpalette(palette.ravel().tolist())
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _quantised_png(rgb: np.ndarray, max_error: float) -> bytes | None:
    """``rgb`` reduced to 256 colours (no dithering) as a palette PNG, when that
    changes its pixels by at most ``max_error`` levels on average; else ``None``.

    Drawings (flat colours, anti-aliased edges and text) pass and shrink to
    about a third of an RGB PNG; photographs do not, and keep every colour.
    """
    from PIL import Image

    image = Image.fromarray(rgb).quantize(
        256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE
    )
    back = np.asarray(image.convert("RGB"), dtype=np.int16)
    if np.abs(back - rgb).mean() > max_error:
        return None
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def encode_image(frame: np.ndarray, fmt: str = "auto") -> tuple[str, bytes]:
    """An RGB image as compact file bytes; returns ``(format, bytes)``.

    ``"auto"`` picks, in order: an exact palette PNG (at most 256 colours:
    masks, diagrams), a 256-colour PNG when it is faithful (a drawing with
    anti-aliased text), a JPEG when a full PNG would be over twice its size
    (photographs), else a full PNG.

    Args:
        frame: ``uint8 (H, W, 3)`` (``(H, W, 4)`` drops its alpha).
        fmt: ``"auto"``, ``"png"`` (lossless) or ``"jpeg"``.

    Returns:
        ``("png" or "jpeg", bytes)``.
    """
    from PIL import Image

    rgb = np.ascontiguousarray(np.asarray(frame, dtype=np.uint8)[..., :3])
    if fmt not in ("auto", "png", "jpeg"):
        raise ValueError(f"fmt must be 'auto', 'png' or 'jpeg', got {fmt!r}")

    def full(kind: str) -> bytes:
        buf = io.BytesIO()
        if kind == "png":  # (optimize=True: 5 % smaller, 7 times slower)
            Image.fromarray(rgb).save(buf, format="PNG")
        else:
            Image.fromarray(rgb).save(buf, format="JPEG", quality=90)
        return buf.getvalue()

    if fmt == "jpeg":
        return "jpeg", full("jpeg")
    exact = _palette_png(rgb)
    if exact is not None or fmt == "png":
        return "png", exact if exact is not None else full("png")
    quantised = _quantised_png(rgb, max_error=0.75)
    if quantised is not None:
        return "png", quantised
    png, jpeg = full("png"), full("jpeg")
    return ("jpeg", jpeg) if len(png) > 2 * len(jpeg) else ("png", png)


def data_uri(fmt: str, data: bytes) -> str:
    """``data:image/<fmt>;base64,...`` for an ``<img src>``."""
    return f"data:image/{fmt};base64,{base64.b64encode(data).decode('ascii')}"


def min_width(width: int, smallest_text_px: float | None) -> int:
    """The narrowest a figure ``width`` CSS px wide may be shown: where its smallest
    text (``smallest_text_px`` high at ``width``) is ``PHONE_TEXT_PX`` high;
    ``width`` itself at most. A figure without text (``None``) may shrink to a third.
    """
    if not smallest_text_px:
        return max(1, round(width / 3))
    return min(width, math.ceil(width * PHONE_TEXT_PX / smallest_text_px))


def img_tag(
    src: str, alt: str, classes: str, *, hidden: bool = False, lazy: bool = False
) -> str:
    """One ``<img>`` of a figure: ``classes`` say how the book's style sheet shows it
    (its inline style does the same where the sheet is absent: Jupyter, Colab).
    """
    style = "display:none;width:100%;height:auto" if hidden else IMAGE_STYLE
    return (
        f'<img src="{src}" alt="{html.escape(alt)}" class="{classes}"'
        + (' loading="lazy"' if lazy else "")
        + f' style="{style}">'
    )


def panel(
    body: str,
    *,
    width: int,
    narrowest: int,
    classes: str,
    below: str = "",
    caption: str = "",
    attributes: str = "",
) -> str:
    """A ``<figure>`` on a white panel: ``body`` (the images) in a box ``width`` CSS px
    wide that never gets narrower than ``narrowest`` (it scrolls sideways
    instead), then ``below`` (controls) and the caption.
    """
    cap = (
        f'<figcaption style="{TEXT_STYLE}">{html.escape(caption)}</figcaption>'
        if caption
        else ""
    )
    return (
        f'<figure {attributes}class="{classes}" {MARKER}="files" '
        f'style="{PANEL_STYLE};max-width:{width + 16}px">'
        f'<div class="ut-scroll" style="{SCROLL_STYLE}">'
        f'<div class="ut-fit" style="width:{width}px;max-width:100%;'
        f'min-width:{narrowest}px">{body}</div></div>'
        f"{below}{cap}</figure>"
    )
