"""Animations drawn from a real model: the U built step by step, feature maps, training.

The schematic animations read the model's own layers (by the stable names of
``build_unet``), so a change of ``base_filters``, ``depth``, input size or
padding changes the picture. Two steps keep the drawing honest and testable:

1. ``encoder_steps(model)`` / ``decoder_steps(model)`` (in
   ``unet_tutorial.anatomy``, which reads the layer names) turn the model into
   a list of ``Step`` records with the real shapes and labels (no drawing);
2. ``encoder_figures`` / ``decoder_figures`` draw one figure per step (built
   once per animation), ``draw_unet`` the whole U in one figure, and
   ``animate_encoder`` / ``animate_decoder`` write the frames as a GIF.

Every text is sized to be at least ``MIN_TEXT_PX`` pixels high when a page
shows the figure at ``DISPLAY_PX`` wide, and written horizontally. Frames are
rendered at ``DENSITY`` times that size (a frame shown 700 px wide is 1400
pixels), so text, masks and photos are drawn at the size a 2x screen shows
them rather than scaled up by the browser; the GIF records the density and
``FrameStepper.from_gif(path)`` lays the frames out at their page size and lets
a reader stop at any frame.

GIFs are written with imageio; frame durations are in **milliseconds**
(imageio's Pillow plugin; older imageio versions took seconds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from ..anatomy import (
    Step,
    decoder_steps,
    encoder_steps,
    feature_maps,
    first_conv,
    is_level_output,
    level_names,
    shape_label,
    unet_depth,
)
from ..checks import is_whole
from ..evaluation import predicted_classes
from ..files import atomic_write
from .figures import (
    DISPLAY_PX,
    MIN_TEXT_PX,
    OKABE_ITO,
    Drawing,
    _figure,
    add_credit,
    mask_to_rgb,
)
from .page import DENSITY
from .stepper import GIF_COMMENT

FRAME_MS = 700
"""Default duration of one frame, in milliseconds."""
HOLD_MS = 2000
"""Duration of the last frame, so the finished picture stays a moment before the loop
restarts.
"""


def _okabe_ito(name: str, tint: float = 0.0) -> str:
    """An ``OKABE_ITO`` colour as ``#RRGGBB``, mixed with ``tint`` of white."""
    rgb = [round(v + (255 - v) * tint) for v in OKABE_ITO[name]]
    return "#{:02X}{:02X}{:02X}".format(*rgb)


# the U's colours, from the same colour-blind-safe palette as the classes
_ENC, _DEC = _okabe_ito("blue"), _okabe_ito("bluish green")


# ------------------------------------------------------------------------ drawing the U


_DPI = 100
_UNIT_PX = 45  # pixels per layout unit
_PITCH = 1.6  # layout units from one column of the U to the next
_ROW = 1.75  # layout units from one level to the next
_GHOST, _GHOST_EDGE = "#F2F2F2", "#C8C8C8"
_FAINT_ENC, _NOW = _okabe_ito("blue", tint=0.75), _okabe_ito("yellow")
_POOL, _UP = _okabe_ito("vermillion"), _okabe_ito("reddish purple")
_HEAD = _okabe_ito("orange")


@dataclass
class _Box:
    step: Step
    x: float
    y: float
    w: float
    h: float
    side: str  # "enc" or "dec"
    row: int  # 1 = top level
    col: int  # 0 = left


def _row(step: Step, side: str) -> int:
    """The level whose resolution a step's output has: a max-pool's output starts the
    level below.
    """
    return step.level + 1 if step.kind == "pool" else step.level


def _layout(model: keras.Model) -> list[_Box]:
    """Place every step's box, encoder then decoder, in the shape of a U.

    Each level of the U is a column group: encoder level ``k`` in column
    ``k - 1``, decoder level ``k`` in column ``2 depth + 1 - k``; a box's
    height follows the spatial size and its width the channel count.
    """
    depth = unet_depth(model)
    enc, dec = encoder_steps(model), decoder_steps(model)
    top = max(s.shape[0] for s in enc + dec)
    max_c = max(s.shape[-1] for s in enc + dec)
    groups: dict[tuple[str, int], list[Step]] = {}
    for side, steps in (("enc", enc), ("dec", dec)):
        for step in steps:
            groups.setdefault((side, _row(step, side)), []).append(step)
    boxes = []
    for (side, row), steps in groups.items():
        col = row - 1 if side == "enc" else 2 * depth + 1 - row
        sizes = [
            (
                0.1 + 0.2 * np.log2(1 + s.shape[-1]) / np.log2(1 + max_c),
                0.2 + 0.95 * s.shape[0] / top,
            )
            for s in steps
        ]
        gap = 0.15
        width = sum(w for w, _ in sizes) + gap * (len(sizes) - 1)
        x = col * _PITCH - width / 2
        for step, (w, h) in zip(steps, sizes, strict=True):
            boxes.append(_Box(step, x, -_ROW * (row - 1), w, h, side, row, col))
            x += w + gap
    return boxes


def _font(width_px: float, points: float = 9.0) -> float:
    """A font size (points) that is at least ``MIN_TEXT_PX`` high when the figure is
    shown at ``DISPLAY_PX``.
    """
    shrink = min(1.0, DISPLAY_PX / width_px)
    return max(points, MIN_TEXT_PX / shrink * 72 / _DPI + 0.1)


class _Canvas:
    """A figure for the U: its extent in layout units, pixel size, fonts and legend."""

    def __init__(
        self,
        boxes: list[_Box],
        title: str,
        *,
        legend: list[str],
        min_width_px: int = 470,
    ):
        x0 = min(b.x for b in boxes) - 0.45
        x1 = max(b.x + b.w for b in boxes) + 0.45
        # room for the labels of the lowest level
        y0 = min(b.y - b.h / 2 for b in boxes) - 0.75
        # room for the top level's skip arrow
        y1 = max(b.y + b.h / 2 for b in boxes) + 0.55
        # a small U is drawn larger rather than left in a corner of a canvas as wide as
        # its title
        unit_px = max(_UNIT_PX, min_width_px / (x1 - x0))
        self.width_px = (x1 - x0) * unit_px
        head_px, legend_px = 80, 30 * ((len(legend) + 2) // 3) + 8
        axes_px = (y1 - y0) * unit_px * 0.78
        height_px = axes_px + head_px + legend_px
        self.fig = _figure((self.width_px / _DPI, height_px / _DPI), _DPI)
        self.ax = self.fig.add_axes((0, legend_px / height_px, 1, axes_px / height_px))
        self.ax.set_xlim(x0, x1)
        self.ax.set_ylim(y0, y1)
        self.ax.axis("off")
        self.small = _font(self.width_px, 9)
        self.fig.text(
            0.5,
            1 - 8 / height_px,
            title,
            ha="center",
            va="top",
            fontsize=_font(self.width_px, 11),
            fontweight="bold",
        )
        self.subtitle = self.fig.text(
            0.5,
            1 - 34 / height_px,
            "",
            ha="center",
            va="top",
            fontsize=_font(self.width_px, 10),
            wrap=True,
        )
        self._legend(legend)

    def _legend(self, keys: list[str]) -> None:
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        entries = {
            "conv": Line2D(
                [], [], color="black", marker=">", lw=1.2, label="3×3 conv + BN + ReLU"
            ),
            "pool": Line2D(
                [], [], color=_POOL, marker="v", lw=1.2, label="2×2 max-pool (down)"
            ),
            "upconv": Line2D(
                [], [], color=_UP, marker="^", lw=1.2, label="2×2 up-conv (up)"
            ),
            "copy": Line2D(
                [], [], color="#777777", ls="--", lw=1.2, label="copy (and crop)"
            ),
            "concat": Patch(
                facecolor=_DEC, edgecolor="black", hatch="//", label="concatenated maps"
            ),
            "head": Patch(
                facecolor=_HEAD, edgecolor="black", label="1×1 conv: class scores"
            ),
        }
        self.fig.legend(
            handles=[entries[k] for k in keys],
            loc="lower center",
            ncol=3,
            fontsize=self.small,
            frameon=False,
            handlelength=1.6,
            columnspacing=1.2,
        )


def _draw_u(
    canvas: _Canvas,
    boxes: list[_Box],
    built: set[int],
    highlight: int | None,
    colours: dict[int, str],
):
    """Draw every box (ghosts for the ones not built yet), the arrows between built
    ones, and the level labels.
    """
    ax, fs = canvas.ax, canvas.small
    index = {b.step.layer: i for i, b in enumerate(boxes)}
    for i, b in enumerate(boxes):
        if i in built:
            face = _NOW if i == highlight else colours[i]
            edge, lw = "black", 1.6 if i == highlight else 0.9
        else:
            face, edge, lw = _GHOST, _GHOST_EDGE, 0.7
        ax.add_patch(
            Rectangle(
                (b.x, b.y - b.h / 2),
                b.w,
                b.h,
                facecolor=face,
                edgecolor=edge,
                lw=lw,
                hatch="//" if b.step.kind == "concat" and i in built else None,
            )
        )

    def arrow(a: _Box, b: _Box, colour: str, start=None, end=None, **kw):
        ax.add_patch(
            FancyArrowPatch(
                start or (a.x + a.w, a.y),
                end or (b.x, b.y),
                arrowstyle="-|>",
                color=colour,
                mutation_scale=9,
                lw=1.1,
                shrinkA=0,
                shrinkB=0,
                **kw,
            )
        )

    for i, b in enumerate(boxes):
        if i not in built or i == 0 or (i - 1) not in built:
            continue
        prev = boxes[i - 1]
        if prev.side != b.side and b.step.kind != "upconv":
            continue
        if b.step.kind == "pool":
            arrow(
                prev,
                b,
                _POOL,
                start=(prev.x + prev.w / 2, prev.y - prev.h / 2),
                end=(b.x, b.y),
            )
        elif b.step.kind == "upconv":
            arrow(
                prev,
                b,
                _UP,
                start=(prev.x + prev.w, prev.y),
                end=(b.x + b.w / 2, b.y - b.h / 2),
            )
        else:
            arrow(prev, b, "black")
        if b.step.skip_from is not None and b.step.skip_from[0] in index:
            src = boxes[index[b.step.skip_from[0]]]
            y = max(src.y + src.h / 2, b.y + b.h / 2) + 0.16
            arrow(
                src,
                b,
                "#777777",
                start=(src.x + src.w / 2, y),
                end=(b.x + b.w / 2, y),
                linestyle="--",
            )
            for end in (src, b):
                ax.plot(
                    [end.x + end.w / 2] * 2,
                    [end.y + end.h / 2, y],
                    color="#777777",
                    lw=1.0,
                    ls="--",
                )
            src_hw, dst_hw = b.step.skip_from[1][0], b.step.shape[0]
            note = f"copy and crop {src_hw}→{dst_hw}" if src_hw != dst_hw else "copy"
            ax.text(
                (src.x + b.x + b.w) / 2,
                y + 0.05,
                note,
                ha="center",
                va="bottom",
                fontsize=fs,
                color="#555555",
            )
    # one label per level group: its spatial size and the channels it ends with
    # (the 1x1 head sits beside dec1 but is no part of its level: its class scores
    # are labelled by the head's own box, not as dec1's channels)
    groups: dict[tuple[str, int], list[int]] = {}
    for i, b in enumerate(boxes):
        if b.step.kind != "head":
            groups.setdefault((b.side, b.row), []).append(i)
    for members in groups.values():
        first, last = boxes[members[0]], boxes[members[-1]]
        done = any(i in built for i in members)
        shape = (
            boxes[max(i for i in members if i in built)].step.shape
            if done
            else last.step.shape
        )
        x = (first.x + last.x + last.w) / 2
        y = min(boxes[i].y - boxes[i].h / 2 for i in members) - 0.08
        ax.text(
            x,
            y,
            f"{shape[0]}×{shape[1]}\n{shape[2]} ch",
            ha="center",
            va="top",
            fontsize=fs,
            color="black" if done else "#9A9A9A",
            linespacing=1.1,
        )


def _model_title(model: keras.Model, what: str) -> str:
    conv = first_conv(model)
    pad = "unpadded (valid)" if conv.padding == "valid" else "same-padded"
    return f"U-Net {what}: depth {unet_depth(model)}, base {conv.filters}, {pad}"


def _render(fig: Figure, density: int = DENSITY) -> np.ndarray:
    """``fig`` as ``uint8 (H, W, 3)`` pixels, ``density`` pixels per pixel of its size
    (text, lines and images are drawn at that resolution, not scaled up).
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi * density)
    with Image.open(buf) as im:
        return np.asarray(im.convert("RGB"))


def encoder_figures(model: keras.Model) -> list[Figure]:
    """One figure per encoder step (``encoder_steps``): the boxes built so far, the rest
    as grey outlines.

    Frame 0 already shows the outline of the whole encoder with every
    level's size, so a reader sees where the data is going; each later frame
    fills in the box of its step (max-pools included: the pooled map starts
    the next level) and names the step above the drawing.
    """
    boxes = [b for b in _layout(model) if b.side == "enc"]
    colours = {i: _ENC for i in range(len(boxes))}
    figures = []
    for i, box in enumerate(boxes):
        canvas = _Canvas(boxes, _model_title(model, "encoder"), legend=["conv", "pool"])
        canvas.subtitle.set_text(f"step {i + 1} of {len(boxes)}: {box.step.text}")
        _draw_u(canvas, boxes, set(range(i + 1)), i, colours)
        figures.append(canvas.fig)
    return figures


def decoder_figures(model: keras.Model) -> list[Figure]:
    """One figure per decoder step (``decoder_steps``), over the finished encoder drawn
    faintly.
    """
    boxes = _layout(model)
    n_enc = sum(b.side == "enc" for b in boxes)
    colours = {
        i: _FAINT_ENC if b.side == "enc" else (_HEAD if b.step.kind == "head" else _DEC)
        for i, b in enumerate(boxes)
    }
    legend = ["conv", "pool", "upconv", "copy", "concat", "head"]
    has_skips = any(b.step.kind == "concat" for b in boxes)
    legend = [k for k in legend if has_skips or k not in ("copy", "concat")]
    figures = []
    for j in range(len(boxes) - n_enc):
        i = n_enc + j
        canvas = _Canvas(boxes, _model_title(model, "decoder"), legend=legend)
        canvas.subtitle.set_text(
            f"step {j + 1} of {len(boxes) - n_enc}: {boxes[i].step.text}"
        )
        _draw_u(canvas, boxes, set(range(i + 1)), i, colours)
        figures.append(canvas.fig)
    return figures


def draw_unet(
    model: keras.Model, title: str | None = None, *, caption: str = ""
) -> Drawing:
    """The whole network as one static figure: every feature map of ``model`` with its
    shape, and the skips.

    Drawn from the model's own layers, like the animations: boxes grow with
    the spatial size (height) and the channel count (width); each level is
    labelled with its size and channels; arrows show the convolutions,
    max-pools, up-convolutions and the copied skips.

    Args:
        model: a model built by ``build_unet`` with a fixed input size.
        title: the figure's title; by default the model's depth, width and padding.
        caption: a caption shown under the figure in a notebook.

    Returns:
        A ``Drawing``: a matplotlib ``Figure`` that displays itself in a
        notebook (with alt text that lists the levels), or ``.savefig(...)``.
    """
    boxes = _layout(model)
    colours = {
        i: _ENC if b.side == "enc" else (_HEAD if b.step.kind == "head" else _DEC)
        for i, b in enumerate(boxes)
    }
    legend = ["conv", "pool", "upconv", "copy", "concat", "head"]
    if not any(b.step.kind == "concat" for b in boxes):
        legend = [k for k in legend if k not in ("copy", "concat")]
    canvas = _Canvas(boxes, title or _model_title(model, "as built"), legend=legend)
    inp, out = boxes[0].step.shape, boxes[-1].step.shape
    canvas.subtitle.set_text(
        f"input {shape_label(inp)} → output {shape_label(out)} (class scores per pixel)"
    )
    _draw_u(canvas, boxes, set(range(len(boxes))), None, colours)
    levels = [
        b.step for b in boxes if b.side == "enc" and is_level_output(b.step.layer)
    ]
    alt = (
        f"Diagram of a U-Net of depth {unet_depth(model)}: input {shape_label(inp)}, "
        "encoder levels "
        + ", ".join(shape_label(s.shape) for s in levels)
        + f", decoder back up with {sum(b.step.kind == 'concat' for b in boxes)} skip "
        f"connections, output {shape_label(out)}."
    )
    return Drawing(canvas.fig, alt, caption)


def encoder_frames(model: keras.Model) -> list[np.ndarray]:
    """``encoder_figures`` rendered to RGB arrays (the frames of the encoder GIF)."""
    return [_render(fig) for fig in encoder_figures(model)]


def decoder_frames(model: keras.Model) -> list[np.ndarray]:
    """``decoder_figures`` rendered to RGB arrays (the frames of the decoder GIF)."""
    return [_render(fig) for fig in decoder_figures(model)]


def write_gif(
    path: str | os.PathLike,
    frames: list[np.ndarray],
    frame_ms: int = FRAME_MS,
    hold_ms: int = HOLD_MS,
    *,
    density: int = 1,
) -> Path:
    """Write equal-sized RGB frames as a looping GIF; durations in milliseconds.

    Args:
        path: the ``.gif`` file to write (folders are created).
        frames: ``uint8 (H, W, 3)`` arrays of one size.
        frame_ms: duration of each frame in milliseconds.
        hold_ms: duration of the last frame in milliseconds.
        density: frame pixels per page pixel (``DENSITY`` for the package's
            frames), recorded in the GIF's comment for ``FrameStepper.from_gif``.

    Returns:
        The path written.
    """
    if not frames:
        raise ValueError("no frames to write.")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(
            f"frames differ in size: {sorted(shapes)}; a GIF needs one size."
        )
    if frame_ms < 20 or hold_ms < 20:
        raise ValueError(
            "frame durations are in milliseconds and must be at least 20 (browsers "
            "clamp less)."
        )
    path = Path(path)
    durations = [int(frame_ms)] * (len(frames) - 1) + [int(hold_ms)]
    # encoded in memory first: a folder that cannot be written then fails cleanly, in
    # one place
    data = iio.imwrite(
        "<bytes>",
        np.stack(frames),
        extension=".gif",
        duration=durations,
        loop=0,
        comment=GIF_COMMENT.format(density=int(density)).encode(),
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda part: part.write_bytes(data))  # never half a GIF
    except OSError as err:
        why = os.strerror(err.errno) if err.errno else err  # the system's words
        raise OSError(
            f"cannot write {path}: {why}; choose a folder you can write to."
        ) from err
    return path


def animate_encoder(
    model: keras.Model, path: str | os.PathLike, *, frame_ms: int = FRAME_MS
) -> Path:
    """Write a looping GIF of the encoder of ``model`` being built, going down the U.

    Each level's feature maps are boxes whose height follows the spatial size
    and whose thickness follows the channel count, labelled with the real
    shape. One frame per step of ``encoder_steps(model)``.

    Args:
        model: a model built by ``build_unet`` with a fixed input size.
        path: the ``.gif`` to write.
        frame_ms: milliseconds per frame.

    Returns:
        The path written.
    """
    return write_gif(path, encoder_frames(model), frame_ms, density=DENSITY)


def animate_decoder(
    model: keras.Model, path: str | os.PathLike, *, frame_ms: int = FRAME_MS
) -> Path:
    """Write a looping GIF of the decoder coming back up the U, ending on the 1×1 head.

    One frame per step of ``decoder_steps(model)``: up-convolution, copy (and,
    for valid padding, crop) and concatenate along the dashed skip arrow,
    conv, conv; then the head.
    """
    return write_gif(path, decoder_frames(model), frame_ms, density=DENSITY)


# --------------------------------------------------------------------- real activations


def load_example_image() -> np.ndarray:
    """The bundled CC0 photo of Chelsea the cat, ``uint8 (300, 451, 3)`` (see
    ``assets/PROVENANCE.md``).
    """
    from PIL import Image

    with (
        resources.as_file(
            resources.files("unet_tutorial") / "assets" / "chelsea.png"
        ) as p,
        Image.open(p) as im,
    ):
        return np.asarray(im.convert("RGB"))


def _kind_and_advice(channels: int) -> str:
    """What images of ``channels`` channels are, and how to get one."""
    if channels == 3:
        return "RGB; convert it first, e.g. PIL's .convert('RGB')"
    if channels == 1:
        return "grey; convert it first, e.g. PIL's .convert('L')"
    return f"{channels} channels; give it {channels} channels"


def _prepare_image(model: keras.Model, image: np.ndarray) -> np.ndarray:
    from ..data import resize_image

    image = np.asarray(image)
    want = model.input_shape[-1]
    if image.ndim != 3 or image.shape[-1] != want:
        raise ValueError(
            f"image of shape {image.shape} does not fit this model, which takes (H, W, "
            f"{want}) images ({_kind_and_advice(want)})."
        )
    h, w = model.input_shape[1:3]
    return resize_image(image, (h or image.shape[0], w or image.shape[1])).numpy()


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, 1), np.percentile(a, 99)
    return np.clip((a - lo) / (hi - lo + 1e-8), 0, 1)


def _class_probabilities(logits: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """The class probabilities ``(H, W, K)`` of the head's logits (a softmax; a sigmoid
    for one channel, the probability of class 1) and the names of those classes.
    """
    from ..labels import CLASS_NAMES

    logits = np.asarray(logits, dtype="float64")
    k = logits.shape[-1]
    if k == 1:
        return 1 / (1 + np.exp(-logits)), ["class 1"]
    e = np.exp(logits - logits.max(-1, keepdims=True))
    names = (
        list(CLASS_NAMES) if k == len(CLASS_NAMES) else [f"class {i}" for i in range(k)]
    )
    return e / e.sum(-1, keepdims=True), names


def feature_map_frames(
    model: keras.Model,
    image: np.ndarray,
    *,
    channels: int = 4,
    credit: str | None = None,
) -> list[np.ndarray]:
    """One frame per level (``enc1`` ... ``bottleneck`` ... ``dec1``, then the head).

    Each frame shows the input and ``channels`` of that level's real
    activations (the most active ones), titled with the level's shape, a
    colour bar that says how to read the maps, and ``credit`` (where the
    image comes from, and which model) along the bottom. The head's frame
    shows the predicted classes and, in the panels left, each class's
    probability; a panel with nothing to show is removed, not left empty.
    """
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    x = _prepare_image(model, image)
    maps = feature_maps(model, x[None])
    frames = []
    cols = channels + 1
    width_in = 7.0
    fs, title_fs = _font(width_in * _DPI, 9), _font(width_in * _DPI, 11)
    for level in [*level_names(model), "head"]:
        act = maps[level][0]
        # heights in inches, from the bottom: credit, colour bar and its label, panels,
        # their titles, title
        low = 0.4 if credit else 0.05
        panel = (width_in - 0.14) / cols
        height = low + 0.8 + panel + 0.3 + 0.4
        fig = _figure((width_in, height), _DPI)
        axes = fig.subplots(1, cols)
        fig.subplots_adjust(
            left=0.01,
            right=0.99,
            bottom=(low + 0.8) / height,
            top=(low + 0.8 + panel) / height,
            wspace=0.04,
        )
        add_credit(fig, credit, fontsize=fs)
        axes[0].imshow(x)
        axes[0].set_title("input", fontsize=fs)
        if level == "head":
            pred = predicted_classes(None, act)  # head_conv: logits
            axes[1].imshow(mask_to_rgb(pred), interpolation="nearest")
            axes[1].set_title("predicted classes", fontsize=fs)
            # the panels left show each class's probability: no slot stays empty
            probs, names = _class_probabilities(act)
            shown = min(len(names), cols - 2)
            for k, ax in enumerate(axes[2 : 2 + shown]):
                ax.imshow(probs[..., k], cmap="magma", vmin=0, vmax=1)
                ax.set_title(f"P({names[k]})", fontsize=fs)
            for ax in axes[2 + shown :]:
                ax.remove()
            axes = axes[: 2 + shown]
            title = f"head: 1×1 conv → {shape_label(act.shape)} class scores"
            bar_label = "probability of the class (softmax of the scores)"
        else:
            order = np.argsort(act.reshape(-1, act.shape[-1]).std(axis=0))[::-1][
                :channels
            ]
            for ax, c in zip(axes[1:], order, strict=False):
                ax.imshow(
                    _normalise(act[..., c]), cmap="magma", interpolation="nearest"
                )
                ax.set_title(f"channel {c}", fontsize=fs)
            for ax in axes[1 + len(order) :]:
                ax.remove()
            axes = axes[: 1 + len(order)]
            shown = min(channels, act.shape[-1])
            title = f"{level}: {shape_label(act.shape)} feature maps ({shown} shown)"
            bar_label = "activation, each map scaled to its own range"
        if shown:  # maps in magma: say how to read them
            cax = fig.add_axes((0.3, (low + 0.5) / height, 0.4, 0.1 / height))
            bar = fig.colorbar(
                ScalarMappable(Normalize(0, 1), cmap="magma"),
                cax=cax,
                orientation="horizontal",
            )
            ticks = ["0", "1"] if level == "head" else ["low", "high"]
            bar.set_ticks([0, 1], labels=ticks, fontsize=fs)
            bar.set_label(bar_label, fontsize=fs)
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(title, fontsize=title_fs, fontweight="bold")
        frames.append(_render(fig))
    return frames


def animate_feature_maps(
    model: keras.Model,
    image: np.ndarray,
    path: str | os.PathLike,
    *,
    channels: int = 4,
    frame_ms: int = 900,
    credit: str | None = None,
) -> Path:
    """Write a GIF of an image's real activations flowing down the encoder and back up
    the decoder.

    Args:
        model: a model built by ``build_unet``.
        image: ``(H, W, C)`` with the model's channel count; ``uint8`` or
            float in ``[0, 1]``; resized to the model's input size.
        path: the ``.gif`` to write.
        channels: channels shown per level.
        frame_ms: milliseconds per frame.
        credit: a line along the bottom of every frame (where the image is from).

    Raises:
        ValueError: the image has the wrong number of channels or dimensions.
    """
    return write_gif(
        path,
        feature_map_frames(model, image, channels=channels, credit=credit),
        frame_ms,
        density=DENSITY,
    )


# ----------------------------------------------------------------------------- training


def training_frames(
    images: np.ndarray,
    masks: np.ndarray,
    predictions: list[np.ndarray],
    *,
    credit: str | None = None,
    max_frames: int = 20,
) -> list[np.ndarray]:
    """Frames of the predictions epoch by epoch: each image, its true mask and the
    prediction after that epoch.

    A long run is shown at ``max_frames`` evenly spaced epochs, the first and
    the last among them (a frame per epoch of a 60-epoch run makes a GIF of
    several megabytes); each frame's title names its epoch. ``credit`` is
    written along the bottom. Frames are rendered at ``DENSITY`` times the
    size a page shows them, so the small snapshot images (96 px, say) are
    resampled once, to the pixels a screen shows, not enlarged again by the
    browser: the photos smoothly, the masks without mixing class colours.
    """
    if not predictions:
        raise ValueError(
            "no prediction snapshots; train with snapshot_images > 0 first."
        )
    if not is_whole(max_frames, 2):
        raise ValueError(f"max_frames={max_frames!r} must be an integer of at least 2.")
    total = len(predictions)
    epochs = sorted(
        set(
            np.linspace(0, total - 1, min(total, max_frames))
            .round()
            .astype(int)
            .tolist()
        )
    )
    n = len(images)
    width_in = 7.0
    fs, title_fs = _font(width_in * _DPI, 10), _font(width_in * _DPI, 11)
    panel = (width_in - 1.1) / n
    frames = []
    for e in epochs:
        pred = predictions[e]
        # one size with or without a credit line
        fig = _figure((width_in, 3 * panel + 0.95), _DPI)
        axes = fig.subplots(3, n, squeeze=False)
        fig.subplots_adjust(
            left=0.15, right=0.99, top=0.9, bottom=0.08, wspace=0.05, hspace=0.08
        )
        add_credit(fig, credit, fontsize=fs)
        for j in range(n):
            panels = [
                np.clip(images[j], 0, 1),
                mask_to_rgb(masks[j]),
                mask_to_rgb(pred[j]),
            ]
            for i, img in enumerate(panels):
                # drawn at the size shown (``_render``): the photo resampled
                # smoothly, the masks pixel for pixel (their classes stay pure)
                axes[i, j].imshow(
                    img, interpolation="bilinear" if i == 0 else "nearest"
                )
                axes[i, j].set_xticks([])
                axes[i, j].set_yticks([])
        for i, name in enumerate(["image", "true", "predicted"]):
            axes[i, 0].set_ylabel(
                name, fontsize=fs, rotation=0, ha="right", va="center"
            )
        fig.suptitle(
            f"predictions after epoch {e + 1} of {total}",
            fontsize=title_fs,
            fontweight="bold",
        )
        frames.append(_render(fig))
    return frames


def animate_training(
    images: np.ndarray,
    masks: np.ndarray,
    predictions: list[np.ndarray],
    path: str | os.PathLike,
    *,
    frame_ms: int = 800,
    credit: str | None = None,
    max_frames: int = 20,
) -> Path:
    """Write a GIF of the predictions on fixed validation images, epoch by epoch.

    Args:
        images: ``(n, H, W, C)`` floats in ``[0, 1]``.
        masks: their true masks, ``(n, H, W)``.
        predictions: one ``(n, H, W)`` array of predicted classes per epoch
            (``ut.engine.load_snapshots(result.paths["snapshots"])`` reads all
            three from the run folder that ``train`` wrote).
        path: the ``.gif`` to write.
        frame_ms: milliseconds per epoch.
        credit: a line along the bottom of every frame (``data_credit(...)``).
        max_frames: at most this many epochs shown, evenly spaced.
    """
    return write_gif(
        path,
        training_frames(
            images, masks, predictions, credit=credit, max_frames=max_frames
        ),
        frame_ms,
        density=DENSITY,
    )
