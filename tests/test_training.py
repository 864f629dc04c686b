"""train() and its pieces (unet_tutorial.engine.training): files, resume after a kill, determinism, strategies, presets."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY

import unet_tutorial as ut
from unet_tutorial.engine.runs import RunFolderError, load_snapshots

# --------------------------------------------------------------------------- training


@pytest.mark.slow
def test_train_writes_its_files_and_reloads_safely(tiny_run):
    result = tiny_run
    assert result.epochs_run == [0, 1] and result.history["epoch"] == [0, 1]
    assert result.data.is_stand_in
    for key in ("best", "final", "history", "config"):
        assert result.paths[key].is_file(), key
    images, masks, preds = load_snapshots(result.paths["snapshots"])
    assert (
        images.shape == (4, 32, 32, 3)
        and masks.shape == (4, 32, 32)
        and len(preds) == 2
    )
    model = keras.saving.load_model(result.paths["best"], safe_mode=True)
    x = images[:2]
    assert model.predict(x, verbose=0).shape == (2, 32, 32, 3)
    again = keras.saving.load_model(result.paths["final"], safe_mode=True)
    np.testing.assert_allclose(
        again.predict(x, verbose=0), result.model.predict(x, verbose=0), atol=1e-6
    )


@pytest.mark.slow
def test_two_runs_with_the_same_seed_give_identical_losses(tmp_path):
    a = ut.train(
        ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "a"), seed=3, **TINY),
        verbose=0,
    )
    b = ut.train(
        ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "b"), seed=3, **TINY),
        verbose=0,
    )
    assert a.history["loss"] == b.history["loss"]
    assert a.history["val_loss"] == b.history["val_loss"]
    c = ut.train(
        ut.TrainConfig(epochs=2, output_dir=str(tmp_path / "c"), seed=4, **TINY),
        verbose=0,
    )
    assert c.history["loss"] != a.history["loss"]


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="epochs=0"):
        ut.train(ut.TrainConfig(epochs=0))
    with pytest.raises(ValueError, match="loss='mse'"):
        ut.train(ut.TrainConfig(loss="mse"))
    with pytest.raises(ValueError, match="nearest valid sizes are 96 and 112"):
        ut.train(ut.TrainConfig(image_size=100))


RUNNER = textwrap.dedent(
    """
    import os, signal, sys
    import keras
    import unet_tutorial as ut

    kill_before = int(sys.argv[2])  # SIGKILL ourselves when this epoch begins (-1: never)

    class Killer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            print(f"EPOCH_BEGIN {epoch}", flush=True)
            if epoch == kill_before:
                os.kill(os.getpid(), signal.SIGKILL)

    cfg = ut.TrainConfig(epochs=4, output_dir=sys.argv[1], base_filters=4, depth=2, image_size=32,
                         batch_size=8, source="synthetic", num_examples=(16, 8, 8))
    result = ut.train(cfg, callbacks=[Killer()], verbose=0)
    print("EPOCHS_RUN", result.epochs_run, flush=True)
    """
)


@pytest.mark.slow
def test_a_killed_run_resumes_at_the_next_epoch_and_loses_nothing(tmp_path):
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    out = tmp_path / "run"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    k = 1  # epochs 0 and 1 finish, the process dies as epoch 2 begins
    first = subprocess.run(
        [sys.executable, str(script), str(out), str(k + 1)],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert first.returncode == -9, first.stderr[-2000:]
    assert "EPOCH_BEGIN 2" in first.stdout
    assert [r["epoch"] for r in ut.read_history(out / "history.csv")] == ["0", "1"]
    assert (out / "backup").is_dir()

    second = subprocess.run(
        [sys.executable, str(script), str(out), "-1"],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-2000:]
    begins = [
        int(line.split()[1])
        for line in second.stdout.splitlines()
        if line.startswith("EPOCH_BEGIN")
    ]
    assert begins == [k + 1, k + 2]  # resumed at epoch k+1, nothing redone
    assert "EPOCHS_RUN [2, 3]" in second.stdout
    rows = ut.read_history(out / "history.csv")
    # every finished epoch exactly once
    assert [r["epoch"] for r in rows] == [
        "0",
        "1",
        "2",
        "3",
    ]
    assert not (out / "backup").exists()  # a finished run cleans its backup


@pytest.mark.slow
def test_overwrite_replaces_a_finished_run_from_scratch(tmp_path):
    out = str(tmp_path / "run")
    ut.train(ut.TrainConfig(epochs=3, output_dir=out, **TINY), verbose=0)
    import time

    started = time.time()
    again = ut.train(
        ut.TrainConfig(epochs=1, output_dir=out, seed=5, **TINY),
        verbose=0,
        overwrite=True,
    )
    assert again.history["epoch"] == [0]  # the old run's three rows are gone
    _, _, preds = load_snapshots(again.paths["snapshots"])
    assert len(preds) == 1  # and so are its later snapshots
    # the new run wrote its own best model
    assert again.paths["best"].stat().st_mtime >= started


@pytest.mark.slow
def test_train_or_load_reuses_a_finished_run(tmp_path):
    cfg = ut.TrainConfig(epochs=1, base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic",
                         num_examples=(16, 8, 8), output_dir=str(tmp_path / "run"), snapshot_images=0)  # fmt: skip
    first = ut.train_or_load(cfg, verbose=0)
    assert first.epochs_run == [0]
    again = ut.train_or_load(cfg, verbose=0)
    assert (
        again.epochs_run == []
        and again.history == first.history
        and again.data.is_stand_in
    )
    x = np.zeros((1, 32, 32, 3), np.float32)
    np.testing.assert_allclose(
        again.model.predict(x, verbose=0), first.model.predict(x, verbose=0), atol=1e-6
    )
    # other settings never replace a finished run
    with pytest.raises(RunFolderError, match="finished run"):
        ut.train_or_load(ut.TrainConfig(**{**cfg.__dict__, "seed": 1}), verbose=0)


@pytest.mark.slow
def test_a_run_names_its_data_and_itself_without_machine_paths(
    tmp_path, monkeypatch, capsys
):
    import json
    from pathlib import Path

    mini = Path(__file__).parent / "fixtures" / "oxford-pets-mini"
    monkeypatch.setenv(ut.OXFORD_DIR_ENV, str(mini))
    settings = {k: v for k, v in TINY.items() if k not in ("source", "num_examples")}
    cfg = ut.TrainConfig(
        epochs=1,
        source=ut.OXFORD_DIR_SOURCE,
        output_dir=str(tmp_path / "run"),
        snapshot_images=0,
        **settings,
    )
    result = ut.train_or_load(cfg, verbose=0)
    again = ut.train_or_load(cfg, verbose=0)
    assert again.epochs_run == [] and not again.data.is_stand_in
    said = capsys.readouterr().out
    stored = json.loads(result.paths["test"].read_text())
    data = json.loads(result.paths["config"].read_text())["data"]
    for text in (json.dumps(stored), json.dumps(data), said):
        assert str(mini) not in text and str(tmp_path) not in text, text
    assert stored["data"]["source"] == ut.OXFORD_DIR_SOURCE
    assert "oxford-pets-mini" in stored["data"]["description"]
    assert "Loaded the finished run: trained earlier" in said


@pytest.mark.slow
def test_the_run_cache_never_reuses_a_run_made_on_other_data_or_by_another_version(
    tmp_path, monkeypatch, capsys
):
    import json
    import shutil

    from PIL import Image

    import unet_tutorial

    data = tmp_path / "pets"
    shutil.copytree(Path(__file__).parent / "fixtures" / "oxford-pets-mini", data)
    monkeypatch.setenv(ut.RUNS_ENV, str(tmp_path / "cache"))
    settings = {k: v for k, v in TINY.items() if k not in ("source", "num_examples")}
    cfg = ut.TrainConfig(epochs=1, source=str(data), snapshot_images=0, **settings)
    cached = ut.in_run_cache(cfg, "pets")
    assert Path(cached.output_dir).parent == tmp_path / "cache"
    assert ut.in_run_cache(cfg, "pets") == cached  # the same run: the same folder
    assert ut.train_or_load(cached, verbose=0).epochs_run == [0]
    assert ut.train_or_load(cached, verbose=0).epochs_run == []  # reused
    # a patch release reuses it; another minor version does not
    monkeypatch.setattr(unet_tutorial, "__version__", "0.1.99")
    assert ut.train_or_load(cached, verbose=0).epochs_run == []
    monkeypatch.setattr(unet_tutorial, "__version__", "0.2.0")
    capsys.readouterr()
    with pytest.raises(RunFolderError, match="finished run"):
        ut.train_or_load(cached, verbose=0)
    assert "unet-tutorial version: 0.1.0 -> 0.2.0" in capsys.readouterr().out
    monkeypatch.setattr(unet_tutorial, "__version__", "0.1.0")
    # the data changes under the run: one trimap rewritten as all background
    trimap = sorted((data / "annotations" / "trimaps").glob("*.png"))[0]
    pixels = np.asarray(Image.open(trimap))
    Image.fromarray(np.full_like(pixels, 2)).save(trimap)
    with pytest.raises(RunFolderError, match="finished run"):
        ut.train_or_load(cached, verbose=0)
    said = capsys.readouterr().out
    assert "is not reused: data: folder pets:" in said and str(tmp_path) not in said
    # in the cache, changed data is another run, in another folder: it trains
    again = ut.in_run_cache(cfg, "pets")
    assert again.output_dir != cached.output_dir
    assert ut.train_or_load(again, verbose=0).epochs_run == [0]
    # a run that recorded no data (made before data was recorded) is not trusted
    config = Path(again.output_dir) / "config.json"
    stored = json.loads(config.read_text())
    del stored["data_fingerprint"], stored["package_version"]
    config.write_text(json.dumps(stored))
    capsys.readouterr()
    with pytest.raises(RunFolderError, match="finished run"):
        ut.train_or_load(again, verbose=0)
    assert "data: not recorded ->" in capsys.readouterr().out


@pytest.mark.slow
def test_epoch_log_prints_one_line_per_epoch(tmp_path, capsys):
    cfg = ut.TrainConfig(epochs=2, base_filters=4, depth=2, image_size=32, batch_size=8, source="synthetic",
                         num_examples=(16, 8, 8), output_dir=str(tmp_path / "run"), snapshot_images=0)  # fmt: skip
    result = ut.train_or_load(cfg, verbose=0, callbacks=[ut.EpochLog()])
    lines = [
        line
        for line in capsys.readouterr().out.splitlines()
        if line.startswith("epoch")
    ]
    assert [line[:10] for line in lines] == ["epoch  1/2", "epoch  2/2"]
    assert "| val mIoU" in lines[0] and " border " in lines[0] and len(lines[0]) <= 80
    # the test split, scored once at the end
    assert result.test is not None and result.test.num_images == 8
    ut.train_or_load(cfg, verbose=0)
    said = capsys.readouterr().out
    # one plain line, never a path of this machine
    assert "Loaded the finished run: trained earlier" in said
    assert str(tmp_path) not in said


EM = Path(__file__).parent / "fixtures" / "isbi2012-em-mini"


@pytest.mark.slow
def test_an_unpadded_model_trains_on_em_crops_and_is_scored_by_overlap_tile(tmp_path):
    config = ut.TrainConfig(
        source=str(EM),
        output_dir=str(tmp_path / "em"),
        image_size=None,
        crop_size=92,
        padding="valid",
        depth=2,
        base_filters=4,
        batch_size=2,
        epochs=2,
        steps_per_epoch=2,
        loss="ce",
        weight_map=True,
        rotate90=True,
        min_scale=1.0,
        elastic_px=ut.PAPER_ELASTIC_PX,
        snapshot_images=2,
        test_checkpoint="final",
    )
    result = ut.train(config, verbose=0)
    model = result.model
    assert model.input_shape == (None, 92, 92, 1)
    assert model.output_shape == (None, 52, 52, 2)
    assert result.data.class_names == ("membrane", "cell")
    assert len(result.history["val_mean_iou"]) == 2
    # the test split is scored on whole 128 px slices, by overlap-tile
    test_ds, info = ut.load_dataset(EM, "test", image_size=None, verbose=False)
    again = ut.evaluate(model, test_ds, info.class_names)
    assert result.test.num_images == info.num_examples == again.num_images
    assert result.test.pixel_accuracy == pytest.approx(again.pixel_accuracy, abs=1e-6)
    from unet_tutorial.engine.runs import load_snapshots

    images, masks, preds = load_snapshots(result.paths["snapshots"])
    assert images.shape[1:3] == masks.shape[1:] == preds[0].shape[1:] == (52, 52)


def _odd_folder(root: Path) -> Path:
    """Grey images + masks whose sides are no multiples of 4 (and differ in the
    validation and test splits), split by lists.
    """
    from PIL import Image

    sizes = {f"t{i}": (21, 30) for i in range(4)}
    sizes |= {"v0": (21, 30), "v1": (25, 18), "e0": (19, 27), "e1": (21, 30)}
    rng = np.random.default_rng(0)
    for part in ("images", "masks"):
        (root / part).mkdir(parents=True)
    for stem, (h, w) in sizes.items():
        image = rng.integers(0, 256, (h, w), dtype=np.uint8)
        Image.fromarray(image).save(root / "images" / f"{stem}.png")
        Image.fromarray((image > 127).astype(np.uint8)).save(
            root / "masks" / f"{stem}.png"
        )
    (root / "train.txt").write_text("t0\nt1\nt2\nt3\n")
    (root / "validation.txt").write_text("v0\nv1\n")
    (root / "test.txt").write_text("e0\ne1\n")
    return root


@pytest.mark.slow
def test_a_same_padding_model_validates_and_tests_on_whole_images_of_odd_sizes(
    tmp_path,
):
    """Whole images of 21x30, 25x18 and 19x27 px at native size: validation,
    snapshots and the test scores used to fail inside Keras (a Concatenate of
    maps one pixel apart). They are mirrored up to multiples of 2**depth, and the
    added pixels count in no loss and no metric.
    """
    root = _odd_folder(tmp_path / "odd")
    config = ut.TrainConfig(
        source=str(root),
        output_dir=str(tmp_path / "run"),
        image_size=None,
        crop_size=16,
        depth=2,
        base_filters=4,
        batch_size=2,
        epochs=1,
        loss="ce_dice",
        snapshot_images=2,
        test_checkpoint="final",
    )
    result = ut.train(config, verbose=0)
    assert result.model.input_shape == (None, None, None, 1)
    val_ds, info = ut.load_dataset(root, "validation", image_size=None, verbose=False)
    scores = ut.evaluate(result.model, val_ds, info.class_names)
    # Keras' validation left the padding out: the same scores as on the images alone
    assert result.history["val_pixel_accuracy"][0] == pytest.approx(
        scores.pixel_accuracy, abs=1e-5
    )
    assert result.history["val_mean_iou"][0] == pytest.approx(scores.mean_iou, abs=1e-5)
    assert result.test is not None and result.test.num_images == 2
    test_ds, _ = ut.load_dataset(root, "test", image_size=None, verbose=False)
    again = ut.evaluate(result.model, test_ds, info.class_names)
    assert result.test.pixel_accuracy == pytest.approx(again.pixel_accuracy, abs=1e-6)
    images, masks, preds = load_snapshots(result.paths["snapshots"])
    # 21x30 and 25x18 cut to the 21x18 they share
    assert images.shape == (2, 21, 18, 1) and masks.shape == preds[0].shape == (
        2,
        21,
        18,
    )


# ------------------------------------------------- bad callbacks, a full disk in the backup


@pytest.mark.parametrize(
    "callbacks, message",
    [
        ("none", r"callbacks='none' must be a list of Keras callbacks or None"),
        ([object()], r"callbacks\[0\]=<object .*> is not a Keras callback"),
    ],
)
def test_callbacks_that_are_not_keras_callbacks_are_refused_before_any_file(
    tmp_path, callbacks, message
):
    out = tmp_path / "run"
    config = ut.TrainConfig(**TINY, epochs=1, output_dir=str(out))
    with pytest.raises(ValueError, match=message):
        ut.train(config, callbacks=callbacks, verbose=0)
    assert not out.exists()


def test_a_folder_without_a_test_split_is_refused_before_training(tmp_path):
    """With ``evaluate_test`` on, a folder of train and validation lists only is
    refused in one line before any epoch, and trains with it off."""
    from PIL import Image

    root = tmp_path / "data"
    for folder in ("images", "masks"):
        (root / folder).mkdir(parents=True)
    rng = np.random.default_rng(0)
    names = [f"img{i}" for i in range(6)]
    for name in names:
        image = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
        Image.fromarray(image).save(root / "images" / f"{name}.png")
        mask = np.zeros((32, 32), np.uint8)
        mask[8:24, 8:24] = 1
        Image.fromarray(mask).save(root / "masks" / f"{name}.png")
    (root / "train.txt").write_text("\n".join(names[:4]) + "\n")
    (root / "validation.txt").write_text("\n".join(names[4:]) + "\n")
    out = tmp_path / "run"
    settings = dict(TINY, source=str(root), num_examples=None, epochs=1)
    config = ut.TrainConfig(**settings, output_dir=str(out))
    with pytest.raises(ValueError, match="has no test split") as refused:
        ut.train(config, verbose=0)
    message = str(refused.value)
    assert "\n" not in message and "evaluate_test=False (--no-test)" in message
    assert not out.exists()  # refused before a file was written
    result = ut.train(replace(config, evaluate_test=False), verbose=0)
    assert result.epochs_run == [0] and result.test is None


def test_the_backup_weights_written_in_memory_load_as_save_weights_writes_them(
    tmp_path,
):
    from unet_tutorial.engine.training import _weights_file_bytes

    model = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    model.compile("adam", "sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    data = _weights_file_bytes(model)
    assert data is not None and data.startswith(b"\x89HDF")
    (tmp_path / "m.weights.h5").write_bytes(data)
    other = ut.build_unet((32, 32, 3), 3, base_filters=2, depth=1)
    other.load_weights(tmp_path / "m.weights.h5")
    for a, b in zip(model.get_weights(), other.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.slow
def test_a_full_disk_while_the_backup_is_written_is_a_python_error_and_resumes(
    tmp_path, monkeypatch
):
    """h5py writing the backup to a full disk crashed the process (a segfault) or
    said "Disable slist on flush dest failure failed"; the weights are now written
    in memory, the free space checked, and the file written by Python."""
    import errno
    import shutil
    from collections import namedtuple

    usage, real = namedtuple("usage", "total used free"), shutil.disk_usage
    calls = []

    def full_at_the_second_backup(path):
        if "backup" in str(path):
            calls.append(path)
            if len(calls) == 2:
                return usage(10**9, 10**9, 0)
        return real(path)

    monkeypatch.setattr(shutil, "disk_usage", full_at_the_second_backup)
    out = tmp_path / "run"
    config = ut.TrainConfig(**TINY, epochs=2, output_dir=str(out))
    with pytest.raises(OSError) as err:
        ut.train(config, verbose=0)
    assert err.value.errno == errno.ENOSPC
    weights = out / "backup" / "latest.weights.h5"
    assert err.value.strerror == (
        f"no space left on the device while writing {weights}; free some space and "
        "run the same command again (a run resumes where it stopped)"
    )
    assert not list((out / "backup").glob(".*"))  # no temporary file left
    assert not (out / "run.lock").exists()
    monkeypatch.setattr(shutil, "disk_usage", real)  # space freed
    result = ut.train(config, verbose=0)
    assert result.epochs_run == [1]  # epoch 0 kept, never trained again
