"""Multi-worker training, proven with two worker processes on this machine.

Every test here is ``slow`` (they train, about 20 s each): they start
``tests/multiworker_job.py`` twice, each with its own ``TF_CONFIG`` (free
localhost ports, the CPU ring all-reduce), training one ``TINY`` run together
into one folder.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import unet_tutorial as ut
from unet_tutorial.engine.distribute import local_cluster, run_local_workers
from unet_tutorial.engine.runs import run_state

pytestmark = pytest.mark.slow  # every test here starts two training processes

JOB = Path(__file__).with_name("multiworker_job.py")
ROOT = Path(__file__).resolve().parents[1]


def _start(args: list[str], tf_config: str, log: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "TF_CONFIG": tf_config,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "CUDA_VISIBLE_DEVICES": "",
    }
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return subprocess.Popen(
        args, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT
    )


def _wait(
    procs: list[subprocess.Popen], logs: list[Path], timeout: float = 240
) -> list[int]:
    deadline = time.monotonic() + timeout
    try:
        return [p.wait(timeout=max(1.0, deadline - time.monotonic())) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
        pytest.fail(f"the workers did not finish in {timeout:.0f} s\n{tails}")


def _run_job(
    tmp: Path,
    run_dir: Path,
    epochs: int,
    tag: str,
    kill: dict[int, int] | None = None,
    options: dict[int, list[str]] | None = None,
):
    """Start both workers of one job; worker i kills itself at epoch ``kill[i]`` and
    gets the extra arguments ``options[i]``. Returns (procs, logs).
    """
    procs, logs = [], []
    for i, tf_config in enumerate(local_cluster(2)):
        log = tmp / f"{tag}-worker{i}.log"
        extra = ["--kill-at", str(kill[i])] if kill and i in kill else []
        extra += (options or {}).get(i, [])
        args = [
            sys.executable,
            str(JOB),
            str(run_dir),
            str(tmp / f"{tag}-own{i}"),
            str(epochs),
            *extra,
        ]
        procs.append(_start(args, tf_config, log))
        logs.append(log)
    return procs, logs


def _backup_epoch(metadata: Path) -> int | None:
    try:
        return json.loads(metadata.read_text()).get("epoch")
    except (OSError, ValueError):
        return None


def _history_epochs(run_dir: Path) -> list[int]:
    with open(run_dir / "history.csv", newline="") as f:
        return [int(row["epoch"]) for row in csv.DictReader(f)]


def _weights(path: Path) -> list[np.ndarray]:
    with np.load(path) as z:
        return [z[k] for k in sorted(z.files, key=lambda k: int(k.split("_")[1]))]


def _assert_same_weights(a: Path, b: Path) -> None:
    wa, wb = _weights(a), _weights(b)
    assert len(wa) == len(wb) > 0
    for x, y in zip(wa, wb, strict=True):
        np.testing.assert_array_equal(x, y)


def test_two_workers_train_one_run_and_end_with_the_same_weights(tmp_path):
    run_dir = tmp_path / "run"
    procs, logs = _run_job(tmp_path, run_dir, epochs=2, tag="a")
    codes = _wait(procs, logs)
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)

    # one history, written once, one row per epoch; the run is finished and has one config
    assert _history_epochs(run_dir) == [0, 1]
    assert run_state(run_dir) == "finished"
    assert json.loads((run_dir / "config.json").read_text())["replicas"] == 2
    assert (run_dir / "test.json").is_file() and (run_dir / "best.keras").is_file()
    # the other worker wrote to its own scratch folder and removed it
    assert not list(tmp_path.glob(".run.*"))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []

    results = [
        json.loads((tmp_path / f"a-own{i}" / "result.json").read_text())
        for i in range(2)
    ]
    assert [r["chief"] for r in results] == [True, False]
    assert [r["replicas"] for r in results] == [2, 2]
    assert results[0]["epochs_run"] == results[1]["epochs_run"] == [0, 1]
    _assert_same_weights(
        tmp_path / "a-own0" / "weights.npz", tmp_path / "a-own1" / "weights.npz"
    )
    # and the chief's final.keras holds those weights
    final = ut.load_run_model(run_dir / "final.keras").get_weights()
    for x, y in zip(final, _weights(tmp_path / "a-own0" / "weights.npz"), strict=True):
        np.testing.assert_array_equal(x, y)


def test_a_killed_worker_and_a_restart_of_both_resume_from_the_last_finished_epoch(
    tmp_path,
):
    run_dir = tmp_path / "run"
    # worker 1 dies (SIGKILL) after the first batch of epoch 2; epochs 0 and 1 are finished and backed up
    procs, logs = _run_job(tmp_path, run_dir, epochs=4, tag="k", kill={1: 2})
    assert procs[1].wait(timeout=240) == -signal.SIGKILL, logs[1].read_text()[-3000:]
    # the chief, waiting for its peer in epoch 2, holds the backup of epoch 2's start; then it is killed too
    metadata = run_dir / "backup" / "training_metadata.json"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and _backup_epoch(metadata) != 2:
        time.sleep(0.5)
    procs[0].kill()
    procs[0].wait()
    assert json.loads(metadata.read_text())["epoch"] == 2
    assert _history_epochs(run_dir) == [0, 1]
    assert run_state(run_dir) == "unfinished"

    procs, logs = _run_job(tmp_path, run_dir, epochs=4, tag="r")
    codes = _wait(procs, logs)
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    results = [
        json.loads((tmp_path / f"r-own{i}" / "result.json").read_text())
        for i in range(2)
    ]
    assert results[0]["epochs_run"] == results[1]["epochs_run"] == [2, 3]
    assert _history_epochs(run_dir) == [0, 1, 2, 3]
    assert run_state(run_dir) == "finished"
    assert not (run_dir / "backup").exists()
    # the crashed worker's scratch folder was cleared and removed
    assert not list(tmp_path.glob(".run.*"))
    _assert_same_weights(
        tmp_path / "r-own0" / "weights.npz", tmp_path / "r-own1" / "weights.npz"
    )


def test_a_kill_while_the_chief_scores_the_test_split_is_completed_by_both_workers(
    tmp_path,
):
    """The chief dies after the last epoch, in the test scoring; the rerun of both
    workers only scores the test split (no worker trains again) and both exit.
    """
    run_dir = tmp_path / "run"
    procs, logs = _run_job(
        tmp_path, run_dir, epochs=2, tag="t", options={0: ["--kill-in-test"]}
    )
    codes = _wait(procs, logs)
    assert codes[0] == -signal.SIGKILL, logs[0].read_text()[-3000:]
    assert "KILLED in the test scoring" in logs[0].read_text()
    assert run_state(run_dir) == "unfinished"
    assert (run_dir / "final.keras").is_file() and not (run_dir / "test.json").exists()
    history = (run_dir / "history.csv").read_bytes()
    final = (run_dir / "final.keras").read_bytes()

    procs, logs = _run_job(tmp_path, run_dir, epochs=2, tag="u")
    codes = _wait(procs, logs, timeout=180)
    assert codes == [0, 0], "\n".join(log.read_text()[-3000:] for log in logs)
    results = [
        json.loads((tmp_path / f"u-own{i}" / "result.json").read_text())
        for i in range(2)
    ]
    assert results[0]["epochs_run"] == results[1]["epochs_run"] == []
    assert run_state(run_dir) == "finished" and (run_dir / "test.json").is_file()
    assert (run_dir / "history.csv").read_bytes() == history
    assert (run_dir / "final.keras").read_bytes() == final
    assert not (run_dir / "backup").exists()
    assert not list(tmp_path.glob(".run.*"))
    _assert_same_weights(
        tmp_path / "u-own0" / "weights.npz", tmp_path / "u-own1" / "weights.npz"
    )


def test_the_cli_trains_with_two_workers(tmp_path):
    """``unet-tutorial train --strategy multiworker`` with TF_CONFIG from the environment."""
    run_dir = tmp_path / "cli-run"
    cli = [sys.executable, "-m", "unet_tutorial.engine.cli", "train", "--strategy", "multiworker", "--collective", "ring",
           "--source", "synthetic", "--epochs", "1", "--base-filters", "4", "--depth", "2", "--size", "32",
           "--batch-size", "8", "--synthetic-examples", "16", "8", "8", "--output", str(run_dir)]  # fmt: skip
    runs = run_local_workers(cli, 2, timeout=240)
    assert [r.returncode for r in runs] == [0, 0], "\n".join(
        r.output[-3000:] for r in runs
    )
    assert _history_epochs(run_dir) == [0]
    assert run_state(run_dir) == "finished"
    assert "worker 0 of 2 workers, the chief: writes the run folder" in runs[0].output
    assert (
        "worker 1 of 2 workers: trains with the chief and writes nothing"
        in runs[1].output
    )
    assert (
        "test split (scored once" in runs[0].output
        and "test split" not in runs[1].output
    )
    # again, without --overwrite: both refuse the finished run (a worker that went on would wait forever)
    finished = sorted((p.name, p.stat().st_mtime_ns) for p in run_dir.iterdir())
    again = run_local_workers(cli, 2, timeout=240)
    assert [r.returncode for r in again] == [2, 2]
    assert all("holds a finished run" in r.output for r in again)
    assert sorted((p.name, p.stat().st_mtime_ns) for p in run_dir.iterdir()) == finished


@pytest.mark.parametrize("victim", [0, 1], ids=["chief", "other"])
def test_sigterm_to_one_worker_ends_both_with_one_line_each_and_a_resumable_run(
    tmp_path, victim
):
    """``kill -TERM`` of one worker of ``unet-tutorial train --strategy multiworker``.

    TensorFlow's multi-worker runtime has a SIGTERM handler of its own (its
    preemption notice, which only records the signal); the command line's
    handler is installed again once the cluster has formed, so the signalled
    worker stops after its current step with the usual message, and the
    other, whose next collective step fails, stops with one line, not a
    traceback.
    """
    run_dir = tmp_path / "run"
    cli = [sys.executable, "-m", "unet_tutorial.engine.cli", "train", "--strategy", "multiworker", "--collective", "ring",
           "--source", "synthetic", "--epochs", "500", "--base-filters", "4", "--depth", "2", "--size", "32",
           "--batch-size", "8", "--synthetic-examples", "16", "8", "8", "--output", str(run_dir), "--verbose", "2"]  # fmt: skip
    logs = [tmp_path / f"worker{i}.log" for i in range(2)]
    procs = [
        _start(cli, tf_config, log)
        for tf_config, log in zip(local_cluster(2), logs, strict=True)
    ]
    try:
        deadline = time.monotonic() + 240
        while "Epoch 2/" not in logs[victim].read_text():  # epoch 0 is backed up
            alive = time.monotonic() < deadline and procs[victim].poll() is None
            assert alive, logs[victim].read_text()[-3000:]
            time.sleep(0.2)
        procs[victim].send_signal(signal.SIGTERM)
        codes = _wait(procs, logs, timeout=180)
    finally:
        for p in procs:
            p.kill()
    texts = [log.read_text() for log in logs]
    other = 1 - victim
    assert codes[victim] == 143, texts[victim][-3000:]
    assert texts[victim].endswith(
        "unet-tutorial train: terminated (SIGTERM); run the same command to resume\n"
    )
    assert codes[other] == 1, texts[other][-3000:]
    last = texts[other].strip().splitlines()[-1]
    assert last.startswith(
        "unet-tutorial train: error: another worker stopped or could not be reached "
        "during training"
    ), texts[other][-3000:]
    assert "can be resumed" in last
    assert not any("Traceback" in t for t in texts)
    assert run_state(run_dir) == "unfinished"
    assert not (run_dir / "run.lock").exists()
