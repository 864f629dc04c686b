"""The run folder: what ``train`` writes (history, snapshots), and how a folder is
checked, locked and loaded.

One training run owns one folder::

    config.json    the settings (TrainConfig) and the data it saw; written first
    state.json     how far the run got ("training", "trained", "finished"), which
                   epoch best.keras holds, and a copy of the settings
    history.csv    one row per finished epoch
    best.keras     the checkpoint with the best validation mean IoU
    final.keras    the model after the last epoch
    test.json      the test split, scored once, after training
    snapshots/     predictions on a fixed validation batch, per epoch
    backup/        Keras' BackupAndRestore state until the run is finished
    run.lock       present while a training writes to the folder

Every file is written atomically (``atomic_write``): a kill at any moment
leaves the old file or the new one, never half of one. ``history.csv`` is
the one file appended to; a row cut short is ignored and rewritten. A run is
**finished** only when ``state.json`` says so (written last) and
``final.keras`` and ``test.json`` are whole.

Rules that keep a run from being lost or mixed with another:

* a folder that holds other files than these (hidden files aside) is
  **foreign** and refused;
* a **finished** run is never changed, unless ``overwrite`` is asked for;
* an **unfinished** run resumes only with the same settings;
* one training at a time writes to a folder (``run.lock``), and
  ``overwrite`` deletes nothing before it holds that lock.
"""

from __future__ import annotations

import csv
import errno
import json
import os
import secrets
import shutil
import socket
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np

RUN_FILES = {
    "config": "config.json",
    "state": "state.json",
    "history": "history.csv",
    "best": "best.keras",
    "final": "final.keras",
    "test": "test.json",
    "snapshots": "snapshots",
    "backup": "backup",
    "lock": "run.lock",
}
"""The names ``train`` writes in a run folder (see the module docstring)."""


PART_MARK = ".part-"
"""What the temporary name of a file being written contains (see ``atomic_write``)."""


def _part_name(path: Path) -> Path:
    """A hidden temporary name beside ``path`` that keeps its full suffix
    (``.latest.part-1a2b.weights.h5`` for ``latest.weights.h5``): Keras and NumPy
    choose the format by the suffix.
    """
    head, dot, rest = path.name.partition(".")
    return path.with_name(f".{head}{PART_MARK}{secrets.token_hex(4)}{dot}{rest}")


def _fsync_folder(folder: Path) -> None:
    """Flush a folder's entries (a rename in it) to disk, where the system allows it."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: folders cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Write ``path`` all at once: a kill at any moment leaves the old file or the
    new one, never half.

    ``write(tmp)`` fills a hidden temporary file beside ``path`` (same folder,
    same suffix, so ``model.save`` or ``np.savez`` accept it); the file is then
    flushed to disk, renamed over ``path`` (``os.replace``) and the folder is
    synced. A temporary file left by a kill is hidden, so it never makes a run
    folder foreign; ``remove_partial_files`` deletes it.

    Args:
        path: the file to (re)write.
        write: called with the temporary path; writes the whole content there.

    Returns:
        ``path`` as a ``Path``.

    Raises:
        OSError: the write failed (the old file, if any, is untouched). A full
            disk is named with the file and what to do.
    """
    path = Path(path)
    part = _part_name(path)
    try:
        write(part)
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        os.replace(part, path)
    except BaseException as err:
        part.unlink(missing_ok=True)
        if isinstance(err, OSError) and err.errno == errno.ENOSPC:
            raise no_space_error(path) from err
        raise
    _fsync_folder(path.parent)
    return path


def no_space_error(path: str | os.PathLike) -> OSError:
    """The package's one-line ``OSError`` (``ENOSPC``) for a full disk while
    ``path`` is written: the file, and what to do.
    """
    return OSError(
        errno.ENOSPC,
        f"no space left on the device while writing {path}; free some space "
        "and run the same command again (a run resumes where it stopped)",
    )


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """``atomic_write`` of a text file (UTF-8)."""
    return atomic_write(path, lambda part: part.write_text(text, encoding="utf-8"))


def atomic_copy(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy ``source`` to ``path`` atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda part: shutil.copyfile(source, part))


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """``model.save(path)``, atomically: a kill while Keras writes leaves the previous
    file whole.
    """
    return atomic_write(path, lambda part: model.save(part))


def remove_partial_files(folder: str | os.PathLike) -> None:
    """Delete the temporary files a kill left in a run folder (``atomic_write``)."""
    folder = Path(folder)
    for sub in (folder, folder / RUN_FILES["backup"], folder / RUN_FILES["snapshots"]):
        if sub.is_dir():
            for part in sub.glob(f".*{PART_MARK}*"):
                if part.is_file():
                    part.unlink(missing_ok=True)


def read_state(folder: str | os.PathLike) -> dict | None:
    """The run's ``state.json`` as a dict; ``None`` if missing or unreadable."""
    try:
        state = json.loads((Path(folder) / RUN_FILES["state"]).read_text())
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) else None


def write_state(folder: str | os.PathLike, **changes) -> dict:
    """Update ``state.json`` with ``changes`` (atomically) and return the new state."""
    state = {**(read_state(folder) or {}), **changes}
    atomic_write_text(Path(folder) / RUN_FILES["state"], json.dumps(state, indent=2))
    return state


def run_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """``{key: folder / name}`` of the files a run leaves behind (``RUN_FILES`` without
    the lock).
    """
    folder = Path(folder)
    return {k: folder / v for k, v in RUN_FILES.items() if k != "lock"}


class EpochCSVLogger(keras.callbacks.Callback):
    """Append one CSV row per finished epoch; on resume, drop rows of epochs that will
    rerun.

    ``keras.callbacks.CSVLogger(append=True)`` could write a row twice when a
    run is killed between the logger and the backup; this logger rewrites the
    file (atomically) at the first epoch of every run so that each epoch
    appears once, and so that a row cut short by a kill is gone before the
    next one is appended.
    """

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path = Path(path)
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        if not self._first:
            return
        self._first = False
        rows = read_history(self.path) if self.path.exists() else []
        kept = [r for r in rows if int(r["epoch"]) < epoch]
        self._write(kept, list(rows[0].keys()) if rows else None)

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        exists = self.path.exists() and self.path.stat().st_size > 0
        with open(self.path, "a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if not exists:
                writer.writeheader()
            writer.writerow(row)
            f.flush()
            os.fsync(f.fileno())

    def _write(self, rows, fields):
        # a reader (another worker) sees the old file or the new one, never half
        def write(part: Path) -> None:
            with open(part, "w", newline="") as f:
                if fields:
                    writer = csv.DictWriter(f, fieldnames=fields)
                    writer.writeheader()
                    writer.writerows(rows)

        atomic_write(self.path, write)


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``history.csv``: ``[{"epoch": "0", "loss": "...", ...}, ...]``.

    A last row cut short (a kill while it was being written) is left out: one
    without its line end may have been cut inside a number.
    """
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    return [
        row
        for row in csv.DictReader(text.splitlines(keepends=True))
        if None not in row.values() and None not in row
    ]


class PredictionSnapshots(keras.callbacks.Callback):
    """Keep the predicted masks on a fixed validation batch after every epoch.

    Writes ``reference.npz`` (``images``, ``masks``) once and
    ``epoch_NNN.npz`` (``pred``: ``uint8 (n, H, W)``) per epoch; the training
    animation reads them with ``load_snapshots``. For an unpadded model the
    images are its input tiles and the masks the smaller squares it predicts;
    ``reference.npz`` keeps the centre of each image that matches its mask.
    """

    def __init__(
        self, images: np.ndarray, masks: np.ndarray, directory: str | os.PathLike
    ):
        super().__init__()
        self.images = np.asarray(images, np.float32)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        masks = np.asarray(masks, np.uint8)
        shown = self.images
        m = (shown.shape[1] - masks.shape[1]) // 2
        if m > 0:  # an unpadded model predicts the centre of each tile: keep that
            shown = shown[:, m : m + masks.shape[1], m : m + masks.shape[2]]
        atomic_write(
            self.directory / "reference.npz",
            lambda part: np.savez_compressed(part, images=shown, masks=masks),
        )

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        # drop snapshots of epochs that this run will (re)compute, e.g. from an older
        # run
        if self._first:
            self._first = False
            for old in self.directory.glob("epoch_*.npz"):
                if int(old.stem.split("_")[1]) >= epoch:
                    old.unlink()

    def on_epoch_end(self, epoch, logs=None):
        from ..evaluation import predicted_classes
        from ..tiling import pad_for_model

        # a model that takes any size sees the images mirrored up to sides it takes
        images, (height, width) = pad_for_model(self.model, self.images)
        logits = self.model.predict(images, verbose=0)[:, :height, :width]
        pred = predicted_classes(self.model, logits).astype(np.uint8)
        atomic_write(
            self.directory / f"epoch_{epoch:03d}.npz",
            lambda part: np.savez_compressed(part, pred=pred),
        )


def load_snapshots(
    directory: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(images, true masks, [predictions of epoch 0, 1, ...])`` from a snapshots
    folder.
    """
    directory = Path(directory)
    ref_path = directory / "reference.npz"
    if not ref_path.is_file():
        raise FileNotFoundError(
            f"{ref_path} is missing; train() with snapshot_images > 0 writes it."
        )
    ref = np.load(ref_path)
    preds = [np.load(p)["pred"] for p in sorted(directory.glob("epoch_*.npz"))]
    return ref["images"], ref["masks"], preds


class RunFolderError(ValueError):
    """A run folder cannot be used as asked: the message says why and what to do."""


_RUN_KEYS = {"base_filters", "image_size", "epochs"}
"""Keys every ``config.json`` written by ``train`` has."""

_MODEL_FILES = {"config.json", "model.weights.h5"}
"""Members every ``.keras`` file (a zip archive) has."""


def is_whole_keras_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete ``.keras`` archive (every member's checksum
    right), without TensorFlow.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            return _MODEL_FILES <= set(archive.namelist()) and archive.testzip() is None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def is_whole_test_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete ``test.json`` (the scores ``train`` writes)."""
    try:
        stored = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return False
    return isinstance(stored, dict) and {"model", "mean_iou"} <= stored.keys()


def _read_config(folder: Path) -> dict | None | str:
    """The stored ``config.json``: a dict, ``None`` if missing or unreadable (cut
    short), or ``"foreign"`` for a readable JSON file that ``train`` did not write.
    """
    try:
        stored = json.loads((folder / RUN_FILES["config"]).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or not _RUN_KEYS <= stored.keys():
        return "foreign"
    return stored


def stored_settings(folder: str | os.PathLike) -> dict | None:
    """The settings of the run in ``folder``: its ``config.json``, else the copy in
    ``state.json`` (when ``config.json`` is missing or cut short); ``None`` if neither
    is readable.
    """
    folder = Path(folder)
    stored = _read_config(folder)
    if isinstance(stored, dict):
        return stored
    settings = (read_state(folder) or {}).get("settings")
    if isinstance(settings, dict) and _RUN_KEYS <= settings.keys():
        return settings
    return None


def _is_finished(folder: Path, names: set[str], settings: dict) -> bool:
    """The rule of a finished run (see the module docstring)."""
    state = read_state(folder)
    if state is None:
        # a run written before state.json existed: finished once its backup is gone
        if RUN_FILES["state"] in names or RUN_FILES["backup"] in names:
            return False
    elif state.get("state") != "finished":
        return False
    if not is_whole_keras_file(folder / RUN_FILES["final"]):
        return False
    return not settings.get("evaluate_test", True) or is_whole_test_file(
        folder / RUN_FILES["test"]
    )


def run_state(folder: str | os.PathLike) -> str:
    """What a folder holds: ``"empty"``, ``"finished"``, ``"unfinished"`` or
    ``"foreign"``.

    ``"empty"`` also covers a folder that does not exist yet. A folder is
    ``"foreign"`` when it holds a file that is not part of a run, or a
    ``config.json`` that this package did not write. A run whose ``config.json``
    is missing or cut short (beside other files of a run) is ``"unfinished"``.
    """
    folder = Path(folder)
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "foreign"
    # the lock alone is no run; hidden files (.DS_Store, .ipynb_checkpoints, a
    # temporary file left by a kill) are nobody's work
    names = {p.name for p in folder.iterdir() if not p.name.startswith(".")} - {
        RUN_FILES["lock"]
    }
    if not names:
        return "empty"
    if names - set(RUN_FILES.values()):
        return "foreign"
    stored = _read_config(folder)
    if stored == "foreign":
        return "foreign"
    if stored is None:
        # a run's own files beside it: a config.json cut short (or never written)
        # by a kill or a full disk, not someone else's folder
        return "unfinished" if names - {RUN_FILES["config"]} else "foreign"
    return "finished" if _is_finished(folder, names, stored) else "unfinished"


def run_settings(settings: dict, fingerprint: dict) -> dict:
    """A run's settings as its ``config.json`` records them: ``settings`` (a
    ``TrainConfig`` as a dict) with the fingerprint of its data
    (``sources.data_fingerprint``) and the package version that trains it.
    """
    from .. import __version__

    return {**settings, "data_fingerprint": fingerprint, "package_version": __version__}


def minor_version(version) -> str | None:
    """``"0.1"`` of ``"0.1.0"``: runs are reused across patch releases only."""
    return ".".join(str(version).split(".")[:2]) if version else None


def differing_settings(stored: dict, settings: dict) -> list[str]:
    """``"name: old -> new"`` for every setting in ``settings`` whose stored value
    differs.

    The data is compared by its fingerprint (``"data: folder em: 48 files, 11.2
    MB -> ..."``) and the package by its major.minor version; a run that recorded
    neither (written before they were recorded) differs in both.
    """
    # tuples become lists, as in the stored JSON
    fresh = json.loads(json.dumps(settings))
    changed = []
    for k, v in fresh.items():
        old = stored.get(k)
        if k == "output_dir":
            continue
        if k == "data_fingerprint":
            if not isinstance(old, dict) or old.get("digest") != v.get("digest"):
                was = old.get("summary") if isinstance(old, dict) else "not recorded"
                same = " (same counts, other names, sizes or dates)"
                same = same if was == v.get("summary") else ""
                changed.append(f"data: {was} -> {v.get('summary')}{same}")
        elif k == "package_version":
            if minor_version(old) != minor_version(v):
                changed.append(f"unet-tutorial version: {old or 'not recorded'} -> {v}")
        elif old != v:
            changed.append(f"{k}: {old!r} -> {v!r}")
    return changed


def prepare_run_folder(
    folder: str | os.PathLike,
    settings: dict,
    *,
    overwrite: bool = False,
    clear: bool = True,
) -> str:
    """Check that a training with ``settings`` may write to ``folder``; clear it if
    ``overwrite``.

    Args:
        folder: the run folder (``TrainConfig.output_dir``).
        settings: the run's settings (``dataclasses.asdict(config)``).
        overwrite: delete a finished or unfinished run found there (only the
            run's own files) and start again.
        clear: with ``overwrite``, whether to delete those files here;
            ``False`` only checks (before the lock is taken, or a non-chief
            worker, whose chief clears). Clear only while holding ``RunLock``.

    Returns:
        ``"new"`` or ``"resume"`` (an unfinished run with the same settings).

    Raises:
        RunFolderError: a foreign folder; a finished run without
            ``overwrite``; an unfinished run with other settings, or whose
            settings cannot be read.
    """
    folder = Path(folder)
    state = run_state(folder)
    if state == "foreign":
        if not folder.is_dir():
            raise RunFolderError(
                f"{folder} is a file, not a folder; name a new folder for the run."
            )
        others = sorted(
            p.name
            for p in folder.iterdir()
            if p.name not in RUN_FILES.values() and not p.name.startswith(".")
        )
        what = (
            f"files that are not part of a run ({', '.join(others[:5])})"
            if others
            else "a config.json that unet-tutorial did not write"
        )
        raise RunFolderError(
            f"{folder} holds {what}; a run would overwrite or mix with them. Name a "
            "new or empty folder (--output / TrainConfig.output_dir)."
        )
    if state == "empty":
        return "new"
    if overwrite:
        if clear:
            clear_run(folder)
        return "new"
    stored = stored_settings(folder)
    if stored is None:
        raise RunFolderError(
            f"{folder} holds an unfinished run whose config.json is missing or cut "
            "short (a kill or a full disk while it was written), so its settings "
            "cannot be checked. Pass --overwrite (train(..., overwrite=True)) to "
            "start it again, or name another folder."
        )
    if state == "finished":
        raise RunFolderError(
            f"{folder} holds a finished run ({stored.get('epochs')} epochs, "
            "final.keras); it is left as it is. Name another folder, or pass "
            "--overwrite (train(..., overwrite=True)) to train it again from scratch."
        )
    changed = differing_settings(stored, settings)
    if changed:
        raise RunFolderError(
            f"{folder} holds an unfinished run with other settings "
            f"({'; '.join(changed)}). Run with its settings to resume it, name another "
            "folder, or pass --overwrite to start again."
        )
    return "resume"


def clear_run(folder: str | os.PathLike) -> None:
    """Delete the run files in ``folder`` (and nothing else; never ``run.lock``)."""
    folder = Path(folder)
    remove_partial_files(folder)
    # config.json and state.json last: until they go, a half-cleared folder still
    # reads as a run, never as foreign
    last = (RUN_FILES["config"], RUN_FILES["state"])
    names = [n for n in RUN_FILES.values() if n != RUN_FILES["lock"]]
    for name in sorted(names, key=lambda n: n in last):
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def _process_start(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from ``/proc``), with the
    boot's id; ``None`` where ``/proc`` does not tell.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        # the command name (field 2) may hold spaces: count after its ")"
        ticks = stat.rsplit(")", 1)[1].split()[19]
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except (OSError, IndexError):
        return None
    return f"{boot}:{ticks}"


_HELD_TOKENS: set[str] = set()
"""The tokens of the locks this process holds now."""

FRESH_LOCK_SECONDS = 10.0
"""An empty ``run.lock`` younger than this is held: its training has created it
and is about to write who it is. An older empty one was left by a kill.
"""


class RunLock:
    """``with RunLock(folder):`` one training at a time writes to a run folder.

    The lock is the file ``run.lock``, created atomically. It records the
    host, the process id, when that process started and a random token, so
    that a lock left by a process that no longer runs is recognised even when
    its process id has been given to another process since (after a
    container restart, a new training may well run as the same PID 1). Such a
    stale lock is taken over, with a notice.
    """

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / RUN_FILES["lock"]
        self.token = secrets.token_hex(8)

    def __enter__(self) -> RunLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        me = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": _process_start(os.getpid()),
            "token": self.token,
        }
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                holder = self._holder()
                if holder is None:  # stale: its process is gone
                    print(
                        f"NOTE: removed a stale lock {self.path} (its training is no "
                        "longer running)."
                    )
                    self.path.unlink(missing_ok=True)
                    continue
                raise RunFolderError(
                    f"another training ({holder}) is writing to {self.path.parent}; "
                    f"wait for it to finish, or delete {self.path} if no training runs "
                    "there."
                ) from None
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(me))
                f.flush()
                os.fsync(f.fileno())
            _HELD_TOKENS.add(self.token)
            return self
        raise RunFolderError(
            f"could not take the lock {self.path}; delete it if no training runs there."
        )

    def _holder(self) -> str | None:
        """``"pid N"`` (with the host if another) of a live holder, or ``None`` when the
        lock is stale.
        """
        try:
            text = self.path.read_text()
            age = time.time() - self.path.stat().st_mtime
        except OSError:
            return None
        if not text.strip() and age < FRESH_LOCK_SECONDS:
            # created an instant ago by a training that has not written it yet
            return "just starting"
        try:
            lock = json.loads(text)
            host, pid = lock["host"], int(lock["pid"])
            started, token = lock.get("started"), lock.get("token")
        except (ValueError, KeyError, TypeError):
            try:  # the older "host pid" form, which this process never writes
                host, pid = text.split()
                pid = int(pid)
            except ValueError:
                return None  # unreadable or half written: treat as stale
            started, token = None, None
        if host != socket.gethostname():
            # cannot check another machine: assume it is alive
            return f"host {host}, pid {pid}"
        if pid == os.getpid():
            # this process: its own lock only if it holds that token now; else an
            # earlier process that had the same PID (a restarted container)
            return f"pid {pid}" if token in _HELD_TOKENS else None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            pass  # exists, owned by someone else
        now = _process_start(pid)
        if started is not None and now is not None and now != started:
            return None  # the PID now belongs to a process started later
        return f"pid {pid}"

    def __exit__(self, *exc) -> None:
        _HELD_TOKENS.discard(self.token)
        self.path.unlink(missing_ok=True)


def load_run_model(path: str | os.PathLike):
    """Load a ``.keras`` model written by ``train`` (registers the package's losses and
    metrics).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, or a file that is not a loadable ``.keras`` model.
    """
    from .. import losses, metrics  # noqa: F401  (registers the custom objects)

    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"{path} is a directory; name a .keras file in it (e.g. "
            f"{path / 'best.keras'})."
        )
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    if path.suffix == ".keras" and not is_whole_keras_file(path):
        # Keras would say "File not found" for a file that is there
        raise ValueError(
            f"{path} is not a loadable .keras model: it is damaged, cut short or "
            "not a .keras file. Name another model (a finished run's final.keras or "
            "best.keras), or train again."
        )
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as err:  # Keras raises several kinds for a damaged or foreign file
        raise ValueError(
            f"{path} is not a loadable .keras model ({type(err).__name__}: {err})."
        ) from err
