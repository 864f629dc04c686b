"""The pretrained-encoder U-Net of the *Where next* chapter (built offline with weights=None)."""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


@pytest.fixture(scope="module")
def model():
    return ut.build_pretrained_unet(
        (64, 64, 3), num_classes=3, weights=None, decoder_filters=(32, 16, 8, 8)
    )


def test_it_maps_an_image_to_one_logit_per_class_and_pixel(model):
    out = np.asarray(
        model(np.random.default_rng(0).random((2, 64, 64, 3)).astype(np.float32))
    )
    assert out.shape == (2, 64, 64, 3) and np.isfinite(out).all()
    assert model.get_layer("head_conv").dtype_policy.compute_dtype == "float32"


def test_the_encoder_is_frozen_and_the_decoder_uses_the_package_blocks(model):
    encoder = model.get_layer("encoder")
    assert not encoder.trainable and encoder.weights
    trainable = {id(w) for w in model.trainable_weights}
    assert not any(id(w) in trainable for w in encoder.weights)
    assert [
        f"dec{k}_concat" in {layer.name for layer in model.layers} for k in (4, 3, 2, 1)
    ] == [True] * 4
    # the skips come from MobileNetV2 at 1/2 .. 1/16 of the input
    assert [
        model.get_layer(f"dec{k}_concat").output.shape[1] for k in (4, 3, 2, 1)
    ] == [4, 8, 16, 32]
    unfrozen = ut.build_pretrained_unet(
        (64, 64, 3), weights=None, freeze_encoder=False, decoder_filters=(8, 8, 8, 8)
    )
    assert unfrozen.get_layer("encoder").trainable


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        (dict(input_shape=(64, 64, 1)), "RGB"),
        (dict(input_shape=(100, 100, 3)), "multiples of 32"),
        (dict(weights="places365"), "'imagenet' or None"),
        (dict(input_shape=(64, 64, 3), weights="imagenet"), "96, 128, 160, 192, 224"),
        (dict(num_classes=0, weights=None), "positive integer"),
        (dict(decoder_filters=(8, 8), weights=None), "four positive integers"),
    ],
)
def test_bad_arguments_are_refused_before_any_download(kwargs, says):
    with pytest.raises(ValueError, match=says):
        ut.build_pretrained_unet(**kwargs)


def test_a_failed_download_says_what_to_do_offline(monkeypatch):
    import keras

    def offline(*args, **kwargs):
        raise Exception(
            "URL fetch failure on https://storage.googleapis.com/...: Name or service not known"
        )

    monkeypatch.setattr(keras.applications, "MobileNetV2", offline)
    with pytest.raises(OSError, match="use weights=None"):
        ut.build_pretrained_unet((128, 128, 3), weights="imagenet")
