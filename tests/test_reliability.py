"""Reliability: a run folder survives a kill at every save, a damaged backup, a torn
config.json and a second training; and other failures end with one clear line.

Faults are injected at the save level: a subprocess trains with Keras' save
(or the test scoring) wrapped so that it writes half a file, or nothing, and
then SIGKILLs itself at a chosen save. The rerun is the same ``train`` call.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from conftest import TINY, TINY_CLI, caught_signals, lock_holder

import unet_tutorial as ut
from unet_tutorial import files
from unet_tutorial.engine import runs, training
from unet_tutorial.engine.runs import RunFolderError, RunLock, run_state

SETTINGS = {**TINY, "epochs": 3}
"""The tiny settings of every run here (3 epochs)."""

RUNNER = textwrap.dedent(
    """
    import json, os, signal, sys
    import keras
    import unet_tutorial as ut
    from unet_tutorial.engine import training

    out, spec, settings = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    what, nth, how = spec.split(":")  # e.g. best:2:half
    seen = [0]

    def die(path=None):
        if how == "half" and path and os.path.exists(path):
            with open(path, "r+b") as f:
                f.truncate(os.path.getsize(path) // 2)
        print("KILLED", spec, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)

    def chosen():
        seen[0] += 1
        return seen[0] == int(nth)

    def wrap(original, matches):
        def save(self, filepath, *args, **kwargs):
            hit = matches(os.path.basename(str(filepath))) and chosen()
            if hit and how == "before":
                die()
            result = original(self, filepath, *args, **kwargs)
            if hit:
                die(str(filepath))
            return result
        return save

    if what in ("best", "final"):
        keras.Model.save = wrap(keras.Model.save, lambda name: what in name)
    elif what == "backup":
        keras.Model.save_weights = wrap(
            keras.Model.save_weights, lambda name: "latest" in name
        )
    elif what == "test":
        evaluate = training.evaluate
        def scored(*args, **kwargs):
            if chosen():
                die()
            return evaluate(*args, **kwargs)
        training.evaluate = scored
    settings["num_examples"] = tuple(settings["num_examples"])
    ut.train(ut.TrainConfig(output_dir=out, **settings), verbose=0)
    print("NOT KILLED", flush=True)
    """
)


def _killed_run(tmp_path: Path, spec: str) -> Path:
    """Train ``SETTINGS`` in a subprocess that kills itself at the save ``spec``
    (``what:nth:how``); return the run folder it leaves.
    """
    script = tmp_path / "runner.py"
    script.write_text(RUNNER)
    out = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, str(script), str(out), spec, json.dumps(SETTINGS)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=600,
    )
    assert done.returncode == -signal.SIGKILL, done.stdout + done.stderr[-2000:]
    assert f"KILLED {spec}" in done.stdout
    return out


def _config(out: Path) -> ut.TrainConfig:
    return ut.TrainConfig(output_dir=str(out), **SETTINGS)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): _digest(p)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def _assert_whole_and_finished(out: Path) -> None:
    """The rerun left a finished run whose every file loads."""
    assert run_state(out) == "finished"
    for name in ("best.keras", "final.keras"):
        ut.load_run_model(out / name)
    training.read_test_scores(out / "test.json")
    assert [r["epoch"] for r in ut.read_history(out / "history.csv")] == [
        "0",
        "1",
        "2",
    ]
    assert not (out / "backup").exists()
    assert not [p for p in out.rglob(f".*{files.PART_MARK}*")]


# ------------------------------------------------------------------ atomic writes


def test_an_atomic_write_cut_short_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "config.json"
    runs.atomic_write_text(path, '{"old": true}')

    def half_then_fail(part: Path) -> None:
        part.write_text('{"new": ')
        raise OSError("disk gone")

    with pytest.raises(OSError, match="disk gone"):
        files.atomic_write(path, half_then_fail)
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]


def test_a_history_row_cut_short_is_not_glued_to_the_next_one(tmp_path):
    path = tmp_path / "history.csv"
    # killed while writing row 2
    path.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6\n2,0.5")
    logger = runs.EpochCSVLogger(path)
    logger.on_epoch_begin(2)
    logger.on_epoch_end(2, {"loss": 0.4, "val_loss": 0.3})
    rows = ut.read_history(path)
    assert [(r["epoch"], r["loss"]) for r in rows] == [
        ("0", "0.9"),
        ("1", "0.7"),
        ("2", "0.4"),
    ]


def test_a_last_history_row_without_its_line_end_is_left_out(tmp_path):
    path = tmp_path / "history.csv"
    # every field there, but the last number may be cut short (0.61 -> 0.6)
    path.write_text("epoch,loss,val_loss\n0,0.9,0.8\n1,0.7,0.6")
    assert [r["epoch"] for r in ut.read_history(path)] == ["0"]


# ------------------------------------------------------------------ kills at a save


@pytest.mark.slow
def test_a_kill_half_way_through_best_keras_keeps_the_previous_best(tmp_path):
    out = _killed_run(tmp_path, "best:2:half")
    ut.load_run_model(out / "best.keras")  # the first best, whole
    assert run_state(out) == "unfinished"
    ut.train(_config(out), verbose=0)
    _assert_whole_and_finished(out)


@pytest.mark.slow
def test_a_kill_half_way_through_final_keras_is_completed_not_retrained(
    tmp_path,
):
    out = _killed_run(tmp_path, "final:1:half")
    assert run_state(out) == "unfinished" and not (out / "final.keras").exists()
    history = _digest(out / "history.csv")
    result = ut.train(_config(out), verbose=0)
    assert result.epochs_run == []  # nothing trained again
    assert _digest(out / "history.csv") == history
    _assert_whole_and_finished(out)


@pytest.mark.slow
def test_a_kill_before_final_keras_never_retrains_finished_epochs(tmp_path):
    out = _killed_run(tmp_path, "final:1:before")
    assert run_state(out) == "unfinished"
    kept = {
        k: v
        for k, v in _fingerprint(out).items()
        if k.startswith(("history", "best", "snapshots"))
    }
    result = ut.train(_config(out), verbose=0)
    assert result.epochs_run == []
    after = _fingerprint(out)
    assert {k: after[k] for k in kept} == kept  # best, history, snapshots unchanged
    _assert_whole_and_finished(out)


@pytest.mark.slow
def test_a_kill_while_the_test_split_is_scored_is_scored_on_rerun(tmp_path):
    out = _killed_run(tmp_path, "test:1:before")
    assert run_state(out) == "unfinished" and not (out / "test.json").exists()
    final = _digest(out / "final.keras")
    result = ut.train(_config(out), verbose=0)
    assert result.epochs_run == [] and result.test is not None
    assert _digest(out / "final.keras") == final
    _assert_whole_and_finished(out)
    # and a finished run is left alone
    with pytest.raises(RunFolderError, match="finished run"):
        ut.train(_config(out), verbose=0)


class _BorderEverywhere(keras.callbacks.Callback):
    """Make every validation predict "border": the worst score an epoch can have."""

    def on_test_begin(self, logs=None):
        head = self.model.get_layer("head_conv")
        head.kernel.assign(np.zeros(head.kernel.shape, np.float32))
        head.bias.assign(np.array([-10.0, -10.0, 10.0], np.float32))


def _validation_mean_iou(path: Path) -> float:
    from unet_tutorial.engine.loading import load_dataset
    from unet_tutorial.engine.sources import resolve_source

    cfg = _config(path.parent)
    val, _ = load_dataset(
        resolve_source(cfg.source, None),
        "validation",
        cfg.image_size,
        cfg.batch_size,
        seed=cfg.seed,
        num_examples=cfg.num_examples[1],
        verbose=False,
    )
    scores = ut.load_run_model(path).evaluate(val, verbose=0, return_dict=True)
    return float(scores["mean_iou"])


@pytest.mark.slow
def test_best_keras_always_matches_a_history_row_after_a_kill(tmp_path):
    # killed right after the second best.keras; the epochs trained again score worse
    out = _killed_run(tmp_path, "best:2:after")
    ut.train(_config(out), verbose=0, callbacks=[_BorderEverywhere()])
    rows = [float(r["val_mean_iou"]) for r in ut.read_history(out / "history.csv")]
    best = _validation_mean_iou(out / "best.keras")
    assert np.isclose(best, max(rows), atol=1e-5), (best, rows)
    state = json.loads((out / "state.json").read_text())
    assert state["state"] == "finished"
    assert rows[state["best"]["epoch"]] == max(rows)


# -------------------------------------------------------------------- damaged backup


def _interrupted(out: Path, at_epoch: int) -> ut.TrainConfig:
    """An unfinished run in ``out``: interrupted as epoch ``at_epoch`` begins."""

    class Stop(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == at_epoch:
                raise KeyboardInterrupt

    cfg = ut.TrainConfig(output_dir=str(out), **{**SETTINGS, "snapshot_images": 0})
    with pytest.raises(KeyboardInterrupt):
        ut.train(cfg, verbose=0, callbacks=[Stop()])
    return cfg


def _damage_in_place(path: Path) -> None:
    """Overwrite h5py's structure signatures: the file keeps its length."""
    data = bytearray(path.read_bytes())
    size = len(data)
    for signature in (b"TREE", b"HEAP", b"SNOD"):
        at = data.find(signature)
        while at >= 0:
            data[at : at + 4] = b"XXXX"
            at = data.find(signature, at + 4)
    assert len(data) == size
    path.write_bytes(bytes(data))


@pytest.mark.slow
def test_a_full_length_damaged_backup_falls_back_to_its_previous_copy(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _interrupted(out, 2)
    _damage_in_place(out / "backup" / "latest.weights.h5")
    result = ut.train(cfg, verbose=0)
    note = [line for line in capsys.readouterr().out.splitlines() if "NOTE" in line]
    assert len(note) == 1 and "latest backup was damaged" in note[0]
    assert result.epochs_run == [1, 2]  # from epoch 1's copy, not from scratch
    assert run_state(out) == "finished"


@pytest.mark.slow
def test_both_backups_damaged_resume_after_the_last_kept_epoch(tmp_path, capsys):
    out = tmp_path / "run"
    cfg = _interrupted(out, 2)
    best_epoch = json.loads((out / "state.json").read_text())["best"]["epoch"]
    for name in ("latest.weights.h5", "latest.weights.h5.bkp"):
        _damage_in_place(out / "backup" / name)
    result = ut.train(cfg, verbose=0)
    assert "resuming after epoch" in capsys.readouterr().out
    assert result.epochs_run == list(range(best_epoch + 1, 3))
    assert [r["epoch"] for r in ut.read_history(out / "history.csv")] == [
        "0",
        "1",
        "2",
    ]


# ------------------------------------------------------------------ config.json torn


@pytest.mark.slow
def test_a_torn_or_missing_config_json_resumes_or_is_overwritten(tmp_path):
    out = tmp_path / "run"
    cfg = _interrupted(out, 2)
    config = out / "config.json"
    config.write_text(config.read_text()[:40])  # cut short by a kill
    assert run_state(out) == "unfinished"
    result = ut.train(cfg, verbose=0)  # settings recovered from state.json
    assert result.epochs_run == [2] and json.loads(config.read_text())["epochs"] == 3

    other = tmp_path / "other"
    cfg = _interrupted(other, 1)
    (other / "config.json").unlink()
    (other / "state.json").write_text("")  # and no copy of the settings either
    with pytest.raises(RunFolderError, match="config.json is missing.*--overwrite"):
        ut.train(cfg, verbose=0)
    assert ut.train(cfg, verbose=0, overwrite=True).epochs_run == [0, 1, 2]


# -------------------------------------------------------------------------------- locks


@pytest.mark.slow
def test_overwrite_takes_the_lock_before_deleting_anything(tmp_path, tiny_run):
    out = tmp_path / "run"
    shutil.copytree(tiny_run.paths["config"].parent, out)
    before = _fingerprint(out)
    cfg = ut.TrainConfig(output_dir=str(out), epochs=2, **TINY)
    with RunLock(out):  # a training writes there
        with pytest.raises(RunFolderError, match="is writing to"):
            ut.train(cfg, verbose=0, overwrite=True)
    assert _fingerprint(out) == before


def test_a_lock_of_an_earlier_process_with_my_pid_is_stale(tmp_path, capsys):
    # a container restart: the killed training ran as this very PID
    lock = tmp_path / "run.lock"
    lock.write_text(f"pid {os.getpid()} on {socket.gethostname()}")
    with RunLock(tmp_path):
        pass
    lock.write_text(json.dumps({"host": socket.gethostname(), "pid": os.getpid()}))
    with RunLock(tmp_path):
        pass
    assert capsys.readouterr().out.count("stale lock") == 2


@pytest.mark.slow
def test_a_recycled_pid_is_not_a_live_training(tmp_path, capsys):
    holder = lock_holder(tmp_path)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        with pytest.raises(RunFolderError, match=f"pid {holder.pid}"):
            RunLock(tmp_path).__enter__()
    finally:
        holder.kill()
        holder.wait()
    # the file names a PID that lives (this process's parent: another process
    # now has it), but no process holds the lock: not a training
    (tmp_path / "run.lock").write_text(f"pid {os.getppid()} on {socket.gethostname()}")
    with RunLock(tmp_path):
        pass
    assert "stale lock" in capsys.readouterr().out


# ----------------------------------------------------------------------- silently wrong


def test_evaluate_refuses_a_model_of_another_class_count():
    import tensorflow as tf

    data = tf.data.Dataset.from_tensor_slices(
        (np.zeros((2, 32, 32, 3), np.float32), np.zeros((2, 32, 32), np.int32))
    ).batch(2)
    # the data's three classes named (without class_names, evaluate takes the
    # model's count); a one-channel model predicts two classes (0 and 1)
    for classes in (5, 1):
        model = ut.build_unet((32, 32, 3), classes, base_filters=4, depth=2)
        predicted = max(classes, 2)
        with pytest.raises(ValueError, match=f"predicts {predicted} classes.* has 3"):
            ut.evaluate(model, data, ut.CLASS_NAMES)


def test_predict_mask_refuses_non_finite_input():
    model = ut.build_unet((32, 32, 3), 3, base_filters=4, depth=2)
    for bad in (np.nan, np.inf):
        image = np.full((40, 40, 3), 0.5, np.float32)
        image[3, 4, 1] = bad
        with pytest.raises(ValueError, match="NaN or infinite"):
            ut.predict_mask(model, image)


# ------------------------------------------------------------------ clear messages


@pytest.mark.slow
def test_a_damaged_keras_file_is_named_as_damaged_not_missing(
    tmp_path, tiny_run, capsys
):
    from unet_tutorial.engine import cli

    cut = tmp_path / "cut.keras"
    whole = tiny_run.paths["best"].read_bytes()
    cut.write_bytes(whole[: len(whole) // 2])
    code = cli.main(["evaluate", str(cut), "--source", "synthetic"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "cut.keras is not a loadable .keras model: it is damaged" in err
    assert "not found" not in err


# -------------------------------------------------------------- hang: peers and SIGTERM


def _closed_port() -> int:
    """A 127.0.0.1 port that nothing listens on (free when asked for)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _unreachable_cluster() -> str:
    """``TF_CONFIG`` of worker 0 in a cluster whose worker 1 never answers."""
    cluster = [f"localhost:{_closed_port()}", f"127.0.0.1:{_closed_port()}"]
    return json.dumps(
        {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": 0}}
    )


def _cli(args: list[str], *, group: bool = False, **env: str) -> subprocess.Popen:
    """The command line in a process of its own; ``group``: in a process group of
    its own too, as a shell runs a command, so ``os.killpg`` can do what Ctrl-C in
    a terminal does (signal every process of the group)."""
    return subprocess.Popen(
        [sys.executable, "-m", "unet_tutorial.engine.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env},
        start_new_session=group,
    )


def test_wait_for_peers_names_the_peer_that_does_not_answer(capsys):
    from unet_tutorial.engine.distribute import (
        cluster_peers,
        parse_tf_config,
        wait_for_peers,
    )

    cfg = parse_tf_config(_unreachable_cluster())
    peer = cfg["cluster"]["worker"][1]
    with pytest.raises(TimeoutError, match=f"worker 1 at {peer} did not answer within"):
        wait_for_peers(cfg["cluster"]["worker"][0], cluster_peers(cfg), 0.3)
    assert f"waiting up to 0.3 s (--connect-timeout) for worker 1 at {peer}" in (
        capsys.readouterr().out
    )


@pytest.mark.slow
def test_an_unreachable_peer_fails_within_the_connect_timeout(tmp_path):
    out = tmp_path / "run"
    tf_config = _unreachable_cluster()
    peer = json.loads(tf_config)["cluster"]["worker"][1]
    args = ["train", "--strategy", "multiworker", "--connect-timeout", "2"]
    proc = _cli([*args, *TINY_CLI, "--output", str(out)], TF_CONFIG=tf_config)
    try:
        stdout, stderr = proc.communicate(timeout=180)
    finally:
        proc.kill()
    assert proc.returncode == 1, stdout + stderr
    assert stderr.count("\n") == 1
    assert f"worker 1 at {peer} did not answer within 2 s" in stderr
    assert not out.exists()


@pytest.mark.slow
def test_sigterm_ends_the_wait_for_peers_with_a_message(tmp_path):
    args = ["train", "--strategy", "multiworker", "--connect-timeout", "600"]
    proc = _cli(
        [*args, *TINY_CLI, "--output", str(tmp_path / "run")],
        TF_CONFIG=_unreachable_cluster(),
    )
    try:
        assert "waiting up to 600 s" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert stderr == (
        "unet-tutorial train: terminated (SIGTERM); run the same command to resume\n"
    )


def _silent_peer() -> socket.socket:
    """A peer whose port answers (the kernel accepts TCP connections for it) but that
    never speaks gRPC: the cluster cannot form.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    return sock


def _cluster_with(peer: socket.socket) -> str:
    """``TF_CONFIG`` of worker 0 in a cluster whose worker 1 is ``peer``."""
    cluster = [f"127.0.0.1:{_closed_port()}", f"127.0.0.1:{peer.getsockname()[1]}"]
    return json.dumps(
        {"cluster": {"worker": cluster}, "task": {"type": "worker", "index": 0}}
    )


@pytest.mark.slow
def test_a_cluster_that_never_forms_ends_within_the_connect_timeout(tmp_path):
    out = tmp_path / "run"
    with _silent_peer() as peer:
        tf_config = _cluster_with(peer)
        args = ["train", "--strategy", "multiworker", "--connect-timeout", "5"]
        proc = _cli([*args, *TINY_CLI, "--output", str(out)], TF_CONFIG=tf_config)
        try:
            stdout, stderr = proc.communicate(timeout=180)
        finally:
            proc.kill()
    address = json.loads(tf_config)["cluster"]["worker"][1]
    # the watchdog ends the worker from outside, with the CLI's exit status for errors
    assert proc.returncode == 1, stdout + stderr[-3000:]
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(
        "unet-tutorial train: error: the cluster did not form within 5 s: worker 1 at "
        f"{address} answered but did not join"
    ), stderr[-3000:]
    assert "raise --connect-timeout" in last and "137" not in last
    assert not out.exists()


@pytest.mark.slow
def test_ctrl_c_ends_a_cluster_that_is_forming_with_a_message(tmp_path):
    """SIGINT while TensorFlow forms the cluster (SIGTERM cannot: TensorFlow takes
    it over there, see ``watch_cluster_forming``; the timeout still holds).
    """
    children = Path("/proc/self/task").exists()
    if not children:
        pytest.skip("needs /proc to see the watchdog process")
    with _silent_peer() as peer:
        args = ["train", "--strategy", "multiworker", "--connect-timeout", "600"]
        proc = _cli(
            [*args, *TINY_CLI, "--output", str(tmp_path / "run")],
            group=True,
            TF_CONFIG=_cluster_with(peer),
        )
        try:
            # The watchdog process is started once the peer has answered, and then
            # SIGINT is given back its default action (the kernel's, not Python's):
            # wait for that, not a fixed time, so a loaded machine cannot make the
            # signal land on Python's handler, which is gone before it could run.
            kids = Path(f"/proc/{proc.pid}/task/{proc.pid}/children")
            for _ in range(1200):
                if proc.poll() is not None or (
                    kids.read_text().split()
                    and not caught_signals(proc.pid) >> (signal.SIGINT - 1) & 1
                ):
                    break
                time.sleep(0.1)
            os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C: the whole group
            _, stderr = proc.communicate(timeout=60)
        finally:
            proc.kill()
    assert proc.returncode == -signal.SIGINT, stderr[-3000:]
    assert (
        stderr.strip()
        .splitlines()[-1]
        .startswith(
            "unet-tutorial train: stopped (Ctrl-C or a kill) while the cluster with "
            "worker 1 at"
        )
    ), stderr[-3000:]
    assert "Traceback" not in stderr  # the watchdog did not get the Ctrl-C


@pytest.mark.slow
def test_sigterm_during_a_training_ends_it_resumably(tmp_path):
    out = tmp_path / "run"
    args = ["train", *TINY_CLI, "--epochs", "500", "--output", str(out)]
    proc = _cli([*args, "--verbose", "2"])
    try:
        for line in proc.stdout:
            if line.startswith("Epoch 2/"):
                break
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 143, stderr[-3000:]
    assert stderr.endswith(
        "unet-tutorial train: terminated (SIGTERM); run the same command to resume\n"
    )
    assert "Traceback" not in stderr
    assert run_state(out) == "unfinished"
    assert not (out / "run.lock").exists()
    assert (out / "backup").exists()  # what a rerun resumes from


# ------------------------------------------------------------------ malformed TF_CONFIG


def test_a_malformed_cluster_address_is_one_clear_line(tmp_path, monkeypatch, capsys):
    from unet_tutorial.engine import cli
    from unet_tutorial.engine.distribute import parse_tf_config

    for bad in ("not a host", "localhost", "localhost:0", "localhost:99999", 12345):
        cfg = {"cluster": {"worker": ["localhost:1234", bad]}}
        cfg["task"] = {"type": "worker", "index": 0}
        with pytest.raises(ValueError, match=f"address of worker 1, {bad!r}, is not"):
            parse_tf_config(json.dumps(cfg))
    monkeypatch.setenv("TF_CONFIG", json.dumps(cfg))
    out = tmp_path / "run"
    code = cli.main(["train", "--strategy", "multiworker", "--output", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "'host:port'" in err
    assert not out.exists()


# ----------------------------------------------------------------- a decompression bomb


def test_an_image_over_pillows_pixel_limit_is_named_and_skipped(tmp_path, monkeypatch):
    from conftest import make_trimap, write_official_layout
    from PIL import Image

    from unet_tutorial.engine.folders import load_pets_directory

    root = write_official_layout(tmp_path, ["cat_1"], ["cat_2", "dog_2"])
    big = np.zeros((200, 200, 3), np.uint8)
    Image.fromarray(big).save(root / "images" / "cat_2.jpg")
    Image.fromarray(make_trimap(200, 200, 10, 12, 30, 40)).save(
        root / "annotations" / "trimaps" / "cat_2.png"
    )
    # 200 x 200 is over twice this limit: Pillow's DecompressionBombError
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    with pytest.raises(ValueError, match=r"cat_2.jpg is too large to decode safely"):
        load_pets_directory(root, "test", image_size=32)
    with pytest.warns(UserWarning, match=r"skipped 1 corrupt.*cat_2"):
        ds = load_pets_directory(root, "test", image_size=32, on_corrupt="skip")
    assert sum(len(x) for x, _ in ds) == 1


# ------------------------------------------------------------- sizes beyond the machine


@pytest.mark.parametrize(
    "base_filters, depth, channels, classes, skips",
    [(4, 2, 3, 3, True), (16, 4, 3, 3, True), (8, 3, 1, 5, False), (6, 1, 4, 1, True)],
)
def test_the_parameter_count_in_closed_form_is_keras_count(
    base_filters, depth, channels, classes, skips
):
    from unet_tutorial.footprint import unet_parameters

    model = ut.build_unet(
        (32, 32, channels),
        classes,
        base_filters=base_filters,
        depth=depth,
        skip_connections=skips,
    )
    assert model.count_params() == unet_parameters(
        base_filters, depth, channels, classes, skip_connections=skips
    )


@pytest.mark.parametrize(
    "args, lower",
    [
        (["summary", "--depth", "10", "--size", "1024"], "base_filters or depth"),
        (["summary", "--depth", "12", "--size", "4096"], "base_filters or depth"),
        (["summary", "--base-filters", "100000"], "base_filters or depth"),
        (["train", "--size", "100000"], "image_size, batch_size, base_filters"),
    ],
)
def test_sizes_beyond_the_machine_are_refused_at_once(
    args, lower, tmp_path, monkeypatch, capsys
):
    from unet_tutorial.engine import cli

    monkeypatch.setattr("unet_tutorial.footprint.machine_memory", lambda: 16e9)
    monkeypatch.setattr("unet_tutorial.footprint.available_memory", lambda: 16e9)
    out = tmp_path / "run"
    extra = ["--output", str(out)] if args[0] == "train" else []
    assert cli.main(args + extra) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "GB of memory, more than this machine's 16.0 GB; lower " + lower in err
    assert not out.exists()
    # what the presets ask for fits
    for preset in ("full", "cpu", "cpu-synthetic"):
        ut.TrainConfig.preset(preset).validate()


def test_a_full_disk_names_the_file_and_says_the_run_resumes(tmp_path):
    import errno

    def full(part: Path) -> None:
        part.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError) as err:
        files.atomic_write(tmp_path / "best.keras", full)
    assert err.value.errno == errno.ENOSPC
    assert f"while writing {tmp_path / 'best.keras'}" in str(err.value)
    assert "run the same command again (a run resumes where it stopped)" in str(
        err.value
    )
    assert list(tmp_path.iterdir()) == []
