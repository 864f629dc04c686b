"""A U-Net whose encoder is a network pretrained on ImageNet (MobileNetV2), as in
TensorFlow's tutorial.

The book's U-Net learns its encoder from scratch. With few labelled images a
common shortcut is to borrow an encoder that has already learned edges,
textures and object parts from ImageNet's 1.3 million photos, and to train
only the decoder (or fine-tune the whole network later). TensorFlow's image
segmentation tutorial does this with MobileNetV2; ``build_pretrained_unet``
builds the same idea with this package's ``decoder_block``:

* the encoder is ``keras.applications.MobileNetV2`` without its classifier;
  its activations at 1/2, 1/4, 1/8 and 1/16 of the input size become the
  skips, and the 1/32 map is the bottleneck;
* the decoder goes back up with ``decoder_block`` (2×2 up-convolution,
  concatenate the skip, two 3×3 convolutions), one level per skip, then one
  more up-convolution to the input size and the 1×1 head.

``weights="imagenet"`` downloads the encoder's weights (about 9 MB, once, into
``~/.keras/models``); ``weights=None`` builds the same network with random
weights, which needs no network.
"""

from __future__ import annotations

import contextlib

import keras
from keras import layers

from .model import decoder_block

MOBILENET_V2_SKIPS = (
    "block_1_expand_relu",
    "block_3_expand_relu",
    "block_6_expand_relu",
    "block_13_expand_relu",
)
"""MobileNetV2 layers used as skips, at 1/2, 1/4, 1/8 and 1/16 of the input size
(TensorFlow's tutorial's choice).
"""
MOBILENET_V2_BOTTLENECK = "block_16_project"
"""The MobileNetV2 layer used as the bottleneck, at 1/32 of the input size."""
IMAGENET_SIZES = (96, 128, 160, 192, 224)
"""Input sizes for which Keras has ImageNet weights of MobileNetV2 without its top."""


def build_pretrained_unet(
    input_shape: tuple[int, int, int] = (128, 128, 3),
    num_classes: int = 3,
    *,
    weights: str | None = "imagenet",
    freeze_encoder: bool = True,
    decoder_filters: tuple[int, int, int, int] = (256, 128, 64, 32),
) -> keras.Model:
    """A U-Net with a MobileNetV2 encoder, pretrained on ImageNet or not.

    Args:
        input_shape: ``(H, W, 3)``, ``H`` and ``W`` multiples of 32 (with
            ImageNet weights: square, one of ``IMAGENET_SIZES``), for images in
            ``[0, 1]`` (the model rescales them to MobileNetV2's ``[-1, 1]``).
        num_classes: output channels (logits), 3 for the trimap classes.
        weights: ``"imagenet"`` (downloaded once) or ``None`` (random, offline).
        freeze_encoder: train only the decoder, not the nested ``"encoder"`` layer.
        decoder_filters: channels of the four decoder levels, deepest first.

    Returns:
        Logits ``(batch, H, W, num_classes)``; decoder levels ``dec4`` … ``dec1``.
    """
    _check_pretrained_arguments(input_shape, num_classes, weights, decoder_filters)
    with _offline_hint(weights):  # a failed download says what to do offline
        base = keras.applications.MobileNetV2(
            input_shape=tuple(input_shape), include_top=False, weights=weights
        )
    names = [*MOBILENET_V2_SKIPS, MOBILENET_V2_BOTTLENECK]
    encoder = keras.Model(
        base.input, [base.get_layer(n).output for n in names], name="encoder"
    )
    encoder.trainable = not freeze_encoder
    inputs = keras.Input(tuple(input_shape), name="image")
    x = layers.Rescaling(2.0, offset=-1.0, name="to_minus1_1")(inputs)
    *skips, x = encoder(x, training=False)  # frozen batch norms stay in inference mode
    for i, skip in enumerate(reversed(skips)):  # dec4 (deepest) ... dec1
        x = decoder_block(x, skip, decoder_filters[i], name=f"dec{4 - i}")
    x = layers.Conv2DTranspose(decoder_filters[-1], 2, strides=2, name="dec0_upconv")(x)
    outputs = layers.Conv2D(num_classes, 1, name="head_conv", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mobilenetv2_unet")


def _check_pretrained_arguments(input_shape, num_classes, weights, decoder_filters):
    """``build_pretrained_unet``'s checks, before anything is built or downloaded.

    Raises:
        ValueError: a shape, class count, weights value or decoder width that
            cannot work (the message says what would).
    """
    if (
        not isinstance(input_shape, (tuple, list))
        or len(input_shape) != 3
        or input_shape[-1] != 3
    ):
        raise ValueError(
            f"input_shape={input_shape!r} must be (H, W, 3): MobileNetV2 takes RGB "
            "images."
        )
    h, w = input_shape[:2]
    if not all(isinstance(s, int) and s >= 32 and s % 32 == 0 for s in (h, w)):
        raise ValueError(
            "H and W must be multiples of 32 (the encoder halves them five times), "
            f"got {h}x{w}."
        )
    if weights not in ("imagenet", None):
        raise ValueError(f"weights must be 'imagenet' or None, got {weights!r}.")
    if weights == "imagenet" and (h != w or h not in IMAGENET_SIZES):
        raise ValueError(
            "ImageNet weights of MobileNetV2 exist for square inputs of "
            f"{', '.join(map(str, IMAGENET_SIZES))} px, not {h}x{w}; pick one of those "
            "or use weights=None."
        )
    if (
        isinstance(num_classes, bool)
        or not isinstance(num_classes, int)
        or num_classes < 1
    ):
        raise ValueError(f"num_classes={num_classes!r} must be a positive integer.")
    if len(decoder_filters) != 4 or not all(
        isinstance(f, int) and f > 0 for f in decoder_filters
    ):
        raise ValueError(
            f"decoder_filters={decoder_filters!r} must be four positive integers, "
            "deepest level first."
        )


@contextlib.contextmanager
def _offline_hint(weights):
    """Turn a failed download of the ImageNet weights into an ``OSError`` that says
    what to do offline (Keras raises a bare ``Exception``).
    """
    try:
        yield
    except Exception as err:
        if weights is None:
            raise
        raise OSError(
            f"could not download MobileNetV2's ImageNet weights ({err}). Without "
            "network, use weights=None, or copy the file once into ~/.keras/models "
            "from a machine that has network."
        ) from err
