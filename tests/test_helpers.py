"""Helpers the chapters use: receptive fields, transposed convolution, boundaries, per-level counts."""

import keras
import numpy as np
import pytest

import unet_tutorial as ut


def test_receptive_field_by_hand():
    # enc1: two 3x3 convs: 1 + 2 + 2 = 5; pool: +1 -> 6, jump 2; enc2: 6 + 4 + 4 = 14; ...
    fields = ut.receptive_fields(depth=4)
    assert [(f.level, f.size, f.jump) for f in fields] == [
        ("enc1", 5, 1), ("enc2", 14, 2), ("enc3", 32, 4), ("enc4", 68, 8), ("bottleneck", 140, 16)
    ]  # fmt: skip
    with pytest.raises(ValueError, match="odd"):
        ut.receptive_fields(kernel_size=2)


def test_transposed_conv_by_hand_matches_keras():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4))
    for k, stride in ((2, 2), (3, 2), (4, 2), (3, 1)):
        kernel = rng.normal(size=(k, k))
        layer = keras.layers.Conv2DTranspose(1, k, strides=stride, padding="valid", use_bias=False)
        layer.build((None, 3, 4, 1))
        layer.set_weights([kernel[:, :, None, None]])
        expected = layer(x[None, :, :, None].astype("float32")).numpy()[0, :, :, 0]
        np.testing.assert_allclose(ut.transposed_conv2d(x, kernel, stride), expected, rtol=1e-5, atol=1e-5)


def test_overlap_is_uniform_only_when_the_kernel_is_a_multiple_of_the_stride():
    assert np.unique(ut.overlap_counts(4, 2, 2)).tolist() == [1.0]  # the U-Net's up-convolution
    inner = ut.overlap_counts(6, 4, 2)[2:-2, 2:-2]
    assert np.unique(inner).tolist() == [4.0]
    assert np.unique(ut.overlap_counts(4, 3, 2)).tolist() == [1.0, 2.0, 4.0]  # checkerboard


def test_boundary_band_and_accuracy():
    true = np.zeros((10, 10), int)
    true[:, 5:] = 1
    band = ut.boundary_band(true, width=1)
    assert band[:, 4:6].all() and band.sum() == 20
    assert ut.boundary_band(true, width=2).sum() == 40
    pred = true.copy()
    pred[:, 5] = 0  # the outline moved by one pixel
    assert ut.boundary_accuracy(true, pred, width=1) == pytest.approx(0.5)
    assert ut.boundary_accuracy(true, true) == 1.0
    with pytest.raises(ValueError, match="no boundaries"):
        ut.boundary_accuracy(np.zeros((4, 4)), np.zeros((4, 4)))


def test_per_image_mean_iou():
    true = np.array([[[0, 0], [1, 1]], [[2, 2], [2, 2]]])
    pred = np.array([[[0, 1], [1, 1]], [[2, 2], [2, 2]]])
    # image 0: pet 1/2, background 2/3 -> 7/12; image 1: border only, perfect
    np.testing.assert_allclose(ut.per_image_mean_iou(true, pred), [7 / 12, 1.0])


def test_parameters_by_level_add_up():
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    counts = ut.parameters_by_level(model)
    assert list(counts) == ["enc1", "enc2", "bottleneck", "dec2", "dec1", "head"]
    assert sum(counts.values()) == model.count_params()
    assert counts["head"] == 4 * 3 + 3


def test_train_or_load_reuses_a_finished_run(tmp_path):
    cfg = ut.TrainConfig(epochs=1, base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic",
                         num_examples=(16, 8, 8), output_dir=str(tmp_path / "run"), snapshot_images=0)  # fmt: skip
    first = ut.train_or_load(cfg, verbose=0)
    assert first.epochs_run == [0]
    again = ut.train_or_load(cfg, verbose=0)
    assert again.epochs_run == [] and again.history == first.history and again.data.is_stand_in
    x = np.zeros((1, 32, 32, 3), np.float32)
    np.testing.assert_allclose(again.model.predict(x, verbose=0), first.model.predict(x, verbose=0), atol=1e-6)
    with pytest.raises(ut.RunFolderError, match="finished run"):  # other settings never replace a finished run
        ut.train_or_load(ut.TrainConfig(**{**cfg.__dict__, "seed": 1}), verbose=0)


def test_book_profile_choices(offline):
    p = ut.book_profile("cpu-synthetic")
    assert p.is_stand_in and "SYNTHETIC STAND-IN, not Oxford-IIIT Pet" in p.banner()
    assert p.train_config(epochs=2).epochs == 2 and p.train_config().source == "synthetic"
    assert p.config == ut.TrainConfig.preset("cpu-synthetic")  # the profile wraps the preset, no copy
    offline.setattr(ut.sources, "oxford_pets_prepared", lambda data_dir=None: True)
    full = ut.book_profile("full")
    assert not full.is_stand_in and full.train_config().base_filters == 64
    assert full.config == ut.TrainConfig.preset("full", source="tfds")
    assert "Oxford-IIIT Pet 4.x" in full.banner() and "37 breeds" in full.banner()
    offline.setattr(ut.book, "_has_gpu", lambda: False)
    cpu = ut.book_profile()  # full Oxford, no GPU: the CPU recipe's budget, not an hour of training
    assert cpu.name == "cpu" and cpu.config.steps_per_epoch == ut.book.CPU_STEPS_PER_EPOCH
    assert f"{ut.book.CPU_STEPS_PER_EPOCH} steps per epoch" in cpu.banner()
    offline.setenv("UNET_TUTORIAL_PROFILE", "cpu")
    assert ut.book_profile().config.base_filters == ut.PRESETS["cpu"]["base_filters"]
    with pytest.raises(ValueError, match="profile 'huge'"):
        ut.book_profile("huge")


def test_presets_are_the_one_place_for_settings():
    assert ut.TrainConfig.full_size() == ut.TrainConfig.preset("full")
    assert ut.TrainConfig.preset("cpu", epochs=3).epochs == 3
    for name in ut.PRESETS:
        ut.TrainConfig.preset(name).validate()
    with pytest.raises(ValueError, match="preset 'huge'"):
        ut.TrainConfig.preset("huge")


def test_shared_runs_live_outside_the_page_and_are_named_by_their_settings(offline, tmp_path):
    offline.setenv(ut.RUNS_ENV, str(tmp_path / "runs"))
    p = ut.book_profile("cpu-synthetic")
    a, b = p.shared_run("book"), p.shared_run("book")
    assert a == b and a.output_dir.startswith(str(tmp_path / "runs" / "book-"))
    assert p.shared_run("book", epochs=a.epochs + 1).output_dir != a.output_dir  # other settings, other folder
    assert p.shared_run("other").output_dir != a.output_dir
    offline.setattr(ut, "__version__", "99.0.0")
    assert p.shared_run("book").output_dir != a.output_dir  # another package version never reuses a run
    offline.delenv(ut.RUNS_ENV)
    offline.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert ut.runs_dir() == tmp_path / "cache" / "unet-tutorial" / "runs"


def test_show_source_is_the_installed_source_verbatim():
    from pathlib import Path

    shown = ut.source_of(ut.conv_block)
    file = Path(ut.__file__).parent / "model.py"
    lines = file.read_text().splitlines(keepends=True)
    n = shown.code.count("\n")
    assert shown.code == "".join(lines[shown.first_line - 1 : shown.first_line - 1 + n])
    assert shown.code.startswith("def conv_block(") and shown.path == "unet_tutorial/model.py"
    # the whole function: the next line of the file is not part of it (blank or a new definition)
    assert not lines[shown.first_line - 1 + n].startswith((" ", "\t"))
    md = shown._repr_markdown_()
    assert "```python\n" + shown.code + "```" in md and f"lines {shown.first_line}" in md


def test_show_source_slices_and_refuses_unknown_markers():
    fn = ut.training._train_locked  # the slice the scaling chapter shows
    whole = ut.source_of(fn).code
    part = ut.source_of(fn, start_at="with strategy.scope():", end_before="paths = {")
    assert part.code in whole and part.code.lstrip().startswith("with strategy.scope():")
    assert "paths = {" not in part.code and part.first_line > ut.source_of(fn).first_line
    with pytest.raises(ValueError, match="start_at='no such line'"):
        ut.source_of(fn, start_at="no such line")
    with pytest.raises(ValueError, match="no Python source"):
        ut.source_of(3)


def test_show_source_and_say_print_outside_ipython(capsys):
    ut.show_source(ut.resize_mask)
    ut.say("**3** pets")
    out = capsys.readouterr().out
    assert out.startswith("def resize_mask(") and out.endswith("**3** pets\n")


def test_flop_counts_by_hand():
    # a 3x3 conv, 8x8 output, 2 -> 4 channels: each of 8*8*4 outputs sums 3*3*2 products
    assert ut.conv2d_flops(8, 8, 3, 2, 4) == 2 * (8 * 8 * 4) * (3 * 3 * 2) == 9216
    # a 2x2 transposed conv reading 4x4x6 into 3 channels: each of 4*4*6 inputs meets 2*2*3 weights
    assert ut.conv2d_transpose_flops(4, 4, 2, 6, 3) == 2 * (4 * 4 * 6) * (2 * 2 * 3) == 2304
    inp = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same")(inp)
    x = keras.layers.Conv2DTranspose(3, 2, strides=2)(x)
    model = keras.Model(inp, x)
    assert ut.model_flops(model) == 9216 + ut.conv2d_transpose_flops(8, 8, 2, 4, 3)
    assert [ut.layer_flops(layer) for layer in model.layers] == [0, 9216, 2 * (8 * 8 * 4) * (2 * 2 * 3)]


def test_flops_need_a_fixed_input_size():
    model = ut.build_unet((None, None, 3), base_filters=4, depth=2)
    with pytest.raises(ValueError, match="fixed input size"):
        ut.model_flops(model)


def test_unet_flops_grow_with_the_square_of_the_width():
    small = ut.model_flops(ut.build_unet((64, 64, 3), base_filters=8, depth=3))
    wide = ut.model_flops(ut.build_unet((64, 64, 3), base_filters=16, depth=3))
    assert 3.5 < wide / small < 4.0  # the first and last convs (3 in, 3 out channels) grow only linearly


def test_resize_then_convolve_is_uniform():
    out = ut.resize_conv_counts(6, kernel_size=3, factor=2)
    assert out.shape == (10, 10) and np.unique(out).tolist() == [9.0]
    with pytest.raises(ValueError, match="larger than"):
        ut.resize_conv_counts(1, kernel_size=5)


def test_epoch_log_prints_one_line_per_epoch(tmp_path, capsys):
    cfg = ut.TrainConfig(epochs=2, base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic",
                         num_examples=(16, 8, 8), output_dir=str(tmp_path / "run"), snapshot_images=0)  # fmt: skip
    result = ut.train_or_load(cfg, verbose=0, callbacks=[ut.EpochLog()])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert [line[:10] for line in lines] == ["epoch  1/2", "epoch  2/2"]
    assert "| val mIoU" in lines[0] and " border " in lines[0] and len(lines[0]) <= 80
    assert result.test is not None and result.test.num_images == 8  # the test split, scored once at the end
    ut.train_or_load(cfg, verbose=0)
    assert "Loaded the finished run in" in capsys.readouterr().out


def test_figures_carry_the_data_credit():
    import matplotlib.pyplot as plt

    x = np.zeros((2, 16, 16, 3), np.float32)
    y = np.zeros((2, 16, 16), np.int32)
    fig = ut.plot_samples(x, y, credit=ut.data_credit(False))
    assert any("CC BY-SA 4.0" in t.get_text() for t in fig.texts)
    plt.close(fig)
    fig = ut.plot_samples(x, y)
    assert not fig.texts
    plt.close(fig)
    assert "not Oxford-IIIT Pet" in ut.data_credit(True)
    with_credit = ut.animation.training_frames(x, y, [y], credit=ut.ATTRIBUTION)[0]
    without = ut.animation.training_frames(x, y, [y])[0]
    assert with_credit.shape == without.shape and not np.array_equal(with_credit, without)


def test_the_tested_checkpoint_is_fixed_before_training():
    assert ut.TrainConfig(lr_schedule="cosine").tested_checkpoint() == "final"
    assert ut.TrainConfig(lr_schedule="constant").tested_checkpoint() == "best"
    assert ut.TrainConfig(lr_schedule="cosine", test_checkpoint="best").tested_checkpoint() == "best"
    with pytest.raises(ValueError, match="test_checkpoint"):
        ut.TrainConfig(test_checkpoint="latest").validate()


def test_is_whole_refuses_bools_floats_and_small_values():
    from unet_tutorial.checks import is_whole

    assert is_whole(3) and is_whole(0, 0) and is_whole(-5, None)
    assert not any([is_whole(True), is_whole(2.0), is_whole("2"), is_whole(0), is_whole(15, 16)])
    assert not is_whole(np.int64(4)) and is_whole(np.int64(4), numpy_ok=True)
    with pytest.raises(ValueError, match="epochs=True must be a positive integer"):
        ut.TrainConfig(epochs=True).validate()


def test_the_package_loads_lazily_and_every_public_name_resolves():
    import subprocess
    import sys

    probe = (
        "import sys, unet_tutorial as ut; ut.TrainConfig.preset('cpu').validate(); "
        "print('tensorflow' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"
    for name in ut.__all__:
        assert getattr(ut, name) is not None, name
    assert ut.training.train is ut.train  # submodules resolve too
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ut.no_such_name  # noqa: B018
