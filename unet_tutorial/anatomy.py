"""The anatomy of a built U-Net: the one place that reads ``build_unet``'s layer names.

``build_unet`` names every layer by one scheme (see ``unet_tutorial.model``):
``enc{k}_conv1`` ... ``enc{k}_relu2``, ``enc{k}_pool``, ``bottleneck_*``,
``dec{k}_upconv``, ``dec{k}_crop``, ``dec{k}_concat``, ``dec{k}_*``,
``head_conv``. Everything that needs to find a part of a model by name lives
here: the depth and the level names, the feature-map taps, the parameters per
level, and the encoder and decoder steps that the animations draw. The model
module only builds; the animation module only draws.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # TensorFlow-free at import: shapes.py and the CLI use the names
    import keras

BOTTLENECK = "bottleneck"
"""The level at the bottom of the U."""
HEAD = "head"
"""The final 1×1 convolution's level (``head_conv``)."""


def level_name(side: str, k: int, depth: int) -> str:
    """The name of level ``k`` on one side of a depth-``depth`` U.

    ``level_name("enc", 1, 4)`` → ``"enc1"`` (the top, full resolution);
    ``level_name("enc", 5, 4)`` → ``"bottleneck"``; ``level_name("dec", 2, 4)``
    → ``"dec2"``, the decoder level that joins ``enc2``.
    """
    if side not in ("enc", "dec"):
        raise ValueError(f"side={side!r} must be 'enc' or 'dec'.")
    return BOTTLENECK if k == depth + 1 else f"{side}{k}"


def level_output(level: str) -> str:
    """The layer whose output is a level's feature map: its second ReLU,
    ``"enc2"`` → ``"enc2_relu2"``.
    """
    return f"{level}_relu2"


def is_level_output(layer_name: str) -> bool:
    """Whether ``layer_name`` is some level's feature map (``level_output``)."""
    return layer_name == level_output(layer_level(layer_name))


def first_conv(model: keras.Model) -> keras.layers.Layer:
    """The first 3×3 convolution (``enc1_conv1``): its ``filters`` are the base
    width, its ``padding`` the model's.
    """
    return model.get_layer("enc1_conv1")


def unet_depth(model: keras.Model) -> int:
    """Depth of a ``build_unet`` model: the number of ``enc{k}_pool`` layers."""
    names = {layer.name for layer in model.layers}
    depth = 0
    while f"enc{depth + 1}_pool" in names:
        depth += 1
    if depth == 0 or level_output(BOTTLENECK) not in names:
        raise ValueError(
            f"model {model.name!r} has no enc1_pool / bottleneck_relu2 layers; pass a "
            "model built by unet_tutorial.build_unet."
        )
    return depth


def level_names(model: keras.Model) -> list[str]:
    """Level names in data-flow order: ``enc1 .. encN, bottleneck, decN .. dec1``."""
    depth = unet_depth(model)
    return [level_name("enc", k, depth) for k in range(1, depth + 2)] + [
        level_name("dec", k, depth) for k in range(depth, 0, -1)
    ]


def layer_level(layer_name: str) -> str:
    """The level a ``build_unet`` layer belongs to: its name up to the first underscore.

    ``"enc1_conv1"`` → ``"enc1"``, ``"dec2_upconv"`` → ``"dec2"``,
    ``"head_conv"`` → ``"head"``; the input layer gives its own name.
    """
    return layer_name.split("_")[0]


def feature_model(model: keras.Model) -> keras.Model:
    """A model that returns every level's output (after its second ReLU) plus the head.

    Returns:
        A ``keras.Model`` whose output is a dict
        ``{"enc1": (batch, H, W, C1), ..., "bottleneck": ..., "dec1": ..., "head":
        ...}``.
    """
    import keras

    outputs = {
        lvl: model.get_layer(level_output(lvl)).output for lvl in level_names(model)
    }
    outputs[HEAD] = model.get_layer(f"{HEAD}_conv").output
    return keras.Model(model.input, outputs, name=f"{model.name}_features")


def feature_maps(model: keras.Model, images) -> dict:
    """Run ``images`` through ``model`` and return every level's feature maps.

    Args:
        model: a model built by ``build_unet``.
        images: array of shape ``(batch, H, W, C)`` matching the model's input.

    Returns:
        An ordered dict of NumPy arrays, ``enc1`` first and ``head`` last, each
        of shape ``(batch, H_level, W_level, C_level)``.
    """
    import numpy as np

    images = np.asarray(images, dtype="float32")
    expected = tuple(model.input_shape[1:])
    fits = images.ndim == 4 and all(
        e is None or e == g for e, g in zip(expected, images.shape[1:], strict=True)
    )
    if not fits:
        raise ValueError(
            f"images of shape {images.shape} do not fit the model input (batch, "
            f"*{expected}); resize them first or build the model for this size."
        )
    out = feature_model(model)(images, training=False)
    order = level_names(model) + [HEAD]
    return {k: np.asarray(out[k]) for k in order}


def parameters_by_level(model: keras.Model) -> dict[str, int]:
    """Trainable plus non-trainable parameters of each level (``enc1`` ... ``dec1``,
    ``head``).

    The values add up to ``model.count_params()``.
    """
    counts = {lvl: 0 for lvl in level_names(model)}
    counts[HEAD] = 0
    for layer in model.layers:
        key = layer_level(layer.name)
        if key not in counts:
            if layer.count_params():
                raise ValueError(
                    f"layer {layer.name} does not follow build_unet's naming."
                )
            continue
        counts[key] += layer.count_params()
    return counts


@dataclass(frozen=True)
class Step:
    """One step of the data's path through the U, with the real shape it produces.

    Attributes:
        kind: ``"input"``, ``"conv"``, ``"pool"``, ``"upconv"``, ``"concat"`` or
            ``"head"``.
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
            f"layer {name} has an unknown size {tuple(s[1:])}; build the model with a "
            "fixed input size (e.g. input_shape=(128, 128, 3)) to draw it."
        )
    return tuple(int(d) for d in s[1:])


def _conv_steps(model: keras.Model, lvl: str, k: int) -> list[Step]:
    """The two ``3×3 conv + BN + ReLU`` steps of level ``lvl``, drawn at level ``k``."""
    steps = []
    for i in (1, 2):
        s = _shape(model, f"{lvl}_relu{i}")
        text = f"{lvl}: 3×3 conv {i} + BN + ReLU → {shape_label(s)}"
        steps.append(Step("conv", k, f"{lvl}_relu{i}", s, text))
    return steps


def encoder_steps(model: keras.Model) -> list[Step]:
    """The encoder's steps: the input, then per level conv, conv, max-pool, then the
    bottleneck.

    A depth-``d`` model has ``1 + 3 d + 2`` steps.
    """
    depth = unet_depth(model)
    if None in model.input_shape[1:]:
        raise ValueError(
            f"the model's input size {model.input_shape[1:]} is not fixed; build it "
            "with e.g. input_shape=(128, 128, 3) to draw it."
        )
    inp = tuple(int(d) for d in model.input_shape[1:])
    steps = [Step("input", 1, "image", inp, f"input image {shape_label(inp)}")]
    for k in range(1, depth + 2):
        lvl = level_name("enc", k, depth)
        steps += _conv_steps(model, lvl, k)
        if k <= depth:
            s = _shape(model, f"{lvl}_pool")
            steps.append(
                Step(
                    "pool",
                    k,
                    f"{lvl}_pool",
                    s,
                    f"{lvl}: 2×2 max-pool, stride 2 → {shape_label(s)}",
                )
            )
    return steps


def decoder_steps(model: keras.Model) -> list[Step]:
    """The decoder's steps: per level up-conv, copy (and crop) + concatenate, conv,
    conv; then the 1×1 head.

    A depth-``d`` model has ``4 d + 1`` steps (``3 d + 1`` without skips).
    """
    depth = unet_depth(model)
    names = {layer.name for layer in model.layers}
    steps = []
    for k in range(depth, 0, -1):
        lvl, enc = level_name("dec", k, depth), level_name("enc", k, depth)
        s = _shape(model, f"{lvl}_upconv")
        steps.append(
            Step(
                "upconv",
                k,
                f"{lvl}_upconv",
                s,
                f"{lvl}: 2×2 up-convolution, stride 2 → {shape_label(s)}",
            )
        )
        if f"{lvl}_concat" in names:
            src = _shape(model, level_output(enc))
            s = _shape(model, f"{lvl}_concat")
            crop = f", cropped {src[0]}→{s[0]}" if src[0] != s[0] else ""
            steps.append(
                Step(
                    "concat",
                    k,
                    f"{lvl}_concat",
                    s,
                    f"{lvl}: copy {enc} ({shape_label(src)}{crop}) and concatenate → "
                    f"{shape_label(s)}",
                    skip_from=(level_output(enc), src),
                )
            )
        steps += _conv_steps(model, lvl, k)
    s = _shape(model, f"{HEAD}_conv")
    steps.append(
        Step(
            "head",
            1,
            f"{HEAD}_conv",
            s,
            f"head: 1×1 convolution to {s[-1]} class scores → {shape_label(s)}",
        )
    )
    return steps
