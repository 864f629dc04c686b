"""Animations: step lists from the model (no drawing), and the GIFs themselves."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageSequence

import unet_tutorial as ut
from unet_tutorial import animation as A


def _gif_frames(path):
    with Image.open(path) as im:
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        durations = []
        for f in ImageSequence.Iterator(im):
            durations.append(f.info.get("duration"))
        return frames, durations, im.info.get("loop")


@pytest.fixture(scope="module")
def small():
    return ut.build_unet((64, 64, 3), base_filters=8, depth=3)


def test_step_labels_match_the_model_shapes(small):
    enc = A.encoder_steps(small)
    assert [s.label for s in enc[:4]] == ["64×64×3", "64×64×8", "64×64×8", "32×32×8"]
    assert enc[-1].layer == "bottleneck_relu2" and enc[-1].label == "8×8×64"
    for step in enc + A.decoder_steps(small):
        assert step.shape == tuple(small.get_layer(step.layer).output.shape[1:])
        assert step.label in step.text
    dec = A.decoder_steps(small)
    assert [s.kind for s in dec[:4]] == ["upconv", "concat", "conv", "conv"]
    assert dec[1].skip_from == ("enc3_relu2", (16, 16, 32)) and dec[1].label == "16×16×64"
    assert dec[-1].kind == "head" and dec[-1].label == "64×64×3"


def test_step_counts_follow_the_depth():
    d3 = ut.build_unet((64, 64, 3), base_filters=4, depth=3)
    d4 = ut.build_unet((64, 64, 3), base_filters=4, depth=4)
    assert len(A.encoder_steps(d3)) == 1 + 3 * 3 + 2 < len(A.encoder_steps(d4)) == 1 + 3 * 4 + 2
    assert len(A.decoder_steps(d3)) == 4 * 3 + 1
    no_skip = ut.build_unet((64, 64, 3), base_filters=4, depth=3, skip_connections=False)
    assert len(A.decoder_steps(no_skip)) == 3 * 3 + 1


def test_valid_padding_steps_show_shrinking_sizes_and_the_crop():
    model = ut.build_unet((572, 572, 1), 2, base_filters=2, padding="valid")
    enc = A.encoder_steps(model)
    assert [s.label for s in enc[1:3]] == ["570×570×2", "568×568×2"]
    concat = [s for s in A.decoder_steps(model) if s.kind == "concat"]
    assert concat[0].skip_from[1][0] == 64 and concat[0].shape[0] == 56
    assert "cropped 64→56" in concat[0].text
    assert A.decoder_steps(model)[-1].label == "388×388×2"


def test_encoder_and_decoder_gifs(small, tmp_path):
    for fn, steps in ((A.animate_encoder, A.encoder_steps), (A.animate_decoder, A.decoder_steps)):
        path = fn(small, tmp_path / f"{fn.__name__}.gif", frame_ms=300)
        frames, durations, loop = _gif_frames(path)
        assert len(frames) == len(steps(small))  # one frame per step
        assert len({f.shape for f in frames}) == 1  # equal frame sizes
        assert loop == 0  # loops forever
        assert durations[:-1] == [300] * (len(frames) - 1) and durations[-1] == A.HOLD_MS  # milliseconds
        assert all(not np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False))
        assert path.stat().st_size < 2_000_000


def test_gifs_are_deterministic_and_change_with_the_model(small, tmp_path):
    a = A.animate_encoder(small, tmp_path / "a.gif").read_bytes()
    b = A.animate_encoder(small, tmp_path / "b.gif").read_bytes()
    assert a == b
    wider = ut.build_unet((64, 64, 3), base_filters=16, depth=3)
    assert A.animate_encoder(wider, tmp_path / "c.gif").read_bytes() != a


def test_write_gif_refuses_seconds_and_mixed_sizes(tmp_path):
    frame = np.zeros((10, 10, 3), np.uint8)
    with pytest.raises(ValueError, match="milliseconds"):
        A.write_gif(tmp_path / "x.gif", [frame, frame], frame_ms=0.7)
    with pytest.raises(ValueError, match="differ in size"):
        A.write_gif(tmp_path / "x.gif", [frame, np.zeros((12, 10, 3), np.uint8)])


def test_feature_map_animation_on_the_bundled_cat(small, tmp_path):
    cat = A.load_example_image()
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8
    path = A.animate_feature_maps(small, cat, tmp_path / "features.gif", channels=3)
    frames, durations, _ = _gif_frames(path)
    assert len(frames) == len(ut.level_names(small)) + 1  # every level, then the head
    assert len({f.shape for f in frames}) == 1 and all(d > 0 for d in durations)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 1), (64, 64, 4)])
def test_feature_map_animation_rejects_wrong_channels(small, tmp_path, shape):
    with pytest.raises(ValueError, match=r"does not fit this model, which takes \(H, W, 3\)"):
        A.animate_feature_maps(small, np.zeros(shape, np.uint8), tmp_path / "f.gif")


def test_training_animation_from_snapshots(tmp_path):
    result = ut.train(
        ut.TrainConfig(epochs=3, base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic",
                       num_examples=(16, 8, 8), output_dir=str(tmp_path / "run"), snapshot_images=3),
        verbose=0,
    )  # fmt: skip
    path = A.animate_training(result.paths["snapshots"], tmp_path / "training.gif")
    frames, durations, loop = _gif_frames(path)
    assert len(frames) == 3 and loop == 0 and durations[0] == 800


def test_an_unsized_model_cannot_be_drawn():
    with pytest.raises(ValueError, match="not fixed"):
        A.encoder_steps(ut.build_unet((None, None, 3), base_filters=2, depth=2))


def test_static_figures():
    images, masks = ut.make_synthetic_pets(3, 32, seed=0)
    fig = ut.plot_samples(images, masks, masks)
    assert len(fig.axes) == 9
    over = ut.overlay_mask(images[0], masks[0])
    assert over.shape == (32, 32, 3) and over.dtype == np.uint8
    np.testing.assert_array_equal(ut.mask_to_rgb(np.array([[0, 1, 2]]))[0], ut.CLASS_COLORS)
    fig = ut.plot_learning_curves({"loss": [1, 0.5], "val_loss": [1.1, 0.7], "mean_iou": [0.2, 0.4]})
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="values must be in 0..2"):
        ut.mask_to_rgb(np.array([[3]]))


def test_importing_the_package_leaves_the_matplotlib_backend_alone():
    import subprocess
    import sys

    code = "import matplotlib; matplotlib.use('svg'); import unet_tutorial; print(matplotlib.get_backend())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "svg", out.stderr[-2000:]


def test_long_runs_are_shown_at_evenly_spaced_epochs():
    x = np.zeros((1, 16, 16, 3), np.float32)
    y = np.zeros((1, 16, 16), np.int32)
    preds = [np.full((1, 16, 16), e % 3, np.int32) for e in range(60)]
    frames = A.training_frames(x, y, preds, max_frames=5)
    assert len(frames) == 5
    assert len(A.training_frames(x, y, preds[:3], max_frames=5)) == 3
    first, last = A.training_frames(x, y, preds, max_frames=2)
    assert not np.array_equal(first, last)  # epoch 1 (all pet) and epoch 60 (class 59 % 3 = 2) differ
    with pytest.raises(ValueError, match="max_frames"):
        A.training_frames(x, y, preds, max_frames=1)


def test_a_gif_into_a_read_only_folder_fails_cleanly(tmp_path, capfd, monkeypatch):
    from pathlib import Path

    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]

    def refuse(self, data):  # what a read-only folder does (root may write anywhere, so it is simulated)
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(OSError, match="cannot write .*a.gif: Permission denied; choose a folder you can write to"):
        ut.write_gif(tmp_path / "a.gif", frames)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    import gc

    gc.collect()
    assert "Exception ignored" not in capfd.readouterr().err  # no half-open imageio writer left behind


def test_write_gif_replaces_atomically(tmp_path):
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]
    path = ut.write_gif(tmp_path / "a.gif", frames, frame_ms=100, hold_ms=400)
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a") and not (tmp_path / "a.gif.part").exists()
