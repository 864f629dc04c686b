"""Distribution (unet_tutorial.engine.distribute and the core's replica helpers):
TF_CONFIG, strategies, worker roles, local clusters, sharding by data, synchronised
batch norm, and one run under a mirrored strategy.

The two-process training itself is in ``test_multiworker.py``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY, caught_signals

import unet_tutorial as ut
from unet_tutorial.engine.distribute import (
    COLLECTIVES,
    STRATEGIES,
    WorkerRole,
    local_cluster,
    make_strategy,
    parse_tf_config,
    prepare_multi_worker_fit,
    run_local_workers,
    worker_role,
    worker_scratch_dir,
)


def test_tf_config_is_checked_with_a_message_that_shows_the_form():
    good = local_cluster(2)[1]
    assert parse_tf_config(good)["task"]["index"] == 1
    for bad, says in [
        ("", "needs TF_CONFIG"),
        ("{not json", "not valid JSON"),
        ('{"task": {"type": "worker", "index": 0}}', "'cluster'"),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
            "must name a job",
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
            "0 .. 0",
        ),
        (
            '{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": true}}',
            "0 .. 0",
        ),
    ]:
        with pytest.raises(ValueError, match=says) as err:
            parse_tf_config(bad)
        assert '"cluster"' in str(err.value) or "index" in str(err.value)


def test_make_strategy_refuses_bad_names_and_a_missing_tf_config(monkeypatch):
    with pytest.raises(ValueError, match="default, mirrored, multiworker"):
        make_strategy("horovod")
    with pytest.raises(ValueError, match="auto, ring, nccl"):
        make_strategy("multiworker", collective="gloo")
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="needs TF_CONFIG"):
        make_strategy("multiworker")


def test_a_local_cluster_gives_each_worker_its_own_port_and_index():
    configs = [json.loads(c) for c in local_cluster(3)]
    hosts = configs[0]["cluster"]["worker"]
    assert len(set(hosts)) == 3 and all(
        c["cluster"]["worker"] == hosts for c in configs
    )
    assert [c["task"] for c in configs] == [
        {"type": "worker", "index": i} for i in range(3)
    ]
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            local_cluster(bad)


@pytest.mark.slow
def test_run_local_workers_starts_one_process_per_worker_and_stops_them_at_the_timeout(
    tmp_path,
):
    echo = [
        sys.executable,
        "-c",
        "import json, os; print(json.loads(os.environ['TF_CONFIG'])['task']['index'])",
    ]
    runs = run_local_workers(echo, 3, timeout=60)
    assert [(r.index, r.returncode, r.output.strip()) for r in runs] == [
        (i, 0, str(i)) for i in range(3)
    ]
    # workers that would write a file after 3 s are stopped at the 1 s timeout: the file never appears
    late = "import json, os, time; time.sleep(3); open(os.environ['MARK'] + os.environ['TF_CONFIG'][-3], 'w')"
    with pytest.raises(TimeoutError, match="still ran after 1 s"):
        run_local_workers(
            [sys.executable, "-c", late],
            2,
            timeout=1,
            env={"MARK": str(tmp_path / "late-")},
        )
    time.sleep(4)
    assert not list(tmp_path.glob("late-*"))


def test_one_process_is_its_own_chief():
    import tensorflow as tf

    role = worker_role(tf.distribute.get_strategy())
    assert role == WorkerRole(None, 0, True, 1)
    assert worker_scratch_dir("runs/pets", WorkerRole("worker", 1, False, 2)) == Path(
        "runs/.pets.worker-1"
    )


class _Captured(Exception):
    pass


@pytest.mark.parametrize("source", ["synthetic", "folder"])
def test_train_gives_fit_datasets_sharded_by_data_for_every_source(
    source, pets_dir, tmp_path, monkeypatch
):
    """Between workers, what ``train`` hands ``fit`` is split by element (never by file), whatever the source."""
    import keras
    import tensorflow as tf

    seen = {}

    def fake_fit(self, x, *args, validation_data=None, **kwargs):
        seen.update(train=x, validation=validation_data)
        raise _Captured

    monkeypatch.setattr(keras.Model, "fit", fake_fit)
    settings = {**TINY, "source": str(pets_dir) if source == "folder" else "synthetic"}
    if source == "folder":
        settings["num_examples"] = None
    with pytest.raises(_Captured):
        ut.train(
            ut.TrainConfig(epochs=1, output_dir=str(tmp_path / "run"), **settings),
            verbose=0,
        )
    data = tf.data.experimental.AutoShardPolicy.DATA
    assert seen["train"].options().experimental_distribute.auto_shard_policy == data
    assert (
        seen["validation"].options().experimental_distribute.auto_shard_policy == data
    )


def test_the_names_are_the_settings_names():
    from unet_tutorial.engine import config

    assert STRATEGIES is config.STRATEGIES and COLLECTIVES is config.COLLECTIVES
    assert COLLECTIVES == ("auto", "ring", "nccl")
    assert (
        ut.engine.STRATEGIES == STRATEGIES and ut.engine.make_strategy is make_strategy
    )


def test_one_process_needs_no_multi_worker_workaround():
    import tensorflow as tf

    model = ut.build_unet((16, 16, 3), base_filters=2, depth=1)
    before = model._maybe_symbolic_build
    prepare_multi_worker_fit(model, tf.distribute.get_strategy(), None)
    assert model._maybe_symbolic_build == before  # untouched: nothing to work around


def test_shard_by_data_and_synchronized_batch_norm():
    import keras
    import tensorflow as tf

    ds = ut.shard_by_data(tf.data.Dataset.range(4))
    policy = ds.options().experimental_distribute.auto_shard_policy
    assert policy == tf.data.experimental.AutoShardPolicy.DATA
    assert list(ds.as_numpy_iterator()) == [0, 1, 2, 3]  # alone, nothing is dropped
    model = ut.build_unet((16, 16, 3), base_filters=2, depth=1)
    norms = [
        layer
        for layer in model._flatten_layers(include_self=False)
        if isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert len(norms) == 6 and not any(n.synchronized for n in norms)
    assert ut.synchronize_batch_norm(model) == 6
    assert all(n.synchronized for n in norms)
    plain = ut.build_unet((16, 16, 3), base_filters=2, depth=1, batch_norm=False)
    assert ut.synchronize_batch_norm(plain) == 0


# --------------------------------------------------------------------- a mirrored run


MIRRORED = textwrap.dedent(
    """
    import sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import unet_tutorial as ut

    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cfg = ut.TrainConfig(epochs=1, output_dir=sys.argv[1], base_filters=4, depth=2, image_size=32,
                         batch_size=8, source="synthetic", num_examples=(16, 8, 8), snapshot_images=2)
    result = ut.train(cfg, strategy=strategy, verbose=0)
    print("REPLICAS", strategy.num_replicas_in_sync)
    print("LOSS", result.history["loss"][0])
    """
)


@pytest.mark.slow
def test_training_runs_unchanged_under_a_mirrored_strategy_on_two_cpus(tmp_path):
    script = tmp_path / "mirrored.py"
    script.write_text(MIRRORED)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "run")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "REPLICAS 2" in proc.stdout
    loss = float(proc.stdout.split("LOSS")[1].split()[0])
    assert np.isfinite(loss)


def test_chief_decision_outside_a_cluster_passes_the_decision_through():
    import tensorflow as tf

    from unet_tutorial.engine.distribute import chief_decision

    strategy = tf.distribute.get_strategy()
    assert chief_decision(strategy, 2) == (2, 0)
    assert chief_decision(strategy, 2, refused=True) == (0, 1)
    with pytest.raises(ValueError, match="decision must be an integer >= 0"):
        chief_decision(strategy, -1)


_HOLDS_THE_INTERPRETER = textwrap.dedent(
    """
    import ctypes, signal, sys
    from unet_tutorial.engine.distribute import Peer, watch_cluster_forming

    before = signal.getsignal(signal.SIGHUP)  # SIG_IGN under nohup, else SIG_DFL

    peers = [Peer("worker", 1, "localhost:1")]
    with watch_cluster_forming(peers, float(sys.argv[1]), program="prog train"):
        # PyDLL keeps the interpreter held, as TensorFlow does while the cluster forms
        ctypes.PyDLL(None).sleep(int(sys.argv[2]))
    print("left the block", flush=True)
    # after the block, SIGHUP is back to what it was before it
    assert signal.getsignal(signal.SIGHUP) == before
    """
)


def _hold(timeout: float, seconds: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[1]), env.get("PYTHONPATH", "")]
    )
    return subprocess.run(
        [sys.executable, "-c", _HOLDS_THE_INTERPRETER, str(timeout), str(seconds)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="the watchdog needs POSIX signals")
def test_the_forming_watchdog_ends_a_held_process_with_one_error_line_and_status_1():
    run = _hold(timeout=1, seconds=120)
    assert run.returncode == 1, run.stderr[-3000:]
    assert "left the block" not in run.stdout
    line = run.stderr.strip().splitlines()[-1]
    assert line.startswith(
        "prog train: error: the cluster did not form within 1 s: worker 1 at "
        "localhost:1 answered but did not join"
    ), run.stderr[-3000:]
    assert "raise --connect-timeout" in line
    # a block that ends in time is left alone, and SIGHUP is given back
    run = _hold(timeout=60, seconds=0)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "left the block" in run.stdout
    assert "prog train" not in run.stderr


@pytest.mark.skipif(
    not hasattr(signal, "SIGHUP") or not Path("/proc/self/status").exists(),
    reason="needs POSIX signals and /proc",
)
def test_the_forming_watchdog_leaves_every_handler_as_it_was_when_it_cannot_start(
    monkeypatch,
):
    from unet_tutorial.engine import distribute
    from unet_tutorial.engine.distribute import Peer, watch_cluster_forming

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    kernel = caught_signals()

    def no_pipe():
        raise OSError(24, "Too many open files")

    for broken in ("pipe", "Popen"):
        with monkeypatch.context() as m:
            if broken == "pipe":
                m.setattr(distribute.os, "pipe", no_pipe)
            else:
                m.setattr(distribute.subprocess, "Popen", lambda *a, **k: no_pipe())
            with pytest.raises(OSError, match="Too many open files"):
                with watch_cluster_forming([Peer("worker", 1, "127.0.0.1:1")], 5.0):
                    pass
        assert {s: signal.getsignal(s) for s in before} == before, broken
        assert caught_signals() == kernel, broken  # SIGHUP's handler is set in C
