"""Animations: step lists from the model (no drawing), and the GIFs themselves."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import TINY
from PIL import Image, ImageSequence

import unet_tutorial as ut
from unet_tutorial.pictures import animation as A


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


@pytest.mark.slow
def test_encoder_and_decoder_gifs(small, tmp_path):
    for fn, steps in (
        (A.animate_encoder, A.encoder_steps),
        (A.animate_decoder, A.decoder_steps),
    ):
        path = fn(small, tmp_path / f"{fn.__name__}.gif", frame_ms=300)
        frames, durations, loop = _gif_frames(path)
        assert len(frames) == len(steps(small))  # one frame per step
        assert len({f.shape for f in frames}) == 1  # equal frame sizes
        assert loop == 0  # loops forever
        # milliseconds
        assert (
            durations[:-1] == [300] * (len(frames) - 1) and durations[-1] == A.HOLD_MS
        )
        assert all(
            not np.array_equal(a, b) for a, b in zip(frames, frames[1:], strict=False)
        )
        assert path.stat().st_size < 2_000_000


@pytest.mark.slow
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


@pytest.mark.slow
def test_feature_map_animation_on_the_bundled_cat(small, tmp_path):
    cat = A.load_example_image()
    assert cat.shape == (300, 451, 3) and cat.dtype == np.uint8
    path = A.animate_feature_maps(small, cat, tmp_path / "features.gif", channels=3)
    frames, durations, _ = _gif_frames(path)
    assert len(frames) == len(ut.level_names(small)) + 1  # every level, then the head
    assert len({f.shape for f in frames}) == 1 and all(d > 0 for d in durations)


@pytest.mark.parametrize("shape", [(64, 64), (64, 64, 1), (64, 64, 4)])
def test_feature_map_animation_rejects_wrong_channels(small, tmp_path, shape):
    with pytest.raises(
        ValueError, match=r"does not fit this model, which takes \(H, W, 3\)"
    ):
        A.animate_feature_maps(small, np.zeros(shape, np.uint8), tmp_path / "f.gif")


@pytest.mark.slow
def test_training_animation_from_snapshots(tmp_path):
    result = ut.train(
        ut.TrainConfig(
            epochs=3, output_dir=str(tmp_path / "run"), snapshot_images=3, **TINY
        ),
        verbose=0,
    )
    snapshots = ut.engine.load_snapshots(result.paths["snapshots"])
    path = A.animate_training(*snapshots, tmp_path / "training.gif")
    frames, durations, loop = _gif_frames(path)
    assert len(frames) == 3 and loop == 0 and durations[0] == 800


def test_static_figures():
    images, masks = ut.make_synthetic_pets(3, 32, seed=0)
    fig = ut.plot_samples(images, masks, masks)
    assert len(fig.axes) == 9
    over = ut.overlay_mask(images[0], masks[0])
    assert over.shape == (32, 32, 3) and over.dtype == np.uint8
    np.testing.assert_array_equal(
        ut.mask_to_rgb(np.array([[0, 1, 2]]))[0], ut.CLASS_COLORS
    )
    fig = ut.plot_learning_curves(
        {"loss": [1, 0.5], "val_loss": [1.1, 0.7], "mean_iou": [0.2, 0.4]}
    )
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="class indices 0, 1, 2"):
        ut.mask_to_rgb(np.array([[-1]]))


def test_importing_the_package_leaves_the_matplotlib_backend_alone():
    import subprocess
    import sys

    code = "import matplotlib; matplotlib.use('svg'); import unet_tutorial; print(matplotlib.get_backend())"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip() == "svg", out.stderr[-2000:]


def test_long_runs_are_shown_at_evenly_spaced_epochs():
    x = np.zeros((1, 16, 16, 3), np.float32)
    y = np.zeros((1, 16, 16), np.int32)
    preds = [np.full((1, 16, 16), e % 3, np.int32) for e in range(60)]
    frames = A.training_frames(x, y, preds, max_frames=5)
    assert len(frames) == 5
    assert len(A.training_frames(x, y, preds[:3], max_frames=5)) == 3
    first, last = A.training_frames(x, y, preds, max_frames=2)
    # epoch 1 (all pet) and epoch 60 (class 59 % 3 = 2) differ
    assert not np.array_equal(first, last)
    with pytest.raises(ValueError, match="max_frames"):
        A.training_frames(x, y, preds, max_frames=1)


def test_a_gif_into_a_read_only_folder_fails_cleanly(tmp_path, capfd, monkeypatch):
    from pathlib import Path

    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]

    # what a read-only folder does (root may write anywhere, so it is simulated)
    def refuse(self, data):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "write_bytes", refuse)
    with pytest.raises(
        OSError,
        match="cannot write .*a.gif: Permission denied; choose a folder you can write to",
    ):
        ut.write_gif(tmp_path / "a.gif", frames)
    monkeypatch.undo()
    assert list(tmp_path.iterdir()) == []
    import gc

    gc.collect()
    # no half-open imageio writer left behind
    assert "Exception ignored" not in capfd.readouterr().err


def test_write_gif_replaces_atomically(tmp_path):
    frames = [np.zeros((8, 8, 3), np.uint8), np.full((8, 8, 3), 255, np.uint8)]
    path = ut.write_gif(tmp_path / "a.gif", frames, frame_ms=100, hold_ms=400)
    assert path.read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left beside it


def _texts(fig):
    from matplotlib.text import Text

    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


@pytest.mark.slow
@pytest.mark.parametrize("padding", ["same", "valid"])
def test_every_text_of_the_u_is_legible_and_horizontal_at_the_page_width(padding):
    """At least 11 px high when the page shows the figure (at most DISPLAY_PX wide), never rotated."""
    shape = (128, 128, 3) if padding == "same" else (572, 572, 1)
    model = ut.build_unet(shape, 3, base_filters=16, padding=padding)
    figures = [
        *A.encoder_figures(model)[:2],
        *A.decoder_figures(model)[-2:],
        A.draw_unet(model),
    ]
    for fig in figures:
        width_px = fig.get_figwidth() * fig.dpi
        shrink = min(1.0, A.DISPLAY_PX / width_px)
        texts = _texts(fig)
        assert len(texts) >= 9  # title, step, legend, a label per level
        for t in texts:
            assert t.get_fontsize() * fig.dpi / 72 * shrink >= A.MIN_TEXT_PX, (
                t.get_text()
            )
            assert t.get_rotation() == 0, t.get_text()


def test_frame_zero_shows_the_outline_and_the_encoder_fills_its_canvas(small):
    first = A.encoder_frames(small)[0]
    ink = (first < 235).any(axis=-1)
    # not blank: the whole encoder's outline and sizes are there from the start
    assert ink.mean() > 0.01
    cols = np.flatnonzero(
        ink[int(0.15 * ink.shape[0]) : int(0.85 * ink.shape[0])].any(axis=0)
    )
    assert (cols[-1] - cols[0]) / ink.shape[
        1
    ] > 0.7  # cropped to the staircase, not a mostly empty canvas


def test_the_figures_carry_a_legend_of_what_the_arrows_mean(small):
    enc = {t.get_text() for t in A.encoder_figures(small)[0].legends[0].get_texts()}
    assert enc == {"3×3 conv + BN + ReLU", "2×2 max-pool (down)"}
    full = {t.get_text() for t in A.draw_unet(small).legends[0].get_texts()}
    assert {
        "2×2 up-conv (up)",
        "copy (and crop)",
        "concatenated maps",
        "1×1 conv: class scores",
    } <= full
    no_skips = ut.build_unet(
        (64, 64, 3), base_filters=4, depth=3, skip_connections=False
    )
    assert "copy (and crop)" not in {
        t.get_text() for t in A.draw_unet(no_skips).legends[0].get_texts()
    }


def test_each_level_of_the_full_u_is_labelled_with_its_size_and_channels(small):
    texts = {t.get_text() for t in _texts(A.draw_unet(small))}
    for step in A.encoder_steps(small) + A.decoder_steps(small):
        # every level ends with its second convolution; the 1x1 head beside dec1 is
        # no level (it was once mislabelled as dec1's channels)
        if step.kind == "conv" and step.layer.endswith("relu2"):
            h, w, c = step.shape
            assert f"{h}×{w}\n{c} ch" in texts, step.layer
    head = A.decoder_steps(small)[-1]
    assert head.kind == "head"
    assert f"{head.shape[0]}×{head.shape[1]}\n{head.shape[2]} ch" not in texts
    assert "input 64×64×3 → output 64×64×3 (class scores per pixel)" in texts


def test_the_full_u_shows_itself_in_a_notebook_with_alt_text_and_caption(small):
    fig = A.draw_unet(small, caption="The default model, drawn from its layers.")
    assert isinstance(fig, ut.Drawing)
    assert fig._repr_png_()[:8] == b"\x89PNG\r\n\x1a\n"
    page = fig._repr_html_()
    assert (
        'alt="Diagram of a U-Net of depth 3: input 64×64×3, encoder levels 64×64×8, 32×32×16, 16×16×32'
        in page
    )
    assert "3 skip connections, output 64×64×3." in page
    assert "<figcaption" in page and "The default model, drawn from its layers." in page


def test_frames_are_drawn_at_twice_the_size_a_page_shows_them(small, tmp_path):
    """A 2x screen gets one frame pixel per device pixel; the GIF says so."""
    from unet_tutorial.pictures.page import DENSITY

    fig = A.encoder_figures(small)[0]
    frame = A.encoder_frames(small)[0]
    w, h = fig.get_size_inches() * fig.dpi
    assert DENSITY == 2
    assert (
        abs(frame.shape[1] - DENSITY * w) <= 1
        and abs(frame.shape[0] - DENSITY * h) <= 1
    )
    path = A.animate_encoder(small, tmp_path / "e.gif")
    with Image.open(path) as im:
        assert im.info["comment"] == b"unet-tutorial density=2"
    stepper = ut.FrameStepper.from_gif(path)
    assert stepper.density == DENSITY
    assert f"width:{round(frame.shape[1] / DENSITY)}px" in stepper.html()


def test_the_training_photos_are_resampled_smoothly_and_the_masks_stay_pure():
    """96 px snapshots drawn at display size: a photo gets in-between shades (no blocks
    of repeated pixels), a mask only its class colours (away from its edges)."""
    checker = (np.indices((16, 16)).sum(0) % 2).astype(np.float32)
    images = np.repeat(checker[None, ..., None], 3, axis=-1)
    masks = np.zeros((1, 16, 16), np.int32)
    masks[0, :, 8:] = 1
    frame = A.training_frames(images, masks, [masks])[0]
    # the panels: photo in the top row, masks below; find them by their content
    grey = (frame[..., 0] == frame[..., 1]) & (frame[..., 1] == frame[..., 2])
    rows = np.flatnonzero((~grey).any(axis=1))  # the masks' rows are coloured
    photo = frame[: rows[0] - 10][:, frame.shape[1] // 2 :]
    levels = np.unique(photo[..., 0])
    assert len(levels) > 50, len(
        levels
    )  # bilinear: many shades between black and white
    mask_rows = frame[rows[0] + 10 : rows[-1] - 10]
    colours = {tuple(c) for c in mask_rows.reshape(-1, 3)}
    pure = {tuple(int(v) for v in c) for c in ut.CLASS_COLORS}
    share = np.isin(
        mask_rows.reshape(-1, 3).view([("", np.uint8)] * 3),
        np.array([tuple(c) for c in ut.CLASS_COLORS], dtype=[("", np.uint8)] * 3),
    ).mean()
    assert pure & colours and share > 0.5


def test_the_head_frame_leaves_no_panel_empty(small):
    """Input, predicted classes, then each class's probability: no blank slot."""
    frames = A.feature_map_frames(small, A.load_example_image(), channels=4)
    head = frames[-1]
    # the five panels' band: every fifth of the width has ink (not white)
    band = head[int(0.25 * head.shape[0]) : int(0.6 * head.shape[0])]
    ink = (band < 200).any(axis=-1).mean(axis=0)
    fifths = np.array_split(ink, 5)
    assert all(f.mean() > 0.3 for f in fifths), [round(f.mean(), 2) for f in fifths]
