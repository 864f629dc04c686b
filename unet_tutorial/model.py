"""The U-Net, built from three small blocks with stable layer names.

Layer names follow one scheme so that the chapters and the animations can find
every part of a built model (``unet_tutorial.anatomy`` is the one place that
reads it):

* ``enc{k}_conv1``, ``enc{k}_bn1``, ``enc{k}_relu1``, ``enc{k}_conv2``, ... and
  ``enc{k}_pool`` for encoder level ``k`` (1 is the top, full resolution);
* ``bottleneck_conv1`` ... ``bottleneck_relu2`` at the bottom of the U;
* ``dec{k}_upconv``, ``dec{k}_crop`` (valid padding only), ``dec{k}_concat``,
  ``dec{k}_conv1`` ... for decoder level ``k``, which joins encoder level ``k``
  (so the data flows ``dec4 -> dec3 -> dec2 -> dec1`` at depth 4);
* ``head_conv`` (the final 1x1 convolution) and, for probability heads,
  ``head_softmax`` or ``head_sigmoid``.
"""

from __future__ import annotations

import keras
from keras import layers

from .checks import check_choice, check_rate, is_whole
from .footprint import check_model_fits
from .shapes import check_depth, check_input_size, check_padding

HEADS = ("logits", "softmax", "sigmoid")


def _check_filters(filters: int, what: str = "filters") -> None:
    if not is_whole(filters, 1):
        raise ValueError(
            f"{what}={filters!r} must be a positive integer (e.g. 64, as in the paper)."
        )


def conv_block(
    x: keras.KerasTensor,
    filters: int,
    *,
    padding: str = "same",
    batch_norm: bool = True,
    name: str = "block",
) -> keras.KerasTensor:
    """Two 3x3 convolutions, each followed by batch normalization and a ReLU.

    The workhorse of every U-Net level. The second convolution reads the first
    one's output (the blog post fed it the block's input). No bias before BN:
    BN subtracts each channel's mean, which cancels a bias.

    Args:
        x: input feature map, shape ``(batch, H, W, C_in)``.
        filters: output channels ``C_out`` of both convolutions.
        padding: ``"same"`` keeps ``H, W``; ``"valid"`` trims 1 pixel per side
            per convolution: ``(batch, H-4, W-4, C_out)`` out.
        batch_norm: ``BatchNormalization`` after each convolution (the 2015
            paper had none; it makes training from scratch robust).
        name: prefix of the layer names, e.g. ``"enc1"`` gives ``enc1_conv1``.
    Returns ``(batch, H', W', filters)``.
    """
    _check_filters(filters)
    check_padding(padding)
    for i in (1, 2):
        x = layers.Conv2D(
            filters,
            3,
            padding=padding,
            use_bias=not batch_norm,  # BN's offset (beta) replaces a bias
            kernel_initializer="he_normal",
            name=f"{name}_conv{i}",
        )(x)
        if batch_norm:
            x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.Activation("relu", name=f"{name}_relu{i}")(x)
    return x


def encoder_block(
    x: keras.KerasTensor,
    filters: int,
    *,
    padding: str = "same",
    batch_norm: bool = True,
    name: str = "enc1",
) -> tuple[keras.KerasTensor, keras.KerasTensor]:
    """One step down the U: a conv block, then 2x2 max pooling with stride 2.

    Args:
        x: input feature map, shape ``(batch, H, W, C_in)``.
        filters: channels produced at this level.
        padding: ``"same"`` or ``"valid"`` (see ``conv_block``).
        batch_norm: batch normalization inside the conv block.
        name: level name, e.g. ``"enc2"``.

    Returns:
        ``(skip, pooled)``: ``skip`` is the conv block's output
        ``(batch, H', W', filters)``, kept for the decoder's skip connection;
        ``pooled`` is ``(batch, H'/2, W'/2, filters)`` and goes one level down.
    """
    skip = conv_block(x, filters, padding=padding, batch_norm=batch_norm, name=name)
    pooled = layers.MaxPooling2D(pool_size=2, strides=2, name=f"{name}_pool")(skip)
    return skip, pooled


def center_crop_amounts(
    source_hw: tuple[int, int], target_hw: tuple[int, int]
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Pixels to cut from ``(top, bottom), (left, right)`` to center-crop a map.

    The paper's "copy and crop": an encoder map of 64x64 joins a decoder map of
    56x56 by cutting 4 pixels from every side. An odd difference puts the extra
    pixel at the bottom / right.

    Args:
        source_hw: ``(H, W)`` of the skip map.
        target_hw: ``(H, W)`` it must be cropped to.

    Returns:
        ``((top, bottom), (left, right))`` for ``keras.layers.Cropping2D``.
    """
    amounts = []
    for src, dst in zip(source_hw, target_hw, strict=True):
        if dst > src:
            raise ValueError(
                f"cannot center-crop a skip map of size {src} to the larger size {dst}."
            )
        diff = src - dst
        amounts.append((diff // 2, diff - diff // 2))
    return amounts[0], amounts[1]


def decoder_block(
    x: keras.KerasTensor,
    skip: keras.KerasTensor | None,
    filters: int,
    *,
    padding: str = "same",
    batch_norm: bool = True,
    name: str = "dec1",
) -> keras.KerasTensor:
    """One step up the U: 2x2 up-convolution, join the skip, then a conv block.

    Args:
        x: map from the level below, shape ``(batch, h, w, C_below)``.
        skip: the encoder map of this level, ``(batch, H_s, W_s, filters)``,
            or ``None`` to build a decoder *without* skip connections (for the
            ablation in the skip-connection chapter).
        filters: channels of the up-convolution and of the conv block.
        padding: ``"same"`` or ``"valid"``. With ``"valid"`` the skip map is
            larger than the upsampled map and is center-cropped to ``(2h, 2w)``.
        batch_norm: batch normalization inside the conv block.
        name: level name, e.g. ``"dec1"``.

    Returns:
        Feature map ``(batch, 2h, 2w, filters)`` for same padding, or
        ``(batch, 2h-4, 2w-4, filters)`` for valid padding.
    """
    _check_filters(filters)
    x = layers.Conv2DTranspose(
        filters, 2, strides=2, padding="valid", name=f"{name}_upconv"
    )(x)
    if skip is not None:
        up_hw = tuple(x.shape[1:3])
        skip_hw = tuple(skip.shape[1:3])
        if None not in up_hw and None not in skip_hw and up_hw != skip_hw:
            crop = center_crop_amounts(skip_hw, up_hw)  # type: ignore[arg-type]
            skip = layers.Cropping2D(crop, name=f"{name}_crop")(skip)
        x = layers.Concatenate(axis=-1, name=f"{name}_concat")([skip, x])
    return conv_block(x, filters, padding=padding, batch_norm=batch_norm, name=name)


def check_unet_arguments(
    input_shape: tuple,
    num_classes: int,
    base_filters: int,
    depth: int,
    padding: str,
    head: str,
    dropout: float,
) -> tuple:
    """Check ``build_unet``'s arguments before any layer is built.

    Args:
        input_shape: ``(H, W, C)``. ``H`` and ``W`` must be valid for the
            depth and padding (see ``valid_input_sizes``); with
            ``padding="same"`` they may be ``None`` for any multiple of
            ``2**depth`` at run time. ``padding="valid"`` needs them fixed, to
            compute the crops.
        num_classes: output channels, at least 1 (3 for the pets' trimaps).
        base_filters: channels at the top level, at least 1.
        depth: pooling steps, 1 to ``MAX_DEPTH``.
        padding: ``"same"`` or ``"valid"``.
        head: ``"logits"``, ``"softmax"`` or ``"sigmoid"``; a softmax over a
            single class always outputs 1, so it needs ``num_classes >= 2``.
        dropout: a rate in ``[0, 1)``.

    Returns:
        ``input_shape`` as a tuple.

    Raises:
        ValueError: naming the argument and what would work (for a size, the
            nearest valid sizes).
    """
    check_depth(depth)
    check_padding(padding)
    _check_filters(base_filters, "base_filters")
    if not is_whole(num_classes, 1):
        raise ValueError(
            f"num_classes={num_classes!r} must be a positive integer (3 for "
            "pet/background/border)."
        )
    check_choice("head", head, HEADS)
    if head == "softmax" and num_classes == 1:
        raise ValueError(
            "head='softmax' with num_classes=1 always outputs 1.0; use head='sigmoid' "
            "for a single foreground class, or num_classes >= 2."
        )
    check_rate("dropout", dropout, "the paper used 0.5, 0 turns it off")
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 3:
        raise ValueError(
            f"input_shape={input_shape!r} must be (height, width, channels), e.g. "
            "(128, 128, 3)."
        )
    h, w, c = input_shape
    if not is_whole(c, 1):
        raise ValueError(
            f"input_shape channels={c!r} must be a positive integer (3 for RGB)."
        )
    for side in (h, w):
        if side is None and padding == "valid":
            raise ValueError(
                "padding='valid' needs a fixed input height and width to compute the "
                "crops."
            )
        if side is not None:
            check_input_size(side, depth, padding)
    check_model_fits(base_filters, depth, c, num_classes)  # fits in memory?
    return (h, w, c)


def build_unet(
    input_shape: tuple = (128, 128, 3),
    num_classes: int = 3,
    base_filters: int = 64,
    depth: int = 4,
    padding: str = "same",
    *,
    head: str = "logits",
    skip_connections: bool = True,
    batch_norm: bool = True,
    dropout: float = 0.0,
    name: str = "unet",
) -> keras.Model:
    """A U-Net (Ronneberger et al., 2015): images ``(batch, H, W, C)`` in, logits
    ``(batch, H_out, W_out, num_classes)`` out; level ``k`` has
    ``base_filters * 2**(k-1)`` channels. ``padding="valid"`` is the paper's
    unpadded U (572 px in, 388 out); ``check_unet_arguments`` says what each
    argument accepts.
    """
    input_shape = check_unet_arguments(
        input_shape, num_classes, base_filters, depth, padding, head, dropout
    )
    opts = dict(padding=padding, batch_norm=batch_norm)
    x = inputs = keras.Input(shape=input_shape, name="image")
    skips = []
    for k in range(1, depth + 1):  # down: channels double, the map halves
        skip, x = encoder_block(x, base_filters * 2 ** (k - 1), name=f"enc{k}", **opts)
        skips.append(skip)
    x = conv_block(x, base_filters * 2**depth, name="bottleneck", **opts)
    if dropout:
        x = layers.Dropout(dropout, name="bottleneck_dropout")(x)
    for k in range(depth, 0, -1):  # up: each level joins its encoder level
        skip = skips[k - 1] if skip_connections else None
        x = decoder_block(x, skip, base_filters * 2 ** (k - 1), name=f"dec{k}", **opts)
    # float32 even under mixed precision, so the logits are stable
    outputs = layers.Conv2D(num_classes, 1, name="head_conv", dtype="float32")(x)
    if head != "logits":
        outputs = layers.Activation(head, name=f"head_{head}", dtype="float32")(outputs)
    return keras.Model(inputs, outputs, name=name)
