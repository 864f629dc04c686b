"""Static figures with one colour per class everywhere in the book.

Colours: pet = orange, background = blue, border = black (``CLASS_COLORS``), all
three from the Okabe–Ito palette (``OKABE_ITO``), which was designed to stay
distinct for the common forms of colour blindness; they also differ in
lightness, so they stay apart in greyscale. The plotting functions use pyplot, so
they show inline in Jupyter; without a display matplotlib falls back to its
headless Agg backend.
"""

from __future__ import annotations

import io
import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import hsv_to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..labels import CLASS_NAMES
from ..tiling import mirror_pad, tile_layout

OKABE_ITO: dict[str, tuple[int, int, int]] = {
    "black": (0, 0, 0),
    "orange": (230, 159, 0),
    "sky blue": (86, 180, 233),
    "bluish green": (0, 158, 115),
    "yellow": (240, 228, 66),
    "blue": (0, 114, 178),
    "vermillion": (213, 94, 0),
    "reddish purple": (204, 121, 167),
}
"""The eight colours of Okabe & Ito's colour-blind-safe palette, by name (RGB)."""

CLASS_COLOR_NAMES: dict[str, str] = {
    "pet": "orange",
    "background": "blue",
    "border": "black",
}
"""The ``OKABE_ITO`` colour of each class, in the order of ``CLASS_NAMES``: a figure
or caption that names a class's colour reads it here.
"""

CLASS_COLORS = np.array(
    [OKABE_ITO[CLASS_COLOR_NAMES[name]] for name in CLASS_NAMES], dtype=np.uint8
)
"""RGB colour per class ``(num_classes, 3)`` ``uint8``, row ``k`` for label ``k``:
pet (orange), background (blue), border (black). Every mask and overlay of the
package is coloured from it.
"""

MASK_COLORS = np.array(
    [*CLASS_COLORS]
    + [c for n, c in OKABE_ITO.items() if n not in CLASS_COLOR_NAMES.values()],
    dtype=np.uint8,
)
"""The first 8 class colours (your own data): ``CLASS_COLORS`` first, then the other
Okabe-Ito colours; ``mask_colors`` adds more.
"""


def mask_colors(num_classes: int) -> np.ndarray:
    """RGB colours ``uint8 (num_classes, 3)`` for class indices ``0..num_classes-1``:
    ``MASK_COLORS`` (colour-blind-safe), then a golden-ratio walk around the hue
    circle at three lightness levels, so every class keeps its colour whatever the
    count (no palette of matplotlib's has more than 20 colours).
    """
    if num_classes < 0:
        raise ValueError(f"num_classes={num_classes!r} must be at least 0.")
    k = np.arange(max(num_classes - len(MASK_COLORS), 0))
    hue = (k * 0.618033988749895) % 1  # the golden ratio: hues never repeat
    saturation = np.array([0.45, 0.85, 0.65])[k % 3]
    value = np.array([0.95, 0.7, 0.5])[k % 3]
    extra = hsv_to_rgb(np.stack([hue, saturation, value], -1).reshape(-1, 3))
    extra = (extra * 255 + 0.5).astype(np.uint8)
    return np.concatenate([MASK_COLORS, extra])[:num_classes]


ATTRIBUTION = (
    "Images and trimaps: Oxford-IIIT Pet "
    "(Parkhi, Vedaldi, Zisserman & Jawahar, CVPR 2012), CC BY-SA 4.0."
)
"""The line that every figure showing Oxford-IIIT Pet images carries (the dataset's
licence asks for it).
"""
STAND_IN_CREDIT = "Synthetic stand-in: generated images, not Oxford-IIIT Pet."
"""The line that every figure showing the synthetic stand-in carries."""


DISPLAY_PX = 700
"""The width (pixels) at which a book page shows a figure; text is sized to be legible
at it. A wider figure is shrunk to it; on a phone a figure keeps at least the width at
which its smallest text is ``page.PHONE_TEXT_PX`` high, and scrolls sideways
(``unet_tutorial.pictures.page``).
"""
MIN_TEXT_PX = 12
"""The smallest text height, in pixels at ``DISPLAY_PX``, that a figure of the package
or the book may have. ``captioned`` refuses smaller text; ``add_credit`` never
writes it.
"""


def _texts(figure: Figure):
    """The texts ``figure`` draws: visible, not empty, not on an axis that is off."""
    from matplotlib.text import Text

    # the tick and axis labels of an axis that is switched off are never drawn
    hidden = {
        id(t)
        for ax in figure.axes
        for axis in (ax.xaxis, ax.yaxis)
        if not (ax.axison and axis.get_visible())
        for t in axis.findobj(Text)
    }
    for t in figure.findobj(Text):
        if id(t) in hidden or not (t.get_visible() and t.get_text().strip()):
            continue
        if t.axes is not None and not t.axes.get_visible():
            continue  # an invisible axes hides its texts
        yield t


def smallest_text_px(figure: Figure) -> float | None:
    """The height, in pixels at the figure's own size, of its smallest horizontal text
    (``None``: it has none).
    """
    sizes = [
        t.get_fontsize() * figure.dpi / 72
        for t in _texts(figure)
        if not t.get_rotation() % 180
    ]
    return min(sizes) if sizes else None


def illegible_texts(
    figure: Figure, width_px: float | None = None
) -> list[tuple[str, float, float]]:
    """The texts of ``figure`` that a page could not show legibly.

    A page shows a figure at most ``DISPLAY_PX`` wide, shrinking wider ones, so
    a text of ``s`` points ends up ``s * dpi / 72 * min(1, DISPLAY_PX /
    width_px)`` pixels high. Texts below ``MIN_TEXT_PX`` at that size, and
    rotated texts (vertical axis labels), are returned.

    Args:
        figure: a matplotlib ``Figure``.
        width_px: the width of the image the page shows (e.g. of the PNG cropped
            to the drawing); the figure's own width when ``None``.

    Returns:
        ``[(text, height in px, rotation in degrees), ...]``, empty when all is
        legible.
    """
    width_px = width_px or figure.get_figwidth() * figure.dpi
    shrink = min(1.0, DISPLAY_PX / width_px)
    bad = []
    for t in _texts(figure):
        height = t.get_fontsize() * figure.dpi / 72 * shrink
        if height < MIN_TEXT_PX or t.get_rotation() % 180:
            bad.append((t.get_text(), round(height, 1), t.get_rotation()))
    return bad


def min_fontsize(figure: Figure) -> float:
    """The smallest font size (points, to 0.1) that is ``MIN_TEXT_PX`` high when a page
    shows ``figure`` (at most ``DISPLAY_PX`` wide).
    """
    width_px = figure.get_figwidth() * figure.dpi
    shrink = min(1.0, DISPLAY_PX / width_px)
    return math.ceil(MIN_TEXT_PX * 72 / figure.dpi / shrink * 10) / 10


def _figure(figsize, dpi: int = 80) -> Figure:
    """A figure on its own Agg canvas: headless, leaving pyplot's backend alone."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def data_credit(is_stand_in: bool) -> str:
    """The credit line of a figure that shows dataset images: ``ATTRIBUTION`` or
    ``STAND_IN_CREDIT``.

    Args:
        is_stand_in: ``DataInfo.is_stand_in`` (or ``BookProfile.is_stand_in``)
            of the data the figure shows.
    """
    return STAND_IN_CREDIT if is_stand_in else ATTRIBUTION


def add_credit(fig, text: str | None, fontsize: float = 10) -> None:
    """Write a credit line along the bottom edge of a figure (nothing for ``None``),
    wrapped to its width.

    The line is never smaller than a page can show (``min_fontsize``): a
    smaller ``fontsize`` is raised to it.
    """
    if text:
        import textwrap

        fontsize = max(fontsize, min_fontsize(fig))
        # about 0.55 em per character
        chars = max(20, int(fig.get_figwidth() * 72 / (0.55 * fontsize)))
        fig.text(
            0.5,
            0.004,
            textwrap.fill(text, chars),
            ha="center",
            va="bottom",
            fontsize=fontsize,
            color="0.25",
        )


def mask_to_rgb(mask: np.ndarray) -> np.ndarray:
    """Colour a label mask ``(H, W)`` of class indices with ``mask_colors`` (the pets'
    classes in ``CLASS_COLORS``, the next five Okabe-Ito, then generated colours);
    returns ``uint8 (H, W, 3)``.
    """
    mask = np.asarray(mask)
    if mask.ndim == 3 and mask.shape[-1] == 1:
        mask = mask[..., 0]
    if mask.ndim != 2:
        raise ValueError(f"mask must be (H, W); got shape {mask.shape}.")
    if mask.size and mask.min() < 0:
        raise ValueError(
            f"mask values must be class indices 0, 1, 2, ...; got {mask.min()}. Map "
            "pixel values to class indices first (e.g. ut.binary_to_class_mask)."
        )
    mask = mask.astype(np.int64)
    return mask_colors(int(mask.max()) + 1 if mask.size else 0)[mask]


def _to_uint8(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    return (np.clip(image, 0, 1) * 255 + 0.5).astype(np.uint8)


def overlay_mask(
    image: np.ndarray, mask: np.ndarray, alpha: float = 0.45
) -> np.ndarray:
    """Blend a coloured mask over an image; returns ``uint8 (H, W, 3)``.

    Args:
        image: ``(H, W, 3)``, ``uint8`` or float in ``[0, 1]``.
        mask: ``(H, W)`` labels of the same height and width.
        alpha: opacity of the mask colours.
    """
    img = _to_uint8(image)
    colours = mask_to_rgb(mask)
    if img.shape[:2] != colours.shape[:2]:
        raise ValueError(
            f"image {img.shape[:2]} and mask {colours.shape[:2]} differ in size."
        )
    out = (1 - alpha) * img.astype(np.float32) + alpha * colours.astype(np.float32)
    return (out + 0.5).astype(np.uint8)


def class_legend(ax, class_names=CLASS_NAMES, **kwargs) -> None:
    """Add a legend of the class colours to a matplotlib axis or figure.

    ``kwargs`` go to its ``legend`` (``loc``, ``ncol``, ``bbox_to_anchor``, ...).
    """
    colours = mask_colors(len(class_names)) / 255
    handles = [
        Patch(color=c, label=n) for c, n in zip(colours, class_names, strict=True)
    ]
    ax.legend(handles=handles, **kwargs)


def plot_samples(
    images,
    masks,
    predictions=None,
    *,
    titles=None,
    max_rows: int = 4,
    credit: str | None = None,
):
    """A grid: one row per example with the image, its true mask and (optionally) the
    prediction.

    Args:
        images: ``(n, H, W, 3)`` in ``[0, 1]`` or ``uint8``.
        masks: ``(n, H, W)`` true labels.
        predictions: ``(n, H, W)`` predicted labels, or ``None``.
        titles: optional column titles.
        max_rows: at most this many examples.
        credit: a line along the bottom, e.g. ``data_credit(info.is_stand_in)``.

    Returns:
        The matplotlib ``Figure``.
    """
    n = min(len(images), max_rows)
    cols = 3 if predictions is not None else 2
    titles = titles or ["image", "true mask", "predicted mask"][:cols]
    fig, axes = plt.subplots(
        n, cols, figsize=(2.3 * cols, 2.3 * n + 0.6), squeeze=False
    )
    for i in range(n):
        panels = [_to_uint8(images[i]), mask_to_rgb(masks[i])]
        if predictions is not None:
            panels.append(mask_to_rgb(predictions[i]))
        for j, panel in enumerate(panels):
            axes[i, j].imshow(panel, interpolation="nearest")
            axes[i, j].set_xticks([])
            axes[i, j].set_yticks([])
            if i == 0:
                axes[i, j].set_title(titles[j])
    low = (0.035 if cols == 3 else 0.06) if credit else 0.0
    class_legend(
        fig,
        loc="lower center",
        bbox_to_anchor=(0.5, low),
        ncol=len(CLASS_NAMES),
        frameon=False,
    )
    fig.tight_layout(rect=(0, 0.06 + low, 1, 1))
    add_credit(fig, credit, fontsize=9 if cols == 2 else 10)
    return fig


def plot_learning_curves(
    history: dict, metrics=("loss", "mean_iou"), *, columns: int = 2
):
    """Training against validation curves, one panel per metric.

    The loss is drawn on a log scale: the first validation losses of a
    network with fresh batch-norm statistics can be a hundred times the
    later ones, and would flatten the rest of the curve.

    Args:
        history: ``{"loss": [...], "val_loss": [...], ...}`` (``TrainResult.history``
            or ``keras.callbacks.History.history``).
        metrics: the metric names to plot (their ``val_`` twins are added).
        columns: panels per row.

    Returns:
        The matplotlib ``Figure``.
    """
    missing = [m for m in metrics if m not in history]
    if missing:
        raise ValueError(f"history has no {missing}; it has {sorted(history)}.")
    epochs = np.arange(1, len(history[metrics[0]]) + 1)
    cols = min(columns, len(metrics))
    rows = -(-len(metrics) // cols)
    with plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(
            rows, cols, figsize=(3.5 * cols, 2.8 * rows), squeeze=False
        )
        for ax, m in zip(axes.ravel(), metrics, strict=False):
            ax.plot(epochs, history[m], "o-", ms=3, label="train")
            if f"val_{m}" in history:
                ax.plot(epochs, history[f"val_{m}"], "s--", ms=3, label="validation")
            if m == "loss":
                ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_title(m.replace("_", " "))
            ax.grid(alpha=0.3)
            ax.legend()
        for ax in axes.ravel()[len(metrics) :]:
            ax.remove()  # no empty panel in the grid
        fig.tight_layout()
        last = len(metrics) - (rows - 1) * cols
        if rows > 1 and last < cols:  # centre an incomplete last row under the others
            x0, x1 = axes[0, 0].get_position().x0, axes[0, 1].get_position().x0
            shift = (cols - last) / 2 * (x1 - x0)
            for ax in axes[-1, :last]:
                box = ax.get_position()
                ax.set_position(box.translated(shift, 0))
    return fig


class Drawing:
    """A matplotlib figure that shows itself in a notebook, with alt text and an
    optional caption.

    A bare ``Figure`` made without pyplot shows only as text in a notebook;
    a ``Drawing`` returns a PNG (``_repr_png_``) and, where HTML is shown, a
    ``<figure>`` with the image, its ``alt`` text and a ``<figcaption>``
    (``unet_tutorial.pictures.page``): drawn at ``DENSITY`` times its size
    and laid out at its own width, so it is sharp on a 2x screen; never
    narrower than its smallest text allows on a phone (it scrolls sideways
    instead); on a white panel in dark mode; and, in the built book, written
    as an image file next to the page. Everything else (``savefig``,
    ``legends``, ``get_figwidth`` ...) is the wrapped ``figure``'s.

    Args:
        figure: the matplotlib ``Figure``.
        alt: what the figure shows, for readers who cannot see it.
        caption: a caption under the figure.
        tight: crop the image to what is drawn, as the notebook's own inline
            display of a pyplot figure does.
    """

    def __init__(
        self, figure: Figure, alt: str = "", caption: str = "", *, tight: bool = False
    ):
        self.figure, self.alt, self.caption = figure, alt, caption
        self.tight = tight

    def __getattr__(self, name: str):
        return getattr(self.__dict__["figure"], name)

    def png(self, density: float = 1) -> bytes:
        """The figure as PNG bytes, at its own size times ``density``."""
        buf = io.BytesIO()
        tight = {"bbox_inches": "tight", "pad_inches": 0.05} if self.tight else {}
        self.figure.savefig(buf, format="png", dpi=self.figure.dpi * density, **tight)
        return buf.getvalue()

    def _repr_png_(self) -> bytes:
        return self.png()

    def _repr_html_(self) -> str:
        from PIL import Image

        from . import page

        with Image.open(io.BytesIO(self.png(page.DENSITY))) as im:
            pixels = np.asarray(im.convert("RGB"))
        fmt, data = page.encode_image(pixels)
        width = round(pixels.shape[1] / page.DENSITY)
        # the smallest text's height at the figure's own size is its height at `width`
        narrowest = page.min_width(width, smallest_text_px(self.figure))
        image = page.img_tag(page.data_uri(fmt, data), self.alt, "ut-img")
        return page.panel(
            image,
            width=width,
            narrowest=narrowest,
            classes="ut-figure",
            caption=self.caption,
        )


def _is_empty(ax) -> bool:
    """Whether an axes shows nothing: no image, line, patch, collection, text, table,
    legend or title of its own (or is hidden).
    """
    if not ax.get_visible():
        return True
    drawn = [
        *ax.images,
        *ax.lines,
        *ax.patches,
        *ax.collections,
        *ax.texts,
        *ax.tables,
        *ax.artists,
        *ax.child_axes,
    ]
    if any(a.get_visible() for a in drawn) or ax.get_legend() is not None:
        return False
    return not any(ax.get_title(loc).strip() for loc in ("left", "center", "right"))


def remove_empty_axes(figure: Figure) -> int:
    """Remove the axes of ``figure`` that show nothing (``ax.remove()``): a grid of
    ``plt.subplots`` with fewer panels than slots, or a hidden axes, leaves no
    empty frame. Returns how many were removed.
    """
    empty = [ax for ax in figure.axes if _is_empty(ax)]
    for ax in empty:
        ax.remove()
    return len(empty)


def captioned(figure: Figure, caption: str, *, alt: str) -> Drawing:
    """A pyplot figure with a caption and alt text, to show as a cell's result.

    A notebook shows a pyplot figure as a bare image: no caption, and the
    image file's name as its alt text. Ending a cell with
    ``ut.captioned(fig, "...", alt="...")`` shows the same figure inside an
    HTML ``<figure>`` with its ``<figcaption>`` and ``alt`` text, in Jupyter,
    Colab and on the book's pages alike. pyplot's own handle on the figure is
    closed, so it is not shown a second time; ``display(...)`` it when more
    output follows in the same cell. Axes that show nothing (the unused
    slots of a grid, hidden axes) are removed (``remove_empty_axes``), so
    no empty frame is left on the page.

    Its texts must be legible on a page: at least ``MIN_TEXT_PX`` high when
    the page shows the figure at most ``DISPLAY_PX`` wide, and horizontal.
    On a phone the figure keeps the width at which its smallest text is
    ``page.PHONE_TEXT_PX`` high and scrolls sideways.

    Args:
        figure: a matplotlib ``Figure`` (e.g. from ``plt.subplots``).
        caption: what the figure shows and which data it came from.
        alt: a description for readers who cannot see it.

    Returns:
        A ``Drawing``.

    Raises:
        ValueError: if ``caption`` or ``alt`` is empty, or a text of the figure
            would be illegible on the page (``illegible_texts``).
    """
    if not isinstance(figure, Figure):
        raise ValueError(
            f"captioned needs a matplotlib Figure (e.g. from plt.subplots), not "
            f"{type(figure).__name__}."
        )
    for name, text in (("caption", caption), ("alt", alt)):
        if not isinstance(text, str) or not text.strip():
            raise ValueError(
                f"{name} is empty; say what the figure shows (and, for the caption, "
                "which data it came from)."
            )
    plt.close(figure)
    remove_empty_axes(figure)
    drawing = Drawing(figure, alt.strip(), caption.strip(), tight=True)
    from PIL import Image

    width_px = Image.open(io.BytesIO(drawing.png())).size[0]
    bad = illegible_texts(figure, width_px)
    if bad:
        listed = "; ".join(f"{t!r}: {h} px, rotated {r:g}°" for t, h, r in bad[:5])
        raise ValueError(
            f"{len(bad)} text(s) of this figure would not be legible on a page that "
            f"shows it {min(width_px, DISPLAY_PX)} px wide (at least {MIN_TEXT_PX} "
            f"px high, and horizontal): {listed}. Make the figure narrower (at most "
            f"{DISPLAY_PX / figure.dpi:g} in at {figure.dpi:g} dpi is never shrunk), "
            "the font larger, or the label horizontal (e.g. a title instead of a "
            "y label)."
        )
    return drawing


def draw_overlap_tiles(
    image: np.ndarray,
    input_size: int,
    output_size: int,
    *,
    highlight: tuple[int, ...] = (0, 1),
    caption: str = "",
):
    """The overlap-tile layout on a real image: the mirrored border, the output grid and
    a few input windows.

    Args:
        image: ``(H, W, 3)`` (or ``(H, W)``) ``uint8`` or float in ``[0, 1]``.
        input_size: the model's input tile size.
        output_size: the size it predicts from one tile.
        highlight: indices (row by row) of the tiles whose input window is drawn.
        caption: a caption shown under the figure in a notebook.

    Returns:
        A ``Drawing`` (a matplotlib figure that shows itself in a notebook).
    """
    from matplotlib import patheffects
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch, Rectangle

    image = np.asarray(image)
    tiles, pads = tile_layout(image.shape[0], image.shape[1], input_size, output_size)
    canvas = mirror_pad(image, pads)
    top, _, left, _ = pads
    width_in = 7.0
    height_in = width_in * canvas.shape[0] / canvas.shape[1] + 1.4
    fig = _figure((width_in, height_in), dpi=100)
    ax = fig.add_axes((0.02, 1.0 / height_in, 0.96, (height_in - 1.4) / height_in))
    ax.imshow(canvas, cmap="gray" if canvas.ndim == 2 else None)
    ax.set_axis_off()
    for t in tiles:  # the output grid, in image coordinates shifted by the padding
        y0, x0, y1, x1 = t.output_box
        ax.add_patch(
            Rectangle(
                (x0 + left - 0.5, y0 + top - 0.5),
                x1 - x0,
                y1 - y0,
                fill=False,
                ec="white",
                lw=1.0,
                ls=":",
            )
        )
    outline = [patheffects.withStroke(linewidth=4.2, foreground="black")]
    ax.add_patch(
        Rectangle(
            (left - 0.5, top - 0.5),
            image.shape[1],
            image.shape[0],
            fill=False,
            ec="white",
            lw=2.2,
            path_effects=outline,
        )
    )
    colours = [
        "#{:02X}{:02X}{:02X}".format(*OKABE_ITO[name])
        for name in ("yellow", "sky blue", "reddish purple", "bluish green")
    ]
    handles = [
        Line2D(
            [],
            [],
            color="white",
            lw=2.2,
            path_effects=outline,
            label="the image (outside it: mirrored)",
        ),
        Line2D(
            [],
            [],
            color="black",
            lw=1.0,
            ls=":",
            label=f"output squares, {output_size} px (white)",
        ),
    ]
    for k, index in enumerate(i for i in highlight if 0 <= i < len(tiles)):
        t, colour = tiles[index], colours[k % len(colours)]
        y0, x0, y1, x1 = t.input_box
        ax.add_patch(
            Rectangle(
                (x0 - 0.5, y0 - 0.5),
                x1 - x0,
                y1 - y0,
                fill=False,
                ec=colour,
                lw=2.4,
                ls="--",
            )
        )
        y0, x0, y1, x1 = t.output_box
        ax.add_patch(
            Rectangle(
                (x0 + left - 0.5, y0 + top - 0.5),
                x1 - x0,
                y1 - y0,
                fc=colour,
                alpha=0.28,
                ec=colour,
                lw=2.0,
            )
        )
        handles.append(
            Patch(
                fc="none",
                ec=colour,
                ls="--",
                lw=2.0,
                label=f"tile ({t.row}, {t.col}): {input_size} px input",
            )
        )
        handles.append(
            Patch(
                fc=colour,
                alpha=0.5,
                ec=colour,
                label=f"tile ({t.row}, {t.col}): its output",
            )
        )
    fig.legend(handles=handles, loc="lower center", ncol=2, fontsize=9.5, frameon=False)
    title = (
        f"Overlap-tile: {len(tiles)} tiles of {input_size} px in, {output_size} px "
        f"out; {(input_size - output_size) // 2} px of context on every side"
    )
    fig.text(
        0.5,
        1 - 0.12 / height_in,
        title,
        ha="center",
        va="top",
        fontsize=10.5,
        fontweight="bold",
    )
    alt = (
        f"An image of {image.shape[1]}×{image.shape[0]} pixels with a mirrored border "
        f"of {(input_size - output_size) // 2} pixels, cut into {len(tiles)} output "
        f"squares of {output_size} pixels; dashed frames show the larger {input_size} "
        "pixel input windows that overlap their neighbours."
    )
    return Drawing(fig, alt, caption)


def plot_receptive_fields(fields: dict[str, np.ndarray], fraction: float = 0.5):
    """Effective receptive fields side by side, with the window they can reach.

    Each panel shows one ``(H, W)`` map from ``effective_receptive_field``,
    scaled to its own maximum. The dashed box is where the map is non-zero:
    the theoretical receptive field, cut off by the image's edges. The solid
    box is ``central_square(field, fraction)``, the square that holds
    ``fraction`` of the gradient.

    Args:
        fields: ``{panel title: (H, W) field}``.
        fraction: the share of each field the solid box encloses.

    Returns:
        The matplotlib ``Figure``.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    from ..receptive_field import central_square

    if not fields:
        raise ValueError("fields is empty; pass {title: field}, one per panel.")
    with plt.rc_context({"font.size": 12}):
        fig, axes = plt.subplots(
            1, len(fields), figsize=(3.4 * len(fields), 4.0), squeeze=False
        )
        for ax, (title, field) in zip(axes[0], fields.items(), strict=True):
            field = np.asarray(field, dtype="float64")
            ax.imshow(field / field.max(), cmap="magma", vmin=0, vmax=1)
            rows, cols = np.flatnonzero(field.any(1)), np.flatnonzero(field.any(0))
            ax.add_patch(
                Rectangle(
                    (cols[0] - 0.5, rows[0] - 0.5),
                    cols[-1] - cols[0] + 1,
                    rows[-1] - rows[0] + 1,
                    fill=False,
                    ec="white",
                    lw=1.5,
                    ls="--",
                )
            )
            top, left, width = central_square(field, fraction)
            ax.add_patch(
                Rectangle(
                    (left - 0.5, top - 0.5),
                    width,
                    width,
                    fill=False,
                    ec="#56B4E9",
                    lw=2,
                )
            )
            ax.set_xlim(-0.5, field.shape[1] - 0.5)
            ax.set_ylim(field.shape[0] - 0.5, -0.5)
            ax.set_title(title)
            ax.set_xticks([])
            ax.set_yticks([])
        fig.legend(
            handles=[
                Line2D(
                    [],
                    [],
                    color="black",
                    lw=1.5,
                    ls="--",
                    label="non-zero gradient (white, dashed)",
                ),
                Line2D(
                    [],
                    [],
                    color="#56B4E9",
                    lw=2,
                    label=f"{fraction:.0%} of the gradient",
                ),
            ],
            loc="lower center",
            ncol=2,
            frameon=False,
        )
        fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig
