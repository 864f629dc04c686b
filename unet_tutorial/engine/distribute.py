"""Distributed training: choosing a strategy, who writes what, and sharding the input.

``train(config, strategy=...)`` takes any ``tf.distribute.Strategy``. This
module holds what changes when the replicas live in *several processes*
(``MultiWorkerMirroredStrategy``), one per machine or, for a test, two on one
machine:

* **Who is who.** Each process reads ``TF_CONFIG``, a JSON string such as::

      {"cluster": {"worker": ["host-a:12345", "host-b:12345"]},
       "task": {"type": "worker", "index": 0}}

  ``cluster`` lists every worker's address (the same on all of them),
  ``task`` says which one this process is. One worker is the **chief**: the
  task of type ``"chief"`` if the cluster has one, otherwise worker 0.
* **Who writes what.** Every worker runs the same training steps, callbacks
  included (saving and predicting take part in collective operations, so all
  workers must do them). Only the chief writes the run folder; every other
  worker writes the same files to a scratch folder of its own
  (``worker_scratch_dir``) and deletes it when training ends. All workers
  *restore* from the chief's backup, so after a crash they resume from the
  same epoch. The run folder must therefore be on a file system that every
  worker sees (one machine, NFS, a mounted bucket).
* **Sharding.** Every worker builds the same seeded input pipeline and keeps
  its share of the batches (``shard_by_data``): worker *i* of *n* trains on
  every *n*-th piece of each global batch, whatever the source (tfds files,
  a folder of JPEGs, arrays).
"""

from __future__ import annotations

import contextlib
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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import tensorflow as tf

from ..checks import is_whole

# the names, TensorFlow-free, live with the settings (the command line lists them)
from .config import COLLECTIVES as COLLECTIVES
from .config import STRATEGIES as STRATEGIES


@dataclass(frozen=True)
class WorkerRole:
    """Which process this is in a cluster.

    Attributes:
        task_type: ``"worker"`` or ``"chief"``; ``None`` outside a cluster.
        task_id: the index within ``task_type`` (0 outside a cluster).
        is_chief: whether this process writes the run folder.
        num_workers: how many processes train together (1 outside a cluster).
    """

    task_type: str | None = None
    task_id: int = 0
    is_chief: bool = True
    num_workers: int = 1


def parse_tf_config(text: str | None = None) -> dict:
    """Read and check ``TF_CONFIG`` (from the environment unless ``text`` is given).

    Returns:
        The parsed dict, with ``cluster`` and ``task`` checked.

    Raises:
        ValueError: ``TF_CONFIG`` is missing, is not JSON, or does not name
            this task inside the cluster; the message shows the expected form.
    """
    text = os.environ.get("TF_CONFIG") if text is None else text
    example = (
        'TF_CONFIG=\'{"cluster": {"worker": ["localhost:12345", "localhost:23456"]}, '
        '"task": {"type": "worker", "index": 0}}\''
    )
    if not text:
        raise ValueError(
            "multi-worker training needs TF_CONFIG in the environment of every "
            f"worker, e.g. {example}"
        )
    try:
        cfg = json.loads(text)
    except ValueError as err:
        raise ValueError(
            f"TF_CONFIG is not valid JSON ({err}); expected e.g. {example}"
        ) from None
    cluster, task = (
        (cfg.get("cluster"), cfg.get("task")) if isinstance(cfg, dict) else (None, None)
    )
    if (
        not isinstance(cluster, dict)
        or not all(isinstance(v, list) and v for v in cluster.values())
        or not cluster
    ):
        raise ValueError(
            "TF_CONFIG needs a 'cluster' of job name -> list of 'host:port'; expected "
            f"e.g. {example}"
        )
    if not isinstance(task, dict) or task.get("type") not in cluster:
        raise ValueError(
            f"TF_CONFIG's 'task' must name a job of the cluster ({', '.join(cluster)}) "
            f"as 'type', got {task!r}; expected e.g. {example}"
        )
    index = task.get("index")
    if not is_whole(index, 0) or index >= len(cluster[task["type"]]):
        raise ValueError(
            f"TF_CONFIG's task index must be 0 .. {len(cluster[task['type']]) - 1} for "
            f"job {task['type']!r}, got {index!r}"
        )
    for job, addresses in cluster.items():
        for i, address in enumerate(addresses):
            if split_address(address) is None:
                raise ValueError(
                    f"TF_CONFIG's address of {job} {i}, {address!r}, is not "
                    "'host:port' (a host name or IP address, a colon, a port 1-65535), "
                    "e.g. 'localhost:12345'"
                )
    return cfg


_ADDRESS = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")
"""``host:port``: a host name, an IPv4 address or a bracketed IPv6 address."""


def split_address(address: object) -> tuple[str, int] | None:
    """``(host, port)`` of a ``TF_CONFIG`` address such as ``localhost:12345``.

    Returns:
        ``None`` when ``address`` is not a ``host:port`` string with a port in
        1 .. 65535 (``"not a host"``, ``"host"``, ``"host:0"``).
    """
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
    """Whether something accepts a TCP connection at ``host:port`` within
    ``timeout`` seconds.
    """
    host, port = split_address(address) or ("", 0)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _placeholder(address: str) -> socket.socket | None:
    """Listen on this worker's own port until TensorFlow takes it, so that its peers,
    waiting the same way, see it answer; ``None`` if the port cannot be had.
    """
    _, port = split_address(address) or ("", 0)
    sock = socket.socket()
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("", port))
        sock.listen()
        sock.setblocking(False)
    except OSError:
        sock.close()
        return None
    return sock


def wait_for_peers(own: str, peers: list[Peer], timeout: float) -> None:
    """Wait until every peer answers at its address, for at most ``timeout`` seconds.

    TensorFlow waits for the cluster in C++, holding the interpreter: nothing
    can stop it, not even SIGTERM, and it has no limit. This wait, before it,
    stays in Python. Meanwhile this worker answers at ``own`` (its address in
    ``TF_CONFIG``), so that two workers waiting for each other both go on.

    Raises:
        TimeoutError: a peer did not answer in time (the message names it).
    """
    deadline = time.monotonic() + timeout
    silent, said = list(peers), False
    listener = _placeholder(own)
    try:
        while True:
            silent = [p for p in silent if not answers(p.address, 0.5)]
            if not silent:
                return
            if not said:
                print(
                    f"waiting up to {timeout:g} s (--connect-timeout) for "
                    + ", ".join(map(str, silent)),
                    flush=True,
                )
                said = True
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"{silent[0]} did not answer within {timeout:g} s: start the same "
                    "command there (with its own TF_CONFIG), check the address and "
                    "the firewall, or raise --connect-timeout"
                )
            _answer_and_close(listener)
            time.sleep(0.2)
    finally:
        if listener is not None:
            listener.close()


def _answer_and_close(listener: socket.socket | None) -> None:
    while listener is not None:
        try:
            conn, _ = listener.accept()
        except OSError:  # nobody waiting
            return
        conn.close()


_WATCHDOG = """
import os, select, signal, sys, time
pid, done, stop = (int(a) for a in sys.argv[1:4])
timeout = float(sys.argv[4])
late, ended = sys.argv[5], sys.argv[6]
ready = select.select([done], [], [], timeout)[0]
if not ready:  # still forming: end the process, which nothing else can
    print(late, file=sys.stderr, flush=True)
    try:
        os.kill(pid, stop)
        # the pipe closes when the process has ended; SIGKILL if it has not
        if stop != signal.SIGKILL and not select.select([done], [], [], 10)[0]:
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
elif not os.read(done, 16):  # the process ended while it waited
    print(ended, file=sys.stderr, flush=True)
"""
"""The watchdog of ``watch_cluster_forming``: a separate process, because the one
it watches holds the interpreter while TensorFlow forms the cluster.
"""


def _exit_1_on_sighup() -> int | None:
    """Make SIGHUP end this process at once with exit status 1, even while C++ holds
    the interpreter.

    The signal's handler becomes the C library's ``_exit`` itself, with no
    Python in between: the kernel calls it with the signal's number, and
    SIGHUP's number is 1. Returns the previous handler's address, to give
    back to ``_restore_sighup`` (``0`` for the default), or ``None`` where it
    cannot be done (no SIGHUP, no C library); the caller then uses SIGKILL.
    """
    if getattr(signal, "SIGHUP", None) != 1:
        return None
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        install, exit_now = libc.signal, libc._exit
    except (OSError, AttributeError):
        return None
    install.restype = ctypes.c_void_p
    install.argtypes = [ctypes.c_int, ctypes.c_void_p]
    previous = install(1, ctypes.cast(exit_now, ctypes.c_void_p).value)
    if previous == ctypes.c_void_p(-1).value:  # SIG_ERR
        return None
    return previous or 0


def _restore_sighup(previous: int) -> None:
    import ctypes

    install = ctypes.CDLL(None).signal
    install.restype = ctypes.c_void_p
    install.argtypes = [ctypes.c_int, ctypes.c_void_p]
    install(1, previous or None)


@contextlib.contextmanager
def watch_cluster_forming(
    peers: list[Peer], timeout: float, *, program: str = "make_strategy"
) -> Iterator[None]:
    """Bound the step in which TensorFlow forms the cluster to ``timeout`` seconds.

    The peers' ports may answer (``wait_for_peers``) while the cluster still
    never forms: a peer that runs another program, an old TensorFlow, or a
    different ``TF_CONFIG``. TensorFlow then waits in C++ with the
    interpreter held, so no Python thread, timer, exception or signal handler
    can run until it returns. A small watchdog *process* watches instead: if
    the ``with`` block has not ended after ``timeout`` seconds, it prints one
    line, ``"{program}: error: the cluster did not form ..."`` naming the
    peers, and ends this process with **exit status 1**: it sends SIGHUP,
    whose handler here is the C library's ``_exit`` (``_exit_1_on_sighup``).
    Where that handler cannot be installed (no SIGHUP), it ends it with
    SIGKILL instead (exit status 137 in a shell, ``-9`` from ``subprocess``),
    and the line says so. Either way no Python clean-up runs; nothing has
    been written yet. Meanwhile Ctrl-C (SIGINT) ends the process at once (its
    default action, exit status 130 in a shell), and the watchdog says so in
    one line (the watchdog runs in a session of its own, so the Ctrl-C of a
    terminal reaches this process and not the watchdog). SIGTERM cannot: while
    the cluster forms, TensorFlow installs a SIGTERM handler of its own in
    C++ (its preemption notice), which only records the signal; the timeout
    still ends the wait. When the block ends,
    the SIGTERM and SIGINT handlers that were there before are installed
    again, over TensorFlow's: the command line's SIGTERM handler then works
    during training as it does in a single process.

    Args:
        peers: the other tasks of the cluster (``cluster_peers``).
        timeout: seconds the block may take.
        program: what the lines start with, e.g. ``"unet-tutorial train"``.
    """
    names = ", ".join(map(str, peers)) or "the other workers"
    main = threading.current_thread() is threading.main_thread()
    previous_hup = _exit_1_on_sighup() if main else None
    stop = signal.SIGKILL if previous_hup is None else signal.SIGHUP
    how = "" if previous_hup is not None else " (killed: exit status 137)"
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
    try:
        read, write = os.pipe()
    except OSError:  # no file descriptor left: leave every handler as it was
        if previous_hup is not None:
            _restore_sighup(previous_hup)
        raise
    # Python's handlers cannot run until TensorFlow returns. They go first, before
    # the watchdog starts: a signal caught by Python's handler just before the
    # swap would be dropped, as Python does not run a handler that is no longer
    # there.
    handlers = {}
    if main:
        for sig in (signal.SIGTERM, signal.SIGINT):
            handlers[sig] = signal.signal(sig, signal.SIG_DFL)
    try:
        # a session of its own: Ctrl-C in a terminal signals the whole foreground
        # process group, and must end this process, not the watchdog
        watchdog = subprocess.Popen(
            [sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(read)]
            + [str(int(stop)), str(timeout), late, ended],
            pass_fds=(read,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
    except BaseException:
        os.close(write)
        if previous_hup is not None:
            _restore_sighup(previous_hup)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        raise
    finally:
        os.close(read)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # a watchdog that died early
            os.write(write, b"done")  # formed, or failed with an error of its own
        os.close(write)
        watchdog.wait()  # after this, no SIGHUP can come from it
        if previous_hup is not None:
            _restore_sighup(previous_hup)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


CONNECT_TIMEOUT = 60.0
"""Seconds ``make_strategy("multiworker")`` waits for the other workers by default."""


def make_strategy(
    name: str = "default",
    *,
    collective: str = "auto",
    connect_timeout: float = CONNECT_TIMEOUT,
    program: str = "make_strategy",
) -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy for a name.

    Args:
        name: ``"default"`` (one device, no distribution), ``"mirrored"``
            (every GPU of this machine, or its CPU if it has none) or
            ``"multiworker"`` (one replica per worker process, the cluster
            read from ``TF_CONFIG``).
        collective: for ``"multiworker"``, how gradients are all-reduced (a
            key of ``COLLECTIVES``).
        connect_timeout: for ``"multiworker"``, seconds to wait for every other
            worker of ``TF_CONFIG`` to answer (``wait_for_peers``), and then
            again, at most, for the cluster to form (``watch_cluster_forming``).
        program: for ``"multiworker"``, what the watchdog's one line starts
            with (the command line passes ``"unet-tutorial train"``).

    Create the strategy before any other TensorFlow work in the process:
    ``MultiWorkerMirroredStrategy`` sets up the collective operations at
    start-up and cannot be created afterwards. It then waits for the cluster
    in C++, without a limit and deaf to Python's signal handlers; so every
    peer is first waited for here, in Python, where the limit holds and
    SIGTERM or Ctrl-C end the wait, and the forming itself is bounded by a
    watchdog process (``watch_cluster_forming``), which ends this process
    with one line and exit status 1 if the cluster does not form in time.

    Raises:
        ValueError: an unknown name or collective, a ``connect_timeout`` that is
            not positive, or a missing or malformed ``TF_CONFIG`` for
            ``"multiworker"``.
        TimeoutError: a worker did not answer within ``connect_timeout``
            seconds (the message names it).
    """
    if name not in STRATEGIES:
        raise ValueError(
            f"strategy must be one of {', '.join(STRATEGIES)}, got {name!r}"
        )
    if collective not in COLLECTIVES:
        raise ValueError(
            f"collective must be one of {', '.join(COLLECTIVES)}, got {collective!r}"
        )
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
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation[
            collective.upper()
        ]
    )
    peers = cluster_peers(cfg)
    wait_for_peers(_own_address(cfg), peers, connect_timeout)
    with watch_cluster_forming(peers, connect_timeout, program=program):
        return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def _own_address(cfg: dict) -> str:
    return cfg["cluster"][cfg["task"]["type"]][cfg["task"]["index"]]


def is_multi_worker(strategy: tf.distribute.Strategy) -> bool:
    """Whether ``strategy`` spans several processes (``MultiWorkerMirroredStrategy``
    with a cluster).
    """
    return bool(getattr(strategy.extended, "_in_multi_worker_mode", lambda: False)())


def worker_role(strategy: tf.distribute.Strategy) -> WorkerRole:
    """This process's ``WorkerRole`` under ``strategy`` (chief and alone unless
    multi-worker).
    """
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
    """The chief's ``decision``, the same on every worker, and how many workers refused.

    Each worker looks at the run folder at its own moment, so two workers can
    see it in different states (the chief may have finished a step the other
    has not seen). A decision that changes which collective steps a worker
    takes, such as "train" or "training is over", must therefore be the
    chief's alone: every worker calls this at the same point, and all of them
    leave with the chief's number. A worker that cannot go on (its folder was
    refused, its data failed) calls it with ``refused=True``, so that no
    other worker waits for it in a collective step that it will never take.

    Args:
        strategy: the strategy; outside a multi-worker cluster nothing is
            exchanged and ``(decision, int(refused))`` comes back.
        decision: a small non-negative integer; only the chief's counts.
        refused: this worker gives up (its ``decision`` is then ignored).

    Returns:
        ``(the chief's decision, how many workers refused)``; the decision is
        ``0`` when the chief refused.
    """
    if not is_whole(decision, 0):
        raise ValueError(f"decision must be an integer >= 0, got {decision!r}")
    role = worker_role(strategy)
    if role.num_workers <= 1:
        return (0 if refused else decision), int(refused)
    mine = tf.constant(
        [0.0 if refused or not role.is_chief else float(decision), float(refused)]
    )
    total = strategy.reduce(
        "SUM", strategy.run(lambda: tf.identity(mine)), axis=None
    ).numpy()
    return int(round(total[0])), int(round(total[1]))


def worker_scratch_dir(output_dir: str | os.PathLike, role: WorkerRole) -> Path:
    """Where a non-chief worker writes its copy of the run: a hidden folder beside the
    run folder.

    ``runs/pets`` gives ``runs/.pets.worker-1`` for worker 1. It is
    deleted when that worker's training ends; a crash leaves it behind, and
    the next start clears it.
    """
    out = Path(output_dir)
    return out.parent / f".{out.name}.{role.task_type}-{role.task_id}"


def prepare_multi_worker_fit(
    model, strategy: tf.distribute.Strategy, element_spec
) -> None:
    """Work around two Keras 3 bugs so that ``model.fit`` runs under
    ``MultiWorkerMirroredStrategy``.

    1. ``fit`` builds the optimizer and metric state from a *distributed*
       batch that it first averages with ``strategy.reduce``, which fails
       across workers ("Attempt to convert a value (PerReplica...) to a
       Tensor"; keras-team/keras#20585). Here the state is built from the
       batch's shapes (``element_spec``) inside the strategy's scope, and the
       model's own build step, now with nothing left to do, is skipped.
    2. Each step's loss and metrics are averaged over replicas with
       ``reduce("MEAN", value, axis=0)``, which fails on a scalar across
       workers; ``_mean_across_workers`` averages them with ``axis=None``, as
       every single-process strategy does.

    Call it before ``model.fit`` (before or after ``model.compile``): the state
    is built when ``fit`` starts, after ``compile`` has made the optimizer. It
    does nothing for other strategies.
    """
    if not is_multi_worker(strategy):
        return
    _mean_across_workers()

    def build_from_spec(iterator=None, data_batch=None) -> None:
        with strategy.scope():
            model._symbolic_build(data_batch=element_spec)
            model.optimizer.build(model.trainable_variables)
        # built: later calls (fit's evaluation, a second fit) have nothing to do
        model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None

    model._maybe_symbolic_build = build_from_spec


def _mean_across_workers() -> None:
    from keras.src.backend.tensorflow import trainer

    if getattr(trainer.reduce_per_replica, "_unet_tutorial", False):
        return
    original = trainer.reduce_per_replica

    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and is_multi_worker(strategy):
            return tf.nest.map_structure(
                lambda v: strategy.reduce("MEAN", v, axis=None), values
            )
        return original(values, strategy, reduction)

    reduce_per_replica._unet_tutorial = True
    trainer.reduce_per_replica = reduce_per_replica


@dataclass(frozen=True)
class WorkerRun:
    """What one local worker process did: its index, exit code and everything it
    printed.
    """

    index: int
    returncode: int
    output: str


def local_cluster(num_workers: int = 2) -> list[str]:
    """``TF_CONFIG`` strings for ``num_workers`` workers on this machine, one free
    localhost port each.

    Worker ``i`` gets the ``i``-th string; all of them share the same
    ``cluster``. (A port is free when asked for; another program could
    still take it before the workers start, which a rerun fixes.)
    """
    if not is_whole(num_workers, 1):
        raise ValueError(f"num_workers must be a positive integer, got {num_workers!r}")
    socks = [socket.socket() for _ in range(num_workers)]
    try:
        for s in socks:
            s.bind(("localhost", 0))
        hosts = [f"localhost:{s.getsockname()[1]}" for s in socks]
    finally:
        for s in socks:
            s.close()
    return [
        json.dumps(
            {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": i}}
        )
        for i in range(num_workers)
    ]


def run_local_workers(
    command: list[str],
    num_workers: int = 2,
    *,
    timeout: float = 600,
    env: dict | None = None,
) -> list[WorkerRun]:
    """Run ``command`` as ``num_workers`` processes of one cluster on this machine and
    wait for all.

    Each process gets its own ``TF_CONFIG`` (``local_cluster``), so a command
    that builds ``make_strategy("multiworker")``, e.g. ``unet-tutorial train
    --strategy multiworker``, trains as one job: on a real cluster you would
    start the same command on every machine with that machine's
    ``TF_CONFIG``. TensorFlow's C++ log lines are silenced
    (``TF_CPP_MIN_LOG_LEVEL=3``) unless ``env`` says otherwise.

    Returns:
        One ``WorkerRun`` per worker, in index order.

    Raises:
        TimeoutError: the workers were still running after ``timeout``
            seconds; all of them are stopped first.
    """
    configs = local_cluster(num_workers)
    base = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    deadline = time.monotonic() + timeout
    with tempfile.TemporaryDirectory() as tmp:
        # files, not pipes: a worker that fills an unread pipe would stall, and its
        # peers with it
        logs = [open(Path(tmp) / f"worker-{i}.log", "w+") for i in range(num_workers)]  # noqa: SIM115
        try:
            procs = [
                subprocess.Popen(
                    command,
                    env={**base, "TF_CONFIG": cfg},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
                for cfg, log in zip(configs, logs, strict=True)
            ]
            try:
                codes = [
                    p.wait(timeout=max(0.1, deadline - time.monotonic())) for p in procs
                ]
            except subprocess.TimeoutExpired:
                for p in procs:
                    p.kill()
                    p.wait()
                raise TimeoutError(
                    f"the {num_workers} workers still ran after {timeout:g} s; stopped "
                    "them"
                ) from None
            outputs = []
            for log in logs:
                log.seek(0)
                outputs.append(log.read())
        finally:
            for log in logs:
                log.close()
    return [
        WorkerRun(i, code, out)
        for i, (code, out) in enumerate(zip(codes, outputs, strict=True))
    ]
