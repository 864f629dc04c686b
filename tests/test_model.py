"""Tests of the U-Net builder, its blocks and its layer names."""

import keras
import numpy as np
import pytest

import unet_tutorial as ut


def _conv_block_params(c_in: int, c: int) -> int:
    """Two bias-free 3x3 convs and two BatchNorms (gamma, beta, moving mean, moving var)."""
    return 9 * c_in * c + 4 * c + 9 * c * c + 4 * c


def test_default_parameter_count_derived_layer_by_layer():
    # Encoder, base 64, depth 4:  3->64, 64->128, 128->256, 256->512; bottleneck 512->1024.
    encoder = sum(
        _conv_block_params(a, b)
        for a, b in [(3, 64), (64, 128), (128, 256), (256, 512)]
    )
    bottleneck = _conv_block_params(512, 1024)
    # Decoder level with c filters reads 2c channels from below:
    #   2x2 up-conv 2c->c with bias: 4*2c*c + c; concat with the c-channel skip -> 2c; conv block 2c->c.
    decoder = sum(
        4 * 2 * c * c + c + _conv_block_params(2 * c, c) for c in (512, 256, 128, 64)
    )
    head = 64 * 3 + 3  # 1x1 conv 64->3 with bias
    expected = encoder + bottleneck + decoder + head
    assert expected == 31_049_539
    model = ut.build_unet()
    assert model.count_params() == expected


@pytest.mark.parametrize("depth", [1, 2, 3, 4, 5])
def test_same_padding_output_shape(depth):
    size = 2**depth * 3
    model = ut.build_unet(
        (size, size + 2**depth, 3), num_classes=4, base_filters=2, depth=depth
    )
    assert model.output_shape == (None, size, size + 2**depth, 4)


@pytest.mark.parametrize(
    ("depth", "size", "out"), [(4, 572, 388), (3, 140, 52), (2, 68, 28), (1, 20, 4)]
)
def test_valid_padding_output_shape(depth, size, out):
    assert ut.output_size(size, depth, "valid") == out
    model = ut.build_unet(
        (size, size, 1), num_classes=2, base_filters=2, depth=depth, padding="valid"
    )
    assert model.output_shape == (None, out, out, 2)


def test_paper_network_has_23_convolutions_and_crops():
    model = ut.build_unet(
        (572, 572, 1), 2, base_filters=4, padding="valid", batch_norm=False
    )
    convs = [
        layer
        for layer in model.layers
        if isinstance(layer, (keras.layers.Conv2D, keras.layers.Conv2DTranspose))
    ]
    # 18 3x3 convs + 4 2x2 up-convs + the 1x1 head = 23, as in the paper
    assert len(convs) == 23
    crops = {
        layer.name: layer.cropping
        for layer in model.layers
        if isinstance(layer, keras.layers.Cropping2D)
    }
    # enc4 map 64x64 joins the 56x56 up-conv output: cut 4 from every side
    assert crops["dec4_crop"] == ((4, 4), (4, 4))
    assert crops["dec1_crop"] == ((88, 88), (88, 88))  # 568 -> 392


def test_each_encoder_level_halves_size_and_doubles_channels():
    model = ut.build_unet((64, 64, 3), base_filters=8, depth=3)
    shapes = [model.get_layer(f"enc{k}_pool").output.shape for k in (1, 2, 3)]
    for k in range(1, 3):
        assert shapes[k][1] == shapes[k - 1][1] // 2
        assert shapes[k][3] == 2 * shapes[k - 1][3]
    assert model.get_layer("bottleneck_relu2").output.shape[1:] == (8, 8, 64)


def test_decoder_concatenates_skip_and_no_skip_model_has_none():
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    # dec1: up-conv gives 4 channels, the enc1 skip has 4: the concat has 8.
    assert model.get_layer("dec1_concat").output.shape[-1] == 8
    assert model.get_layer("dec2_concat").output.shape[-1] == 16
    no_skip = ut.build_unet(
        (32, 32, 3), base_filters=4, depth=2, skip_connections=False
    )
    assert not any(
        isinstance(layer, keras.layers.Concatenate) for layer in no_skip.layers
    )
    assert no_skip.count_params() < model.count_params()


def test_conv_block_applies_relu_and_chains_convolutions():
    inputs = keras.Input((8, 8, 2))
    out = ut.conv_block(inputs, 3, name="blk", batch_norm=False)
    model = keras.Model(inputs, out)
    # the second conv reads the first ReLU's output, not the block input (a seed-post bug)
    conv2 = model.get_layer("blk_conv2")
    assert conv2.input.shape[-1] == 3
    y = model.predict(np.random.default_rng(0).normal(size=(2, 8, 8, 2)), verbose=0)
    assert (y >= 0).all()


def test_heads():
    logits = ut.build_unet((16, 16, 3), 3, base_filters=2, depth=1)
    soft = ut.build_unet((16, 16, 3), 3, base_filters=2, depth=1, head="softmax")
    sig = ut.build_unet((16, 16, 3), 1, base_filters=2, depth=1, head="sigmoid")
    x = np.random.default_rng(1).uniform(size=(1, 16, 16, 3)).astype("float32")
    assert soft.get_layer("head_softmax") is not None
    p = soft.predict(x, verbose=0)
    np.testing.assert_allclose(p.sum(-1), 1.0, rtol=1e-5)
    s = sig.predict(x, verbose=0)
    assert s.shape == (1, 16, 16, 1) and ((s > 0) & (s < 1)).all()
    assert not any(
        layer.name.startswith("head_") and layer.name != "head_conv"
        for layer in logits.layers
    )


def test_save_and_reload_gives_identical_predictions(tmp_path):
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    path = tmp_path / "unet.keras"
    model.save(path)
    again = keras.saving.load_model(path, safe_mode=True)
    x = np.random.default_rng(2).uniform(size=(2, 32, 32, 3)).astype("float32")
    np.testing.assert_array_equal(
        model.predict(x, verbose=0), again.predict(x, verbose=0)
    )


@pytest.mark.slow
def test_tiny_model_fits_random_data_and_loss_goes_down():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(8, 32, 32, 3)).astype("float32")
    y = (x[..., 0] > 0.5).astype("int32")  # a learnable per-pixel target
    model = ut.build_unet((32, 32, 3), num_classes=2, base_filters=4, depth=2)
    model.compile(
        keras.optimizers.Adam(1e-2),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    hist = model.fit(x, y, epochs=25, batch_size=4, verbose=0).history["loss"]
    assert hist[-1] < 0.7 * hist[0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"input_shape": (100, 128, 3)}, r"100.*nearest valid sizes are 96 and 112"),
        (
            {"input_shape": (570, 570, 1), "padding": "valid"},
            r"570.*even size.*nearest valid sizes are 556 and 572",
        ),
        ({"base_filters": 0}, r"base_filters=0 must be a positive integer"),
        ({"depth": 0}, r"depth=0 must be a positive integer"),
        ({"depth": -2}, r"depth=-2"),
        ({"num_classes": 0}, r"num_classes=0"),
        ({"padding": "reflect"}, r"padding='reflect'.*'same'.*'valid'"),
        ({"head": "relu"}, r"head='relu'.*'logits', 'softmax', 'sigmoid'"),
        ({"head": "softmax", "num_classes": 1}, r"sigmoid"),
        ({"input_shape": (128, 128)}, r"\(height, width, channels\)"),
        ({"input_shape": (128, 128, 0)}, r"channels=0"),
    ],
)
def test_bad_arguments_raise_helpful_value_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ut.build_unet(**kwargs)


def test_block_arguments_are_checked():
    x = keras.Input((8, 8, 3))
    with pytest.raises(ValueError, match="filters=-1"):
        ut.conv_block(x, -1)
    with pytest.raises(ValueError, match="padding='full'"):
        ut.encoder_block(x, 4, padding="full")


def test_dropout_at_the_end_of_the_contracting_path_is_optional_and_named():
    plain = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    assert "bottleneck_dropout" not in {layer.name for layer in plain.layers}
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2, dropout=0.5)
    drop = model.get_layer("bottleneck_dropout")
    assert drop.rate == 0.5 and model.count_params() == plain.count_params()
    x = np.ones((1, 32, 32, 3), np.float32)
    # off at inference
    np.testing.assert_allclose(model(x, training=False), model(x, training=False))
    # on in training
    assert not np.allclose(model(x, training=True), model(x, training=False))
    for bad in (1.0, -0.1, True):
        with pytest.raises(ValueError, match="dropout="):
            ut.build_unet((32, 32, 3), base_filters=4, depth=2, dropout=bad)
    with pytest.raises(ValueError, match="dropout=1.5"):
        ut.TrainConfig(dropout=1.5).validate()
