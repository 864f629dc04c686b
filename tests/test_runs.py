"""The run folder (unet_tutorial.engine.runs): finished runs kept, foreign folders refused, one writer, NaN, XLA."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY, lock_holder

import unet_tutorial as ut
from unet_tutorial.engine import cli, training
from unet_tutorial.engine.runs import RunFolderError, RunLock, load_snapshots, run_state


def _config(out: Path, **kw) -> ut.TrainConfig:
    """``TINY`` settings (those of the shared ``tiny_run``) in ``out``, with ``kw`` on top."""
    return ut.TrainConfig(**{"epochs": 2, "output_dir": str(out), **TINY, **kw})


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def finished(tiny_run) -> Path:
    """The folder of the shared tiny finished run (copy it before changing anything)."""
    return tiny_run.paths["config"].parent


@pytest.mark.slow
def test_run_state_tells_the_kinds_of_folder_apart(tmp_path, finished):
    assert run_state(tmp_path / "missing") == "empty"
    assert run_state(tmp_path) == "empty"
    (tmp_path / ".DS_Store").write_text("")  # hidden files are nobody's work
    assert run_state(tmp_path) == "empty"
    assert run_state(finished) == "finished"
    (tmp_path / "notes.txt").write_text("mine")
    assert run_state(tmp_path) == "foreign"
    other = tmp_path / "other"
    other.mkdir()
    (other / "config.json").write_text('{"name": "another program"}')
    assert run_state(other) == "foreign"


@pytest.mark.slow
def test_a_finished_run_is_never_changed_without_overwrite(tmp_path, finished):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    before = _fingerprint(out)
    # same settings or others: refused alike
    for cfg in (
        _config(out),
        _config(out, epochs=3),
    ):
        with pytest.raises(RunFolderError, match="finished run.*--overwrite"):
            ut.train(cfg, verbose=0)
    assert _fingerprint(out) == before
    code = cli.main(["train", "--source", "synthetic", "--output", str(out), "--size", "32", "--depth", "2",
                     "--base-filters", "4", "--epochs", "1", "--synthetic-examples", "16", "8", "8"])  # fmt: skip
    assert code == 2 and _fingerprint(out) == before


def test_a_foreign_folder_is_refused_and_left_as_it_was(tmp_path):
    (tmp_path / "config.json").write_text('{"mine": true}')
    (tmp_path / "history.csv").write_text("a,b\n1,2\n")
    (tmp_path / "notes.txt").write_text("keep me")
    before = _fingerprint(tmp_path)
    with pytest.raises(RunFolderError, match="not part of a run.*notes.txt"):
        ut.train(_config(tmp_path), verbose=0)
    with pytest.raises(RunFolderError, match="not part of a run"):
        # overwrite never touches foreign files
        ut.train(_config(tmp_path), verbose=0, overwrite=True)
    assert _fingerprint(tmp_path) == before


@pytest.mark.slow
def test_resuming_with_other_settings_is_refused_and_names_them(tmp_path, finished):
    import shutil

    out = tmp_path / "run"
    shutil.copytree(finished, out)
    (out / "final.keras").unlink()
    (out / "backup").mkdir()  # what a killed run leaves: unfinished
    before = _fingerprint(out)
    with pytest.raises(
        RunFolderError,
        match=r"other settings \(base_filters: 4 -> 8; image_size: 32 -> 64\)",
    ):
        ut.train(_config(out, image_size=64, base_filters=8), verbose=0)
    assert _fingerprint(out) == before  # config.json was not rewritten


def test_one_training_at_a_time_writes_to_a_folder(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunFolderError, match=f"pid {os.getpid()}.*is writing to"):
            ut.train(_config(tmp_path), verbose=0)
        assert run_state(tmp_path) == "empty"  # the lock alone is not a run
    assert not (tmp_path / "run.lock").exists()


def test_a_lock_left_by_a_killed_training_is_taken_over(tmp_path, capsys):
    holder = lock_holder(tmp_path)
    assert holder.stdout.readline().strip() == "HELD"
    holder.kill()  # SIGKILL: run.lock stays behind, its OS lock does not
    holder.wait()
    assert f"pid {holder.pid}" in (tmp_path / "run.lock").read_text()
    with RunLock(tmp_path):
        assert f"pid {os.getpid()}" in (tmp_path / "run.lock").read_text()
    assert f"stale lock {tmp_path / 'run.lock'} (pid {holder.pid}" in (
        capsys.readouterr().out
    )


def test_a_lock_file_that_no_process_holds_is_no_lock(tmp_path):
    """Only the OS lock counts: an empty file (a kill before its holder wrote it)
    is taken at once, whatever its age."""
    lock = tmp_path / "run.lock"
    lock.touch()
    with RunLock(tmp_path):
        assert lock.read_text().startswith(f"pid {os.getpid()} on ")
    assert not lock.exists()


class _Poison(keras.callbacks.Callback):
    """Make the weights NaN as epoch 1 begins: the loss of its first batch is NaN."""

    def on_train_batch_begin(self, batch, logs=None):
        if self._epoch == 1 and batch == 0:
            layer = self.model.get_layer("head_conv")
            layer.kernel.assign(np.full(layer.kernel.shape, np.nan, np.float32))

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch


@pytest.mark.slow
def test_a_nan_loss_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    out = tmp_path / "run"
    with pytest.raises(
        ut.TrainingDiverged,
        match="epoch 1, batch 0.*best.keras.*is kept.*final.keras was not",
    ):
        ut.train(_config(out, epochs=3), verbose=0, callbacks=[_Poison()])
    assert not (out / "final.keras").exists()
    best = ut.load_run_model(out / "best.keras")
    # epoch 0's checkpoint, not NaN
    assert all(np.isfinite(w).all() for w in best.get_weights())
    assert (out / "backup").is_dir() and run_state(out) == "unfinished"
    # no snapshot of the NaN epoch
    assert len(load_snapshots(out / "snapshots")[2]) == 1


def test_the_cli_says_so_when_a_run_diverges(tmp_path, monkeypatch, capsys):
    def diverge(config, **kwargs):
        raise ut.TrainingDiverged(
            "the loss became NaN or infinite at epoch 0, batch 3; training stopped."
        )

    monkeypatch.setattr(training, "train", diverge)
    code = cli.main(
        [
            "train",
            "--source",
            "synthetic",
            "--output",
            str(tmp_path / "r"),
            "--size",
            "32",
        ]
    )
    assert code == 1 and "became NaN" in capsys.readouterr().err


def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch, capsys, tmp_path):
    def interrupted(config, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(training, "train", interrupted)
    code = cli.main(
        [
            "train",
            "--source",
            "synthetic",
            "--output",
            str(tmp_path / "r"),
            "--size",
            "32",
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 130
        and err == "unet-tutorial train: interrupted; run the same command to resume\n"
    )


def test_xla_really_compiles_when_determinism_is_off():
    import tensorflow as tf
    from tensorflow.python.framework.config import is_op_determinism_enabled

    ut.set_seed(0, deterministic=True)
    assert is_op_determinism_enabled()
    ut.set_seed(0, deterministic=False)
    assert not is_op_determinism_enabled()
    model = ut.build_unet((32, 32, 3), base_filters=4, depth=2)
    model.compile("adam", ut.cross_entropy_loss(), jit_compile=True)
    # with determinism on, Keras would have set it to False
    assert model.jit_compile is True
    ut.set_seed(0)  # leave determinism on for the other tests
    del tf


def test_a_partly_written_last_history_row_is_tolerated(tmp_path):
    path = tmp_path / "history.csv"
    # killed while writing row 2
    path.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6\n2,0.5")
    assert [r["epoch"] for r in ut.read_history(path)] == ["0", "1"]


def test_load_run_model_says_what_is_wrong(tmp_path):
    with pytest.raises(ValueError, match="is a directory"):
        ut.load_run_model(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        ut.load_run_model(tmp_path / "none.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a loadable .keras model"):
        ut.load_run_model(bad)


class _StopAt(keras.callbacks.Callback):
    """Interrupt training as epoch ``n`` begins, as a kill would (the backup of epoch n-1 stays)."""

    def __init__(self, n: int):
        super().__init__()
        self.n = n

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.n:
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_damaged_backup_falls_back_to_the_epoch_before_it(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _config(out, epochs=3, snapshot_images=0)
    with pytest.raises(KeyboardInterrupt):
        ut.train(cfg, verbose=0, callbacks=[_StopAt(2)])
    weights = out / "backup" / "latest.weights.h5"
    # cut short by a kill while it was written
    weights.write_bytes(weights.read_bytes()[:100])
    result = ut.train(cfg, verbose=0)
    assert "latest backup was damaged" in capsys.readouterr().out
    assert result.epochs_run == [1, 2]  # resumed from epoch 1's copy, not from scratch
    assert [r["epoch"] for r in ut.read_history(out / "history.csv")] == ["0", "1", "2"]


@pytest.mark.slow
def test_a_worker_falls_back_to_the_chiefs_previous_backup_and_changes_nothing(
    tmp_path,
):
    """A non-chief restores read-only from the chief's backup: when the latest is
    damaged it takes the copy of the epoch before (a ``.bkp`` file, which Keras
    will not load under that name), and no file of the chief's changes."""
    from unet_tutorial.engine.training import _SafeBackup

    out = tmp_path / "run"
    cfg = _config(out, epochs=3, snapshot_images=0)
    with pytest.raises(KeyboardInterrupt):
        ut.train(cfg, verbose=0, callbacks=[_StopAt(2)])
    chief = out / "backup"
    weights = chief / "latest.weights.h5"
    weights.write_bytes(weights.read_bytes()[:100])
    before = _fingerprint(chief)
    model = ut.build_unet(
        (cfg.image_size, cfg.image_size, 3), 3, cfg.base_filters, cfg.depth
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    worker = _SafeBackup(tmp_path / "scratch" / "backup", restore_from=chief)
    worker.set_model(model)
    worker.on_train_begin()
    assert model._initial_epoch == 1  # epoch 1's copy: the run goes on at epoch 1
    assert _fingerprint(chief) == before


@pytest.mark.slow
def test_a_backup_with_no_readable_copy_starts_again_and_says_so(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _config(out, epochs=2, snapshot_images=0)
    with pytest.raises(KeyboardInterrupt):
        ut.train(cfg, verbose=0, callbacks=[_StopAt(1)])
    for extra in (out / "backup").glob("*.bkp"):
        extra.unlink()
    # empty: killed mid-write
    (out / "backup" / "training_metadata.json").write_text("")
    # and no best.keras to resume after (test_reliability covers that fallback)
    (out / "best.keras").unlink()
    result = ut.train(cfg, verbose=0)
    assert "starting again at epoch 0" in capsys.readouterr().out
    assert result.epochs_run == [0, 1] and run_state(out) == "finished"


def _two_backups(folder: Path) -> keras.Model:
    """A tiny model backed up after epochs 0 and 1 (its weights changed between)."""
    from unet_tutorial.engine.training import _SafeBackup

    model = ut.build_unet((16, 16, 3), 3, base_filters=2, depth=1)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    backup = _SafeBackup(folder)
    backup.set_model(model)
    for epoch in (0, 1):
        head = model.get_layer("head_conv")
        head.bias.assign(np.full(head.bias.shape, epoch + 1.0, np.float32))
        backup.on_epoch_end(epoch)
    return model


@pytest.mark.parametrize("damage", ["metadata cut short", "weights of another epoch"])
def test_a_damaged_backup_that_keras_would_load_falls_back_to_the_previous_copy(
    tmp_path, capsys, damage
):
    """Keras' BackupAndRestore falls back to its previous copy only on an OSError: a
    metadata file cut short stopped it with a JSONDecodeError, and weights that a
    kill left beside the metadata of the epoch before were loaded as that epoch."""
    from unet_tutorial.engine.training import _SafeBackup

    folder = tmp_path / "backup"
    model = _two_backups(folder)
    meta = folder / "training_metadata.json"
    if damage == "metadata cut short":
        meta.write_text(meta.read_text()[:10])
    else:  # the new weights renamed into place, the kill before their metadata
        shutil.copyfile(folder / "training_metadata.json.bkp", meta)
    restored = _SafeBackup(folder)
    restored.set_model(model)
    restored.on_train_begin()
    assert model._initial_epoch == 1  # after epoch 0, from the previous copy
    head = model.get_layer("head_conv")
    np.testing.assert_array_equal(head.bias.numpy(), 1.0)  # epoch 0's weights
    assert "latest backup was damaged" in capsys.readouterr().out


@pytest.mark.slow
def test_a_worker_whose_chief_backups_are_both_damaged_resumes_after_best_keras(
    tmp_path, capsys
):
    """As the chief does: from best.keras's epoch (read, never changed), not epoch 0."""
    from unet_tutorial.engine.training import _SafeBackup

    out = tmp_path / "run"
    cfg = _config(out, epochs=3, snapshot_images=0)
    with pytest.raises(KeyboardInterrupt):
        ut.train(cfg, verbose=0, callbacks=[_StopAt(2)])
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        (out / "backup" / name).write_bytes(b"damaged")
    before = _fingerprint(out)
    best = json.loads((out / "state.json").read_text())["best"]["epoch"]
    model = ut.build_unet(
        (cfg.image_size, cfg.image_size, 3), 3, cfg.base_filters, cfg.depth
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
    worker = _SafeBackup(
        tmp_path / "scratch" / "backup", restore_from=out / "backup", run_folder=out
    )
    worker.set_model(model)
    worker.on_train_begin()
    assert model._initial_epoch == best + 1
    assert "resuming after epoch" in capsys.readouterr().out
    assert _fingerprint(out) == before
