"""Animations drawn from a real model: the U built step by step, feature maps, training.

The schematic animations read the model's own layers (by the stable names of
``build_unet``), so a change of ``base_filters``, ``depth``, input size or
padding changes the picture. Two steps keep the drawing honest and testable:

1. ``encoder_steps(model)`` / ``decoder_steps(model)`` turn the model into a
   list of ``Step`` records with the real shapes and labels (no drawing);
2. ``animate_encoder`` / ``animate_decoder`` draw one frame per step.

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
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

from .checks import is_whole
from .figures import add_credit, mask_to_rgb
from .model import feature_maps, level_names, unet_depth

FRAME_MS = 700
"""Default duration of one frame, in milliseconds."""
HOLD_MS = 2000
"""Duration of the last frame, so the finished picture stays a moment before the loop restarts."""

_ENC, _DEC, _SKIP, _HI = "#4C72B0", "#55A868", "#999999", "#DD8452"


@dataclass(frozen=True)
class Step:
    """One step of the data's path through the U, with the real shape it produces.

    Attributes:
        kind: ``"input"``, ``"conv"``, ``"pool"``, ``"upconv"``, ``"concat"`` or ``"head"``.
        level: 1 for the top level ... ``depth + 1`` for the bottleneck.
        layer: the model layer the shape comes from (e.g. ``"enc2_relu1"``).
        shape: ``(H, W, C)`` of that layer's output.
        text: what the step does, for the frame's title.
        skip_from: for ``"concat"``: the encoder layer copied across, and its shape.
    """

    kind: str
    level: int
    layer: str
    shape: tuple[int, int, int]
    text: str
    skip_from: tuple[str, tuple[int, int, int]] | None = None

    @property
    def label(self) -> str:
        """The shape as the diagram writes it, e.g. ``128×128×64``."""
        return shape_label(self.shape)


def shape_label(shape) -> str:
    """``(128, 128, 64)`` -> ``"128×128×64"``."""
    return "×".join(str(int(s)) for s in shape)


def _shape(model: keras.Model, name: str) -> tuple[int, int, int]:
    s = model.get_layer(name).output.shape
    if any(d is None for d in s[1:]):
        raise ValueError(
            f"layer {name} has an unknown size {tuple(s[1:])}; build the model with a fixed input size "
            "(e.g. input_shape=(128, 128, 3)) to draw it."
        )
    return tuple(int(d) for d in s[1:])


def encoder_steps(model: keras.Model) -> list[Step]:
    """The encoder's steps: the input, then per level conv, conv, max-pool, then the bottleneck.

    A depth-``d`` model has ``1 + 3 d + 2`` steps.
    """
    depth = unet_depth(model)
    if None in model.input_shape[1:]:
        raise ValueError(
            f"the model's input size {model.input_shape[1:]} is not fixed; build it with e.g. "
            "input_shape=(128, 128, 3) to draw it."
        )
    inp = tuple(int(d) for d in model.input_shape[1:])
    steps = [Step("input", 1, "image", inp, f"input image {shape_label(inp)}")]
    for k in range(1, depth + 2):
        lvl = f"enc{k}" if k <= depth else "bottleneck"
        for i in (1, 2):
            s = _shape(model, f"{lvl}_relu{i}")
            steps.append(Step("conv", k, f"{lvl}_relu{i}", s, f"{lvl}: 3×3 conv {i} + BN + ReLU → {shape_label(s)}"))
        if k <= depth:
            s = _shape(model, f"{lvl}_pool")
            steps.append(Step("pool", k, f"{lvl}_pool", s, f"{lvl}: 2×2 max-pool, stride 2 → {shape_label(s)}"))
    return steps


def decoder_steps(model: keras.Model) -> list[Step]:
    """The decoder's steps: per level up-conv, copy (and crop) + concatenate, conv, conv; then the 1×1 head.

    A depth-``d`` model has ``4 d + 1`` steps (``3 d + 1`` without skips).
    """
    depth = unet_depth(model)
    names = {layer.name for layer in model.layers}
    steps = []
    for k in range(depth, 0, -1):
        lvl = f"dec{k}"
        s = _shape(model, f"{lvl}_upconv")
        steps.append(Step("upconv", k, f"{lvl}_upconv", s, f"{lvl}: 2×2 up-convolution, stride 2 → {shape_label(s)}"))
        if f"{lvl}_concat" in names:
            src = _shape(model, f"enc{k}_relu2")
            s = _shape(model, f"{lvl}_concat")
            crop = f", cropped {src[0]}→{s[0]}" if src[0] != s[0] else ""
            steps.append(
                Step(
                    "concat", k, f"{lvl}_concat", s,
                    f"{lvl}: copy enc{k} ({shape_label(src)}{crop}) and concatenate → {shape_label(s)}",
                    skip_from=(f"enc{k}_relu2", src),
                )
            )  # fmt: skip
        for i in (1, 2):
            s = _shape(model, f"{lvl}_relu{i}")
            steps.append(Step("conv", k, f"{lvl}_relu{i}", s, f"{lvl}: 3×3 conv {i} + BN + ReLU → {shape_label(s)}"))
    s = _shape(model, "head_conv")
    steps.append(Step("head", 1, "head_conv", s, f"head: 1×1 convolution to {s[-1]} class scores → {shape_label(s)}"))
    return steps


# --------------------------------------------------------------------------- drawing the U


@dataclass
class _Box:
    step: Step
    x: float
    y: float
    w: float
    h: float
    colour: str


def _layout(model: keras.Model) -> tuple[list[_Box], list[_Box]]:
    """Place every step's box: x grows with each step, y goes down one row per level."""
    enc, dec = encoder_steps(model), decoder_steps(model)
    top = max(s.shape[0] for s in enc + dec)
    max_c = max(s.shape[-1] for s in enc + dec)

    def size(step):
        h = 0.35 + 2.2 * step.shape[0] / top  # height follows the spatial size
        w = 0.12 + 0.9 * np.log2(1 + step.shape[-1]) / np.log2(1 + max_c)  # thickness follows channels
        return w, h

    boxes_e, boxes_d, x = [], [], 0.0
    row = 3.4
    for step in enc:
        if step.kind == "pool":
            continue  # a pool is drawn as the arrow down to the next level
        w, h = size(step)
        boxes_e.append(_Box(step, x, -row * (step.level - 1), w, h, _ENC))
        x += w + 0.35
    for step in dec:
        w, h = size(step)
        boxes_d.append(_Box(step, x, -row * (step.level - 1), w, h, _DEC))
        x += w + 0.35
    return boxes_e, boxes_d


def _draw(
    ax,
    boxes: list[_Box],
    upto: int,
    highlight: int | None,
    all_boxes: list[_Box],
    *,
    skip_first: bool = False,
) -> None:
    """Draw boxes[:upto] with arrows between neighbours; ``highlight`` gets the accent colour.

    ``skip_first`` leaves the first box undrawn (it is already on the canvas)
    but still draws the arrow from it.
    """
    by_layer = {b.step.layer: b for b in all_boxes}
    for i, b in enumerate(boxes[:upto]):
        if not (skip_first and i == 0):
            colour = _HI if i == highlight else b.colour
            ax.add_patch(Rectangle((b.x, b.y - b.h / 2), b.w, b.h, facecolor=colour, edgecolor="black", lw=0.8))
            ax.text(
                b.x + b.w / 2,
                b.y - b.h / 2 - 0.15,
                b.step.label,
                ha="center",
                va="top",
                fontsize=6.5,
                rotation=90,
            )
        if i == 0:
            continue
        prev = boxes[i - 1]
        if prev.y == b.y:
            style, col = "-|>", "black"
        elif prev.y > b.y:  # going down: max-pool
            style, col = "-|>", "#C44E52"
        else:  # going up: up-convolution
            style, col = "-|>", "#8172B2"
        ax.add_patch(
            FancyArrowPatch(
                (prev.x + prev.w, prev.y), (b.x, b.y), arrowstyle=style, color=col, mutation_scale=8, lw=1.0
            )
        )
        if b.step.skip_from is not None and b.step.skip_from[0] in by_layer:
            src = by_layer[b.step.skip_from[0]]
            y = max(src.y + src.h / 2, b.y + b.h / 2) + 0.15
            ax.add_patch(
                FancyArrowPatch(
                    (src.x + src.w / 2, y), (b.x + b.w / 2, y),
                    arrowstyle="-|>", color=_SKIP, mutation_scale=8, lw=1.2, linestyle="--",
                )
            )  # fmt: skip
            src_hw, dst_hw = b.step.skip_from[1][0], b.step.shape[0]
            note = f"copy and crop {src_hw}→{dst_hw}" if src_hw != dst_hw else "copy"
            ax.text((src.x + b.x) / 2, y + 0.08, note, ha="center", va="bottom", fontsize=7, color="#666666")


def _figure(figsize, dpi: int = 80) -> Figure:
    """A figure on its own Agg canvas: headless, and it leaves pyplot's backend alone."""
    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _render(fig: Figure) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def _new_frame(extent, title: str, subtitle: str, figsize=(11, 5.2), dpi=80):
    fig = _figure(figsize, dpi)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.01, right=0.99, top=0.86, bottom=0.02)
    ax.set_xlim(extent[0], extent[1])
    ax.set_ylim(extent[2], extent[3])
    ax.axis("off")
    fig.suptitle(title, fontsize=12, fontweight="bold")
    ax.set_title(subtitle, fontsize=9.5)
    return fig, ax


def _extent(boxes: list[_Box]) -> tuple[float, float, float, float]:
    x1 = max(b.x + b.w for b in boxes) + 0.3
    y0 = min(b.y - b.h / 2 for b in boxes) - 2.4
    y1 = max(b.y + b.h / 2 for b in boxes) + 0.7
    return -0.3, x1, y0, y1


def write_gif(
    path: str | os.PathLike, frames: list[np.ndarray], frame_ms: int = FRAME_MS, hold_ms: int = HOLD_MS
) -> Path:
    """Write equal-sized RGB frames as a looping GIF; durations in milliseconds.

    Args:
        path: the ``.gif`` file to write (folders are created).
        frames: ``uint8 (H, W, 3)`` arrays of one size.
        frame_ms: duration of each frame in milliseconds.
        hold_ms: duration of the last frame in milliseconds.

    Returns:
        The path written.
    """
    if not frames:
        raise ValueError("no frames to write.")
    shapes = {f.shape for f in frames}
    if len(shapes) != 1:
        raise ValueError(f"frames differ in size: {sorted(shapes)}; a GIF needs one size.")
    if frame_ms < 20 or hold_ms < 20:
        raise ValueError("frame durations are in milliseconds and must be at least 20 (browsers clamp less).")
    path = Path(path)
    durations = [int(frame_ms)] * (len(frames) - 1) + [int(hold_ms)]
    # encoded in memory first: a folder that cannot be written then fails cleanly, in one place
    data = iio.imwrite("<bytes>", np.stack(frames), extension=".gif", duration=durations, loop=0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(data)
        part.replace(path)  # never a half-written GIF under the final name
    except OSError as err:
        raise OSError(f"cannot write {path}: {err.strerror or err}; choose a folder you can write to.") from err
    return path


def _model_title(model: keras.Model, what: str) -> str:
    conv = model.get_layer("enc1_conv1")
    pad = "unpadded (valid)" if conv.padding == "valid" else "same-padded"
    return f"U-Net {what}: depth {unet_depth(model)}, base {conv.filters} filters, {pad} convolutions"


def encoder_frames(model: keras.Model) -> list[np.ndarray]:
    """One frame per encoder step (``encoder_steps``) that draws a box; pools show as the arrow down."""
    enc_boxes, dec_boxes = _layout(model)
    extent = _extent(enc_boxes + dec_boxes)
    steps = encoder_steps(model)
    frames, shown = [], 0
    for step in steps:
        if step.kind != "pool":
            shown += 1
        fig, ax = _new_frame(extent, _model_title(model, "encoder"), step.text)
        _draw(ax, enc_boxes, shown, shown - 1 if step.kind != "pool" else None, enc_boxes)
        if step.kind == "pool":  # show the pooled size where the next level starts
            last = enc_boxes[shown - 1]
            ax.annotate(
                f"max-pool → {step.label}", (last.x + last.w / 2, last.y - last.h / 2 - 1.3),
                ha="center", fontsize=8, color="#C44E52",
            )  # fmt: skip
        frames.append(_render(fig))
    return frames


def decoder_frames(model: keras.Model) -> list[np.ndarray]:
    """One frame per decoder step (``decoder_steps``), over the finished encoder drawn faintly."""
    enc_boxes, dec_boxes = _layout(model)
    faint = [_Box(b.step, b.x, b.y, b.w, b.h, "#C8D3E6") for b in enc_boxes]
    extent = _extent(enc_boxes + dec_boxes)
    frames = []
    for i, step in enumerate(decoder_steps(model)):
        fig, ax = _new_frame(extent, _model_title(model, "decoder"), step.text)
        _draw(ax, faint, len(faint), None, faint)
        _draw(ax, [faint[-1]] + dec_boxes, i + 2, i + 1, faint + dec_boxes, skip_first=True)
        frames.append(_render(fig))
    return frames


def animate_encoder(model: keras.Model, path: str | os.PathLike, *, frame_ms: int = FRAME_MS) -> Path:
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
    return write_gif(path, encoder_frames(model), frame_ms)


def animate_decoder(model: keras.Model, path: str | os.PathLike, *, frame_ms: int = FRAME_MS) -> Path:
    """Write a looping GIF of the decoder coming back up the U, ending on the 1×1 head.

    One frame per step of ``decoder_steps(model)``: up-convolution, copy (and,
    for valid padding, crop) and concatenate along the dashed skip arrow,
    conv, conv; then the head.
    """
    return write_gif(path, decoder_frames(model), frame_ms)


# --------------------------------------------------------------------------- real activations


def load_example_image() -> np.ndarray:
    """The bundled CC0 photo of Chelsea the cat, ``uint8 (300, 451, 3)`` (see ``assets/PROVENANCE.md``)."""
    from PIL import Image

    with (
        resources.as_file(resources.files("unet_tutorial") / "assets" / "chelsea.png") as p,
        Image.open(p) as im,
    ):
        return np.asarray(im.convert("RGB"))


def _prepare_image(model: keras.Model, image: np.ndarray) -> np.ndarray:
    from .data import resize_image

    image = np.asarray(image)
    want = model.input_shape[-1]
    if image.ndim != 3 or image.shape[-1] != want:
        raise ValueError(
            f"image of shape {image.shape} does not fit this model, which takes (H, W, {want}) images "
            f"({'RGB' if want == 3 else f'{want} channels'}); convert it first (e.g. PIL's .convert('RGB'))."
        )
    h, w = model.input_shape[1:3]
    return resize_image(image, (h or image.shape[0], w or image.shape[1])).numpy()


def _normalise(a: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(a, 1), np.percentile(a, 99)
    return np.clip((a - lo) / (hi - lo + 1e-8), 0, 1)


def feature_map_frames(
    model: keras.Model, image: np.ndarray, *, channels: int = 4, credit: str | None = None
) -> list[np.ndarray]:
    """One frame per level (``enc1`` ... ``bottleneck`` ... ``dec1``, then the head).

    Each frame shows the input and ``channels`` of that level's real
    activations (the most active ones), titled with the level's shape, and
    ``credit`` (where the image comes from) along the bottom.
    """
    x = _prepare_image(model, image)
    maps = feature_maps(model, x[None])
    frames = []
    cols = channels + 1
    for level in [*level_names(model), "head"]:
        act = maps[level][0]
        fig = _figure((2.1 * cols, 2.6))
        axes = fig.subplots(1, cols)
        fig.subplots_adjust(left=0.01, right=0.99, top=0.78, bottom=0.09 if credit else 0.02, wspace=0.05)
        add_credit(fig, credit, fontsize=9)
        axes[0].imshow(x)
        axes[0].set_title("input", fontsize=8)
        if level == "head":
            pred = np.argmax(act, axis=-1)
            axes[1].imshow(mask_to_rgb(pred), interpolation="nearest")
            axes[1].set_title("argmax (predicted classes)", fontsize=8)
            for ax in axes[2:]:
                ax.set_visible(False)
            title = f"head: 1×1 conv → {shape_label(act.shape)} class scores"
        else:
            order = np.argsort(act.reshape(-1, act.shape[-1]).std(axis=0))[::-1][:channels]
            for ax, c in zip(axes[1:], order, strict=False):
                ax.imshow(_normalise(act[..., c]), cmap="magma", interpolation="nearest")
                ax.set_title(f"channel {c}", fontsize=8)
            for ax in axes[1 + len(order) :]:
                ax.set_visible(False)
            title = f"{level}: {shape_label(act.shape)} feature maps ({min(channels, act.shape[-1])} shown)"
        for ax in axes:
            ax.set_xticks([])
            ax.set_yticks([])
        fig.suptitle(title, fontsize=10, fontweight="bold")
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
    """Write a GIF of an image's real activations flowing down the encoder and back up the decoder.

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
    return write_gif(path, feature_map_frames(model, image, channels=channels, credit=credit), frame_ms)


# --------------------------------------------------------------------------- training


def training_frames(
    images: np.ndarray,
    masks: np.ndarray,
    predictions: list[np.ndarray],
    *,
    credit: str | None = None,
    max_frames: int = 20,
) -> list[np.ndarray]:
    """Frames of the predictions epoch by epoch: each image, its true mask and the prediction after that epoch.

    A long run is shown at ``max_frames`` evenly spaced epochs, the first and
    the last among them (a frame per epoch of a 60-epoch run makes a GIF of
    several megabytes); each frame's title names its epoch. ``credit`` is
    written along the bottom.
    """
    if not predictions:
        raise ValueError("no prediction snapshots; train with snapshot_images > 0 first.")
    if not is_whole(max_frames, 2):
        raise ValueError(f"max_frames={max_frames!r} must be an integer of at least 2.")
    total = len(predictions)
    epochs = sorted(set(np.linspace(0, total - 1, min(total, max_frames)).round().astype(int).tolist()))
    n = len(images)
    frames = []
    for e in epochs:
        pred = predictions[e]
        fig = _figure((1.9 * n + 0.8, 6.0))
        axes = fig.subplots(3, n, squeeze=False)
        fig.subplots_adjust(left=0.09, right=0.99, top=0.9, bottom=0.06 if credit else 0.02, wspace=0.05, hspace=0.08)
        add_credit(fig, credit, fontsize=9)
        for j in range(n):
            panels = [np.clip(images[j], 0, 1), mask_to_rgb(masks[j]), mask_to_rgb(pred[j])]
            for i, panel in enumerate(panels):
                axes[i, j].imshow(panel, interpolation="nearest")
                axes[i, j].set_xticks([])
                axes[i, j].set_yticks([])
        for i, name in enumerate(["image", "true", "predicted"]):
            axes[i, 0].set_ylabel(name, fontsize=9)
        fig.suptitle(f"predictions after epoch {e + 1} of {total}", fontsize=11, fontweight="bold")
        frames.append(_render(fig))
    return frames


def animate_training(
    snapshots: str | os.PathLike,
    path: str | os.PathLike,
    *,
    frame_ms: int = 800,
    credit: str | None = None,
    max_frames: int = 20,
) -> Path:
    """Write a GIF of the predictions on fixed validation images, epoch by epoch.

    Args:
        snapshots: the ``snapshots`` folder that ``train`` wrote.
        path: the ``.gif`` to write.
        frame_ms: milliseconds per epoch.
        credit: a line along the bottom of every frame (``data_credit(...)``).
        max_frames: at most this many epochs shown, evenly spaced.
    """
    from .runs import load_snapshots

    images, masks, preds = load_snapshots(snapshots)
    return write_gif(path, training_frames(images, masks, preds, credit=credit, max_frames=max_frames), frame_ms)
