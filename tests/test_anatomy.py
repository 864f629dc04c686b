"""The anatomy of a built U-Net (unet_tutorial.anatomy): levels, feature maps,
parameters per level, and the encoder and decoder steps the animations draw.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

import unet_tutorial as ut


@pytest.fixture(scope="module")
def small():
    return ut.build_unet((64, 64, 3), base_filters=8, depth=3)


def test_step_labels_match_the_model_shapes(small):
    enc = ut.encoder_steps(small)
    assert [s.label for s in enc[:4]] == ["64×64×3", "64×64×8", "64×64×8", "32×32×8"]
    assert enc[-1].layer == "bottleneck_relu2" and enc[-1].label == "8×8×64"
    for step in enc + ut.decoder_steps(small):
        assert step.shape == tuple(small.get_layer(step.layer).output.shape[1:])
        assert step.label in step.text
    dec = ut.decoder_steps(small)
    assert [s.kind for s in dec[:4]] == ["upconv", "concat", "conv", "conv"]
    assert (
        dec[1].skip_from == ("enc3_relu2", (16, 16, 32)) and dec[1].label == "16×16×64"
    )
    assert dec[-1].kind == "head" and dec[-1].label == "64×64×3"


def test_step_counts_follow_the_depth():
    d3 = ut.build_unet((64, 64, 3), base_filters=4, depth=3)
    d4 = ut.build_unet((64, 64, 3), base_filters=4, depth=4)
    assert (
        len(ut.encoder_steps(d3))
        == 1 + 3 * 3 + 2
        < len(ut.encoder_steps(d4))
        == 1 + 3 * 4 + 2
    )
    assert len(ut.decoder_steps(d3)) == 4 * 3 + 1
    no_skip = ut.build_unet(
        (64, 64, 3), base_filters=4, depth=3, skip_connections=False
    )
    assert len(ut.decoder_steps(no_skip)) == 3 * 3 + 1


def test_valid_padding_steps_show_shrinking_sizes_and_the_crop():
    model = ut.build_unet((572, 572, 1), 2, base_filters=2, padding="valid")
    enc = ut.encoder_steps(model)
    assert [s.label for s in enc[1:3]] == ["570×570×2", "568×568×2"]
    concat = [s for s in ut.decoder_steps(model) if s.kind == "concat"]
    assert concat[0].skip_from[1][0] == 64 and concat[0].shape[0] == 56
    assert "cropped 64→56" in concat[0].text
    assert ut.decoder_steps(model)[-1].label == "388×388×2"


def test_an_unsized_model_cannot_be_drawn():
    with pytest.raises(ValueError, match="not fixed"):
        ut.encoder_steps(ut.build_unet((None, None, 3), base_filters=2, depth=2))


def test_level_names_and_feature_maps():
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    assert ut.level_names(model) == ["enc1", "enc2", "bottleneck", "dec2", "dec1"]
    levels = {ut.layer_level(layer.name) for layer in model.layers}
    assert levels - {model.layers[0].name} == {*ut.level_names(model), "head"}
    assert ut.layer_level("dec2_upconv") == "dec2"
    maps = ut.feature_maps(model, np.zeros((1, 32, 32, 3)))
    assert list(maps) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "head"]
    assert maps["enc2"].shape == (1, 16, 16, 8)
    assert maps["bottleneck"].shape == (1, 8, 8, 16)
    assert maps["head"].shape == (1, 32, 32, 3)
    with pytest.raises(ValueError, match="channels|do not fit"):
        ut.feature_maps(model, np.zeros((1, 32, 32, 1)))


def test_parameters_by_level_add_up():
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    counts = ut.parameters_by_level(model)
    assert list(counts) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "head"]
    assert sum(counts.values()) == model.count_params()
    assert counts["head"] == 4 * 3 + 3


def test_depth_is_read_from_the_layer_names_and_a_foreign_model_is_refused():
    for depth in (1, 2, 3):
        model = ut.build_unet((32, 32, 3), base_filters=2, depth=depth)
        assert ut.unet_depth(model) == depth
    inputs = keras.Input((8, 8, 3))
    foreign = keras.Model(inputs, keras.layers.Conv2D(2, 1)(inputs))
    with pytest.raises(ValueError, match="build_unet"):
        ut.unet_depth(foreign)


def test_shape_labels_and_steps():
    assert ut.shape_label((128, 128, 64)) == "128×128×64"
    assert ut.shape_label(np.array([4, 5, 6])) == "4×5×6"
    step = ut.encoder_steps(ut.build_unet((32, 32, 3), base_filters=2, depth=1))[0]
    assert isinstance(step, ut.Step) and step.label == "32×32×3"


def test_the_feature_model_taps_each_level_once():
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    taps = ut.feature_model(model)
    assert set(taps.output) == {*ut.level_names(model), "head"}
    assert taps.output["dec1"] is model.get_layer("dec1_relu2").output
