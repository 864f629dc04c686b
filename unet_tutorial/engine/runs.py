"""The run folder (``RUN_FILES``): what ``train`` writes, and how it is checked,
locked and loaded.

Every file is written atomically; ``history.csv`` alone is appended to. A run is
finished only when ``state.json`` says so and ``final.keras`` and ``test.json`` are
whole. A folder with other files is foreign and refused; a finished run changes only
with ``overwrite``, which deletes nothing before it holds ``RunLock``."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import shutil
import socket
import zipfile
from pathlib import Path

import keras
import numpy as np

from ..files import PART_MARK, atomic_write  # the one writer

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
"""The names ``train`` writes in a run folder."""


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """``atomic_write`` of a text file (UTF-8)."""
    return atomic_write(path, lambda part: part.write_text(text, encoding="utf-8"))


def atomic_copy(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy ``source`` to ``path`` atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda part: shutil.copyfile(source, part))


def save_model_atomic(model: keras.Model, path: str | os.PathLike) -> Path:
    """``model.save(path)``, atomically (see ``atomic_write``)."""
    return atomic_write(path, lambda part: model.save(part))


def remove_partial_files(folder: str | os.PathLike) -> None:
    """Delete the temporary files a kill left in a run folder (``atomic_write``)."""
    folder = Path(folder)
    for sub in (folder, folder / RUN_FILES["backup"], folder / RUN_FILES["snapshots"]):
        for part in sub.glob(f".*{PART_MARK}*") if sub.is_dir() else []:
            if part.is_file():
                part.unlink(missing_ok=True)


def _read_json(path: Path) -> dict | None:
    """The JSON object in ``path``; ``None`` if missing, unreadable or not an object."""
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def read_state(folder: str | os.PathLike) -> dict | None:
    """The run's ``state.json`` as a dict; ``None`` if missing or unreadable."""
    return _read_json(Path(folder) / RUN_FILES["state"])


def write_state(folder: str | os.PathLike, **changes) -> dict:
    """Update ``state.json`` with ``changes`` (atomically) and return the new state."""
    state = {**(read_state(folder) or {}), **changes}
    atomic_write_text(Path(folder) / RUN_FILES["state"], json.dumps(state, indent=2))
    return state


def run_paths(folder: str | os.PathLike) -> dict[str, Path]:
    """``{key: folder / name}`` of ``RUN_FILES`` but the lock."""
    folder = Path(folder)
    return {k: folder / v for k, v in RUN_FILES.items() if k != "lock"}


class EpochCSVLogger(keras.callbacks.Callback):
    """Append one CSV row per finished epoch; on resume, drop rows of epochs that will
    rerun.

    Own code: ``keras.callbacks.CSVLogger(append=True)`` could write a row twice after
    a kill, or glue a row to one cut short."""

    def __init__(self, path: str | os.PathLike):
        super().__init__()
        self.path, self._first = Path(path), True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first:  # rewritten atomically: another worker reads old or new
            self._first = False
            rows = read_history(self.path) if self.path.exists() else []
            text = io.StringIO()
            if rows:
                writer = csv.DictWriter(text, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(r for r in rows if int(r["epoch"]) < epoch)
            atomic_write(self.path, lambda p: p.write_text(text.getvalue(), newline=""))

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


def read_history(path: str | os.PathLike) -> list[dict]:
    """Rows of a ``history.csv`` (``[{"epoch": "0", "loss": "...", ...}, ...]``),
    without a last row cut short by a kill."""
    with open(path, newline="") as f:
        text = f.read()
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    rows = csv.DictReader(text.splitlines(keepends=True))
    return [row for row in rows if None not in row.values() and None not in row]


class PredictionSnapshots(keras.callbacks.Callback):
    """Keep the predicted masks on a fixed validation batch after every epoch.

    Writes ``reference.npz`` (``images``, ``masks``) once and ``epoch_NNN.npz``
    (``pred``: ``uint8 (n, H, W)``) per epoch, for ``load_snapshots``."""

    def __init__(
        self, images: np.ndarray, masks: np.ndarray, directory: str | os.PathLike
    ):
        super().__init__()
        self.images = np.asarray(images, np.float32)
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        masks = np.asarray(masks, np.uint8)
        # the centre of each tile that an unpadded model predicts (a padded one: all)
        m = (self.images.shape[1] - masks.shape[1]) // 2
        shown = self.images[:, m : m + masks.shape[1], m : m + masks.shape[2]]
        ref = self.directory / "reference.npz"
        atomic_write(ref, lambda p: np.savez_compressed(p, images=shown, masks=masks))

    def on_train_begin(self, logs=None):
        self._first = True

    def on_epoch_begin(self, epoch, logs=None):
        if self._first:  # drop snapshots of the epochs this run will (re)compute
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
        path = self.directory / f"epoch_{epoch:03d}.npz"
        atomic_write(path, lambda part: np.savez_compressed(part, pred=pred))


def load_snapshots(
    directory: str | os.PathLike,
) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """``(images, true masks, [predictions of epoch 0, 1, ...])`` of a folder."""
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


_RUN_KEYS = {"base_filters", "image_size", "epochs"}  # in every run's config.json


def is_whole_keras_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete ``.keras`` archive (checksums right)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = {"config.json", "model.weights.h5"} <= set(archive.namelist())
            return members and archive.testzip() is None
    except (OSError, zipfile.BadZipFile, ValueError, EOFError):
        return False


def is_whole_test_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a complete ``test.json`` (the scores ``train`` writes)."""
    stored = _read_json(Path(path))
    return stored is not None and {"model", "mean_iou"} <= stored.keys()


def _names(folder: Path) -> set[str]:
    """Names in ``folder`` but hidden ones (.DS_Store, a kill's part) and the lock."""
    return {p.name for p in folder.iterdir() if p.name[0] != "."} - {RUN_FILES["lock"]}


def _read_config(folder: Path) -> dict | str:
    """The stored ``config.json``, else ``"missing"`` (or cut short), ``"foreign"``."""
    try:
        stored = json.loads((folder / RUN_FILES["config"]).read_text())
    except (OSError, ValueError):
        return "missing"
    if not isinstance(stored, dict) or not _RUN_KEYS <= stored.keys():
        return "foreign"
    return stored


def stored_settings(folder: str | os.PathLike) -> dict | None:
    """The run's ``config.json``, else its copy in ``state.json``, else ``None``."""
    state = read_state(folder) or {}
    for stored in (_read_config(Path(folder)), state.get("settings")):
        if isinstance(stored, dict) and _RUN_KEYS <= stored.keys():
            return stored
    return None


def run_state(folder: str | os.PathLike) -> str:
    """What a folder holds: ``"empty"``, ``"finished"``, ``"unfinished"`` or
    ``"foreign"`` (other files, or a ``config.json`` this package did not write)."""
    folder = Path(folder)
    if not folder.exists():
        return "empty"
    if not folder.is_dir():
        return "foreign"
    names = _names(folder)
    if not names:
        return "empty"
    stored = _read_config(folder)
    if names - set(RUN_FILES.values()) or stored == "foreign":
        return "foreign"
    if stored == "missing":
        # beside a run's own files: cut short by a kill or a full disk
        return "unfinished" if names - {RUN_FILES["config"]} else "foreign"
    paths = run_paths(folder)
    tested = not stored.get("evaluate_test", True) or is_whole_test_file(paths["test"])
    state = (read_state(folder) or {}).get("state")
    finished = state == "finished" and tested and is_whole_keras_file(paths["final"])
    return "finished" if finished else "unfinished"


def run_settings(settings: dict, fingerprint: dict) -> dict:
    """``settings`` with its data's fingerprint and the package version."""
    from .. import __version__

    return {**settings, "data_fingerprint": fingerprint, "package_version": __version__}


def minor_version(version) -> str | None:
    """``"0.1"`` of ``"0.1.0"``: runs are reused across patch releases only."""
    return ".".join(str(version).split(".")[:2]) if version else None


def differing_settings(stored: dict, settings: dict) -> list[str]:
    """``"name: old -> new"`` for every setting whose ``stored`` value differs."""
    changed = []
    for k, v in json.loads(json.dumps(settings)).items():  # tuples become lists
        old = stored.get(k)
        if k == "data_fingerprint":
            if not isinstance(old, dict) or old.get("digest") != v.get("digest"):
                was = old.get("summary") if isinstance(old, dict) else "not recorded"
                same = was == v.get("summary")
                same = " (same counts, other names, sizes or dates)" if same else ""
                changed.append(f"data: {was} -> {v.get('summary')}{same}")
        elif k == "package_version":
            if minor_version(old) != minor_version(v):
                changed.append(f"unet-tutorial version: {old or 'not recorded'} -> {v}")
        elif k != "output_dir" and old != v:
            changed.append(f"{k}: {old!r} -> {v!r}")
    return changed


def prepare_run_folder(
    folder: str | os.PathLike,
    settings: dict,
    *,
    overwrite: bool = False,
    clear: bool = True,
) -> str:
    """Check that a training with ``settings`` may write to ``folder``.

    ``overwrite`` deletes a run found there (its own files only) if ``clear`` (only
    under ``RunLock``). Returns ``"new"`` or ``"resume"``; raises ``RunFolderError``."""
    folder = Path(folder)
    state = run_state(folder)
    if state == "foreign":
        if not folder.is_dir():
            raise RunFolderError(
                f"{folder} is a file, not a folder; name a new folder for the run."
            )
        others = sorted(_names(folder) - set(RUN_FILES.values()))
        what = "a config.json that unet-tutorial did not write"
        if others:
            what = f"files that are not part of a run ({', '.join(others[:5])})"
        raise RunFolderError(
            f"{folder} holds {what}; a run would overwrite or mix with them. Name a "
            "new or empty folder (--output / TrainConfig.output_dir)."
        )
    if state == "empty" or overwrite:
        if state != "empty" and clear:
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
    # config.json and state.json last: a half-cleared folder still reads as a run
    paths = run_paths(folder)
    last = (paths["config"], paths["state"])
    for path in sorted(paths.values(), key=lambda p: p in last):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)


class RunLock:
    """``with RunLock(folder):`` one training at a time writes to a run folder.

    ``fcntl.flock`` on ``run.lock``: the kernel releases it when its process ends,
    however it ends. The file names its holder (for the message)."""

    def __init__(self, folder: str | os.PathLike):
        self.path = Path(folder) / RUN_FILES["lock"]
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl  # POSIX only; imported here so the rest of runs loads anywhere

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 200).decode(errors="replace").strip()
                os.close(fd)
                raise RunFolderError(
                    f"another training ({holder or 'just starting'}) is writing to "
                    f"{self.path.parent}; wait for it to finish, or name another "
                    "folder."
                ) from None
            with contextlib.suppress(FileNotFoundError):
                if os.path.samestat(os.fstat(fd), os.stat(self.path)):
                    break
            os.close(fd)  # its holder removed that file as it finished: lock anew
        left = os.read(fd, 200).decode(errors="replace").strip()
        if left:
            print(
                f"NOTE: took over the stale lock {self.path} ({left}, a training "
                "that is no longer running)."
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        self.path.unlink(missing_ok=True)  # before the lock is released
        os.close(self._fd)


def load_run_model(path: str | os.PathLike):
    """Load a ``.keras`` model written by ``train`` (registers the package's losses and
    metrics).

    Raises:
        FileNotFoundError: no such file.
        ValueError: a folder, or a file that is not a loadable ``.keras`` model."""
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
