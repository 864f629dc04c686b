"""Distributed training: strategies, worker roles and local clusters. The chief writes
the run folder, which every worker must see; the others a ``worker_scratch_dir``."""

from __future__ import annotations

import contextlib
import ctypes
import functools
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from ..checks import is_whole

# the names, TensorFlow-free, live with the settings (the command line lists them)
from .config import COLLECTIVES, STRATEGIES


@dataclass(frozen=True)
class WorkerRole:
    """Which process this is in a cluster. ``task_type``: ``"worker"`` or ``"chief"``
    (``None`` outside one); ``is_chief``: this process writes the run folder."""

    task_type: str | None = None
    task_id: int = 0
    is_chief: bool = True
    num_workers: int = 1


_TF_CONFIG_FORM = (
    'TF_CONFIG=\'{"cluster": {"worker": ["localhost:12345", "localhost:23456"]}, '
    '"task": {"type": "worker", "index": 0}}\''
)


def parse_tf_config(text: str | None = None) -> dict:
    """Read and check ``TF_CONFIG`` (the environment's unless ``text`` is given)."""
    text = os.environ.get("TF_CONFIG") if text is None else text
    problem = _tf_config_problem(text)
    if problem:
        raise ValueError(f"{problem}; expected e.g. {_TF_CONFIG_FORM}")
    return json.loads(text)


def _tf_config_problem(text: str | None) -> str | None:
    if not text:
        return "multi-worker training needs TF_CONFIG in every worker's environment"
    try:
        cfg = json.loads(text)
    except ValueError as err:
        return f"TF_CONFIG is not valid JSON ({err})"
    cfg = cfg if isinstance(cfg, dict) else {}
    cluster, task = cfg.get("cluster"), cfg.get("task")
    jobs = list(cluster.values()) if isinstance(cluster, dict) else []
    if not jobs or not all(isinstance(job, list) and job for job in jobs):
        return "TF_CONFIG needs a 'cluster' of job name -> list of 'host:port'"
    if not isinstance(task, dict) or task.get("type") not in cluster:
        return (
            f"TF_CONFIG's 'task' must name a job of the cluster ({', '.join(cluster)}) "
            f"as 'type', got {task!r}"
        )
    index, size = task.get("index"), len(cluster[task["type"]])
    if not is_whole(index, 0) or index >= size:
        return (
            f"TF_CONFIG's task index must be 0 .. {size - 1} for job "
            f"{task['type']!r}, got {index!r}"
        )
    for job, addresses in cluster.items():
        for i, address in enumerate(addresses):
            if split_address(address) is None:
                return (
                    f"TF_CONFIG's address of {job} {i}, {address!r}, is not "
                    "'host:port' (a host name or IP address, a colon, a port 1-65535)"
                )
    return None


_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")  # [IPv6] too


def split_address(address: object) -> tuple[str, int] | None:
    """``(host, port)`` of a ``host:port`` address (port 1 .. 65535), else ``None``."""
    match = _ADDRESS.fullmatch(address) if isinstance(address, str) else None
    if match is None or not 1 <= int(match.group(2)) <= 65535:
        return None
    return match.group(1).strip("[]"), int(match.group(2))


@dataclass(frozen=True)
class Peer:
    """Another task of the cluster: its job, index and ``host:port``."""

    job: str
    index: int
    address: str

    def __str__(self) -> str:
        return f"{self.job} {self.index} at {self.address}"


def cluster_peers(cfg: dict) -> list[Peer]:
    """Every task of a checked ``TF_CONFIG`` (``parse_tf_config``) but this one."""
    me = (cfg["task"]["type"], cfg["task"]["index"])
    return [
        Peer(job, i, address)
        for job, addresses in cfg["cluster"].items()
        for i, address in enumerate(addresses)
        if (job, i) != me
    ]


def answers(address: str, timeout: float = 1.0) -> bool:
    """Whether something accepts a TCP connection at ``host:port`` in ``timeout`` s."""
    host, port = split_address(address) or ("", 0)
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout):
        return True
    return False


def wait_for_peers(own: str, peers: list[Peer], timeout: float) -> None:
    """Wait at most ``timeout`` s for every peer to answer (``TimeoutError`` names one
    that did not), answering at ``own``. TensorFlow's wait has no limit."""
    deadline = time.monotonic() + timeout
    listener = None
    with contextlib.suppress(OSError):  # None: TensorFlow took the port already
        listener = socket.create_server(("", (split_address(own) or ("", 0))[1]))
        listener.setblocking(False)
    with listener or contextlib.nullcontext():
        silent = [p for p in peers if not answers(p.address, 0.5)]
        if silent:
            waiting = f"waiting up to {timeout:g} s (--connect-timeout) for "
            print(waiting + ", ".join(map(str, silent)), flush=True)
        while silent:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{silent[0]} did not answer within {timeout:g} s: start the same "
                    "command there (with its own TF_CONFIG), check the address and "
                    "the firewall, or raise --connect-timeout"
                )
            with contextlib.suppress(OSError):  # answer those waiting, then go on
                while listener is not None:
                    listener.accept()[0].close()
            time.sleep(0.2)
            silent = [p for p in silent if not answers(p.address, 0.5)]


# watch_cluster_forming's watchdog: a process, as the one it watches holds the GIL
_WATCHDOG = """
import contextlib, os, select, signal, sys
pid, done, stop = (int(a) for a in sys.argv[1:4])
timeout, late, ended = float(sys.argv[4]), sys.argv[5], sys.argv[6]
if not select.select([done], [], [], timeout)[0]:  # still forming: end the process
    print(late, file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        os.kill(pid, stop)
        # the pipe closes when the process has ended; SIGKILL if it has not
        if stop != signal.SIGKILL and not select.select([done], [], [], 10)[0]:
            os.kill(pid, signal.SIGKILL)
elif not os.read(done, 16):  # the process ended while it waited
    print(ended, file=sys.stderr, flush=True)
"""


def _exit_1_on_sighup() -> Callable[[], object] | None:
    """Make SIGHUP end this process with status 1 even while C++ holds the interpreter
    (libc's ``_exit``); what puts the old handler back, ``None`` if that cannot be."""
    if getattr(signal, "SIGHUP", None) != 1:
        return None
    try:
        libc = ctypes.CDLL(None)
        install, exit_now = libc.signal, libc._exit
    except (OSError, AttributeError):
        return None
    install.restype = ctypes.c_void_p
    install.argtypes = [ctypes.c_int, ctypes.c_void_p]
    previous = install(1, ctypes.cast(exit_now, ctypes.c_void_p).value)
    if previous == ctypes.c_void_p(-1).value:  # SIG_ERR
        return None
    return lambda: install(1, previous)


@contextlib.contextmanager
def watch_cluster_forming(
    peers: list[Peer], timeout: float, *, program: str = "make_strategy"
) -> Iterator[None]:
    """Bound TensorFlow's forming of the cluster to ``timeout`` s. It waits in C++
    holding the interpreter, so a watchdog process says why and ends this one with
    status 1 (SIGHUP; else SIGKILL). Ctrl-C ends it at once; the watchdog says so."""
    names = ", ".join(map(str, peers)) or "the other workers"
    main = threading.current_thread() is threading.main_thread()
    restore_hup = _exit_1_on_sighup() if main else None
    stop = signal.SIGKILL if restore_hup is None else signal.SIGHUP
    how = "" if restore_hup else " (killed: exit status 137)"
    late = (
        f"{program}: error: the cluster did not form within {timeout:g} s: {names} "
        "answered but did not join (is the same command running there, with its "
        f"own TF_CONFIG and the same cluster?); stopped{how}. Start every worker "
        "again, or raise --connect-timeout"
    )
    ended = (
        f"{program}: stopped (Ctrl-C or a kill) while the cluster with {names} was "
        "forming; nothing was written. Run the same command to start again"
    )
    with contextlib.ExitStack() as undo:  # undone in reverse order, on any exit
        if restore_hup:
            undo.callback(restore_hup)
        read, write = os.pipe()
        # Python's handlers cannot run until TensorFlow returns; swapped before the
        # watchdog starts, as a signal caught by a handler being removed is dropped
        for sig in (signal.SIGTERM, signal.SIGINT) if main else ():
            undo.callback(signal.signal, sig, signal.signal(sig, signal.SIG_DFL))
        undo.callback(os.close, write)
        undo.callback(os.close, read)
        # in its own session, out of reach of a Ctrl-C sent to our foreground group
        watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(read)]
            + [str(int(stop)), str(timeout), late, ended],
            pass_fds=(read,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        undo.callback(watchdog.wait)  # after this, no SIGHUP can come from it
        try:
            yield
        finally:  # formed, or failed with an error of its own
            with contextlib.suppress(OSError):  # a watchdog that died
                os.write(write, b"done")


CONNECT_TIMEOUT = 60.0
"""Seconds ``make_strategy("multiworker")`` waits for the other workers by default."""


def make_strategy(
    name: str = "default",
    *,
    collective: str = "auto",
    connect_timeout: float = CONNECT_TIMEOUT,
    program: str = "make_strategy",
) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for a name. ``"default"``: one device;
    ``"mirrored"``: this machine's GPUs, or its CPU; ``"multiworker"``: one replica per
    ``TF_CONFIG`` process, all-reduced by ``collective``, waiting ``connect_timeout`` s
    at most for the others to answer, as long to form. Make it before other TF work."""
    choices = {"strategy": (name, STRATEGIES), "collective": (collective, COLLECTIVES)}
    for what, (value, known) in choices.items():
        if value not in known:
            raise ValueError(f"{what} must be one of {', '.join(known)}, got {value!r}")
    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if isinstance(connect_timeout, bool) or not (
        isinstance(connect_timeout, int | float) and 0 < connect_timeout < float("inf")
    ):
        raise ValueError(
            f"connect_timeout (--connect-timeout) must be a positive number of "
            f"seconds, got {connect_timeout!r}"
        )
    cfg = parse_tf_config()
    options = tf.distribute.experimental.CommunicationOptions(implementation=collective)
    peers = cluster_peers(cfg)
    own = cfg["cluster"][cfg["task"]["type"]][cfg["task"]["index"]]
    wait_for_peers(own, peers, connect_timeout)
    with watch_cluster_forming(peers, connect_timeout, program=program):
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` spans several processes (multi-worker, with a cluster)."""
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


def worker_role(strategy: tf.distribute.Strategy) -> WorkerRole:
    """This process's ``WorkerRole`` (chief and alone unless multi-worker)."""
    if not is_multi_worker(strategy):
        return WorkerRole()
    resolver = strategy.cluster_resolver
    task_type, task_id = resolver.task_type, int(resolver.task_id or 0)
    jobs = resolver.cluster_spec().as_dict()
    chief = task_type == "chief" or (
        task_type == "worker" and task_id == 0 and "chief" not in jobs
    )
    count = sum(len(jobs.get(job, [])) for job in ("chief", "worker"))
    return WorkerRole(task_type, task_id, chief, count)


def chief_decision(
    strategy: tf.distribute.Strategy, decision: int, *, refused: bool = False
) -> tuple[int, int]:
    """The chief's ``decision`` (0 if it refused) on every worker, and how many refused.
    Workers see the run folder at different moments: a decision that changes their
    collective steps is the chief's. Every worker calls it at the same point."""
    if not is_whole(decision, 0):
        raise ValueError(f"decision must be an integer >= 0, got {decision!r}")
    role = worker_role(strategy)
    if role.num_workers <= 1:
        return (0 if refused else decision), int(refused)
    chosen = 0.0 if refused or not role.is_chief else float(decision)
    mine = tf.constant([chosen, float(refused)])
    total = strategy.reduce("SUM", strategy.run(lambda: tf.identity(mine)), axis=None)
    return tuple(int(round(v)) for v in total.numpy())


def worker_scratch_dir(output_dir: str | os.PathLike, role: WorkerRole) -> Path:
    """A non-chief worker's copy of the run: ``runs/.pets.worker-1`` for ``runs/pets``
    (deleted at the end, or by the next start after a crash)."""
    out = Path(output_dir)
    return out.parent / f".{out.name}.{role.task_type}-{role.task_id}"


def prepare_multi_worker_fit(
    model, strategy: tf.distribute.Strategy, element_spec
) -> None:
    """Before ``fit`` under ``MultiWorkerMirroredStrategy``, work around two Keras 3
    bugs: build from ``element_spec`` (keras-team/keras#20585), average step scalars
    with ``axis=None``."""
    if not is_multi_worker(strategy):
        return
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    if not getattr(original, "_unet_tutorial", False):  # once per process
        reduce_per_replica._unet_tutorial = True
        trainer.reduce_per_replica = reduce_per_replica

    def build_from_spec(iterator=None, data_batch=None) -> None:
        with strategy.scope():
            model._symbolic_build(data_batch=element_spec)
            model.optimizer.build(model.trainable_variables)
        # built: later calls (fit's evaluation, a second fit) have nothing to do
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    model._maybe_symbolic_build = build_from_spec


@dataclass(frozen=True)
class WorkerRun:
    """What one local worker process did: its index, exit code and all it printed."""

    index: int
    returncode: int
    output: str


def local_cluster(num_workers: int = 2) -> list[str]:
    """``TF_CONFIG`` strings for ``num_workers`` workers on this machine, one free
    localhost port each (free when asked for: another program could still take it)."""
    if not is_whole(num_workers, 1):
        raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
    with contextlib.ExitStack() as held:  # all bound at once: each its own port
        bound = (socket.create_server(("localhost", 0)) for _ in range(num_workers))
        ports = [held.enter_context(s).getsockname()[1] for s in bound]
    cluster = {"worker": [f"localhost:{port}" for port in ports]}
    return [
        json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        for i in range(num_workers)
    ]


def run_local_workers(
    command: list[str],
    num_workers: int = 2,
    *,
    timeout: float = 600,
    env: dict | None = None,
) -> list[WorkerRun]:
    """Run ``command`` as ``num_workers`` processes of one ``local_cluster`` and wait
    for all. One ``WorkerRun`` each, in index order; a ``TimeoutError`` stops all
    after ``timeout`` s. TensorFlow's C++ log is off unless ``env`` says otherwise."""
    configs = local_cluster(num_workers)
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    end = time.monotonic() + timeout
    start = functools.partial(subprocess.Popen, command, stderr=subprocess.STDOUT)
    with contextlib.ExitStack() as files:
        # files, not pipes: a worker that fills an unread pipe would stall its peers
        logs = [files.enter_context(tempfile.TemporaryFile("w+")) for _ in configs]
        procs = [
            start(env={**base, "TF_CONFIG": cfg}, stdout=log)
            for cfg, log in zip(configs, logs, strict=True)
        ]
        try:
            codes = [p.wait(timeout=max(0.1, end - time.monotonic())) for p in procs]
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
                p.wait()
            raise TimeoutError(
                f"the {num_workers} workers still ran after {timeout:g} s; stopped them"
            ) from None
        for log in logs:
            log.seek(0)
        return [
            WorkerRun(i, code, log.read())
            for i, (code, log) in enumerate(zip(codes, logs, strict=True))
        ]
