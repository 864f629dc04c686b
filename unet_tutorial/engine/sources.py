"""Where the data comes from, decided in one place (``resolve_source``), so that
every loader, ``train``, the book's profiles and the command line agree on which
data a run used; plus the run cache (``runs_dir``) and the EM data (``isbi_source``)."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from . import download
from .folders import check_oxford_directory, is_mask_folder

OXFORD_DIR_ENV = "UNET_TUTORIAL_OXFORD_DIR"
"""Environment variable that names a folder in the official Oxford-IIIT Pet layout."""

OXFORD_DIR_SOURCE = "$" + OXFORD_DIR_ENV
"""The ``source=`` value for the folder ``$UNET_TUTORIAL_OXFORD_DIR`` names (run
folders record the variable, never a path of this machine)."""

ISBI_DIR_ENV = "UNET_TUTORIAL_ISBI_DIR"
"""Environment variable that names the ISBI 2012 EM folder (images/ + masks/)."""

ISBI_DIR_SOURCE = "$" + ISBI_DIR_ENV
"""The ``source=`` value for the EM folder ``$UNET_TUTORIAL_ISBI_DIR`` names."""

EM_STAND_IN_FOLDER = "synthetic-em-stand-in"
"""The folder name of the synthetic EM stand-in that ``isbi_source`` writes."""

RUNS_ENV = "UNET_TUTORIAL_RUNS"
"""Environment variable that names the run cache folder (``runs_dir``)."""

OXFORD_TFDS_NAME = "oxford_iiit_pet"
OXFORD_TFDS_VERSION = "4.*.*"


def runs_dir() -> Path:
    """The run cache, where finished runs are kept for reuse by later notebooks.

    ``$UNET_TUTORIAL_RUNS``, else ``unet-tutorial/runs`` in ``$XDG_CACHE_HOME``
    or ``~/.cache``."""
    if os.environ.get(RUNS_ENV):
        return Path(os.environ[RUNS_ENV]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "unet-tutorial" / "runs"


def data_fingerprint(data: DataSource) -> dict:
    """What identifies the data a run was trained on, so a changed data set is never
    mistaken for the old one.

    A folder's file names (hidden ones aside), sizes and modification times; tfds'
    name and version; the stand-in's name. Returns ``{"summary": a few words for a
    message ("folder em: 48 files, 11.2 MB"), "digest": their hex sha256}``.
    """
    if data.kind == "synthetic":
        summary, text = "the synthetic stand-in", "synthetic"
    elif data.kind == "tfds":
        summary = text = f"tfds {OXFORD_TFDS_NAME} {oxford_builder(data.path).version}"
    else:
        root = Path(data.path)
        entries, size = [], 0
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(root)
            if any(part.startswith(".") for part in rel.parts) or not path.is_file():
                continue
            stat = path.stat()
            size += stat.st_size
            entries.append(f"{rel.as_posix()}\t{stat.st_size}\t{stat.st_mtime_ns}")
        summary = f"folder {_name(root)}: {len(entries)} files, {size / 1e6:.1f} MB"
        text = "\n".join(entries)
    return {"summary": summary, "digest": hashlib.sha256(text.encode()).hexdigest()}


class DataUnavailableError(RuntimeError):
    """Oxford-IIIT Pet was asked for but cannot be loaded here."""


HOW_TO_GET_OXFORD = (
    "Oxford-IIIT Pet is not available on this machine. Ways to get it: (1) online, "
    "source='oxford' downloads and prepares it through TensorFlow Datasets (about "
    "800 MB); (2) unet_tutorial.download_oxford_pets('data/oxford_pets') fetches and "
    "checks the two official archives: then pass source='data/oxford_pets' (or "
    f"--source data/oxford_pets); (3) set {OXFORD_DIR_ENV} to a folder of the "
    "extracted archives (images/ and annotations/), or pass it as the source; (4) "
    "pass the folder where TensorFlow Datasets prepared it as data_dir=. Else "
    "source='synthetic' (or 'auto') uses the synthetic stand-in."
)

_UNSET = {  # what a $VARIABLE source's variable should name
    OXFORD_DIR_ENV: "the folder of the extracted Oxford-IIIT Pet archives",
    ISBI_DIR_ENV: "a folder of images/ and masks/ (isbi_source() downloads one, "
    "else writes a synthetic stand-in)",
}


@dataclass(frozen=True)
class DataSource:
    """A resolved data source: which route, where, and why it was chosen.

    Attributes:
        kind: ``"tfds"``, ``"directory"`` (the official Oxford layout),
            ``"folder"`` (images/ + masks/, ``engine.folders``) or ``"synthetic"``.
        path: the folder; for ``"tfds"`` its ``data_dir`` (``None``: the default).
        download: a ``"tfds"`` source that tfds will download first.
        reason: one sentence on why it was chosen (a folder named by its last part).
        env: the environment variable that named the folder, else ``None``.
    """

    kind: str
    path: str | None = None
    download: bool = False
    reason: str = ""
    env: str | None = None

    @property
    def source(self) -> str:
        """The ``source=`` that selects this data again (no path: ``$VAR`` if named)."""
        if self.kind not in ("directory", "folder"):
            return self.kind
        return f"${self.env}" if self.env else self.path

    @property
    def is_stand_in(self) -> bool:
        """``True`` for the synthetic stand-in (not Oxford-IIIT Pet results)."""
        return self.kind == "synthetic"


def oxford_builder(
    data_dir: str | os.PathLike | None = None, version: str = OXFORD_TFDS_VERSION
):
    """The TensorFlow Datasets builder of ``oxford_iiit_pet`` in ``data_dir``."""
    import tensorflow_datasets as tfds

    data_dir = None if data_dir is None else os.fspath(data_dir)
    return tfds.builder(f"{OXFORD_TFDS_NAME}:{version}", data_dir=data_dir)


def oxford_pets_prepared(data_dir: str | os.PathLike | None = None) -> bool:
    """Whether TensorFlow Datasets has Oxford-IIIT Pet 4.x prepared (no network)."""
    try:
        return bool(oxford_builder(data_dir).is_prepared())
    except Exception:
        return False


def oxford_server_reachable(timeout: float = 3.0) -> bool:
    """Whether the official Oxford-IIIT Pet server answers a HEAD request in time."""
    url = download.OXFORD_BASE_URL + "annotations.tar.gz"
    req = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return 200 <= resp.status < 400
    except (OSError, ValueError):  # URLError and timeouts are OSErrors
        return False


@cache
def _server_reachable_once() -> bool:
    # one probe per process: a page that loads three splits waits for the network once
    return oxford_server_reachable()


def _name(folder: Path) -> str:
    """A folder's last part (``oxford-pets-subset``), for messages a page shows."""
    return folder.name or folder.resolve().name or str(folder)


def _env_source(env: str) -> DataSource | None:
    """The folder ``$env`` names, checked for its layout; ``None`` when unset."""
    value = os.environ.get(env, "").strip()
    if not value:
        return None
    folder, oxford = Path(value).expanduser(), env == OXFORD_DIR_ENV
    try:
        if oxford:
            check_oxford_directory(folder)
        elif not is_mask_folder(folder):
            raise FileNotFoundError("it has no images/ and masks/ folders.")
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{env}={value!r}: {err} Fix the variable or unset it."
        ) from err
    reason = f"{env} names the folder {_name(folder)}."
    kind = "directory" if oxford else "folder"
    return DataSource(kind, str(folder), reason=reason, env=env)


def _folder_source(source: str | os.PathLike) -> DataSource:
    """A folder asked for by its path: images/ + masks/, or the Oxford layout."""
    is_path = isinstance(source, os.PathLike) or (
        isinstance(source, str) and ({os.sep, "/"} & {*source} or Path(source).exists())
    )
    if not is_path:  # a word that is no keyword, or not a str at all (None)
        raise ValueError(
            f"source={source!r} is not known: use 'auto', 'oxford', 'tfds', "
            "'synthetic', or a folder's path (images/ + masks/, or Oxford-IIIT Pet)."
        )
    path = Path(source).expanduser()
    if is_mask_folder(path) and not (path / "annotations").is_dir():
        reason = f"the folder {path.name} (images and masks) was asked for."
        return DataSource("folder", str(path), reason=reason)
    try:
        root = check_oxford_directory(path)
    except FileNotFoundError as err:
        raise FileNotFoundError(
            f"{err} For your own data, `unet-tutorial check-data --help` lists "
            "the layouts that are read."
        ) from None
    reason = f"the folder {_name(root)} was asked for."
    return DataSource("directory", str(root), reason=reason)


def resolve_source(
    source: str | os.PathLike = "auto",
    data_dir: str | os.PathLike | None = None,
) -> DataSource:
    """Decide which data ``source`` means on this machine, without loading it.

    Args:
        source: ``"auto"`` (Oxford-IIIT Pet, else the stand-in: tries a prepared
            tfds copy, ``$UNET_TUTORIAL_OXFORD_DIR``, a tfds download if the
            server answers), ``"oxford"`` (the same, else an error), ``"tfds"``
            (only TensorFlow Datasets), ``"synthetic"``, a folder (``images/`` +
            ``masks/``, or Oxford's layout), ``OXFORD_DIR_SOURCE`` or
            ``ISBI_DIR_SOURCE`` (the folder the variable names).
        data_dir: TensorFlow Datasets' data folder (``None``: its default).

    Raises ``ValueError`` (an unknown ``source``), ``FileNotFoundError`` (a folder
    in neither layout) or ``DataUnavailableError`` (``"oxford"`` or ``"tfds"`` not
    to be had, decided within seconds, or a ``$VARIABLE`` source's variable unset).
    """
    tfds_dir = None if data_dir is None else os.fspath(data_dir)
    if source in (OXFORD_DIR_SOURCE, ISBI_DIR_SOURCE):
        env = source[1:]
        if found := _env_source(env):
            return found
        raise DataUnavailableError(
            f"source={source!r} means the folder {env} names, which is not set "
            f"here. Set it to {_UNSET[env]}, or pass the folder as the source."
        )
    if source not in ("auto", "oxford", "tfds", "synthetic"):
        return _folder_source(source)
    if source == "synthetic":
        return DataSource("synthetic", reason="the synthetic stand-in was asked for.")
    if oxford_pets_prepared(tfds_dir):
        reason = "TensorFlow Datasets has oxford_iiit_pet 4.x prepared."
        return DataSource("tfds", tfds_dir, reason=reason)
    if source != "tfds" and (found := _env_source(OXFORD_DIR_ENV)):
        return found
    if _server_reachable_once():
        reason = "the Oxford server answers: tfds downloads it."
        return DataSource("tfds", tfds_dir, download=True, reason=reason)
    if source == "auto":
        return DataSource(
            "synthetic",
            reason="Oxford-IIIT Pet is not prepared, no folder is named, and the "
            "Oxford server does not answer.",
        )
    raise DataUnavailableError(HOW_TO_GET_OXFORD)


SYNTHETIC_EM_SLICES = 12
"""Slices of the synthetic EM stand-in that ``isbi_source`` writes."""


def write_synthetic_em(
    dest: str | os.PathLike, slices: int = SYNTHETIC_EM_SLICES, size: int = 256
) -> Path:
    """Write the synthetic EM stand-in (``make_synthetic_cells``) as an images +
    masks folder (masks 0 = membrane, 255 = cell) with ``classes.txt`` and a README.
    """
    from PIL import Image

    from ..synthetic import make_synthetic_cells

    dest = Path(dest)
    for n in range(slices):
        image, mask = make_synthetic_cells(size, num_cells=size // 4, seed=n)
        for folder, array in (("images", image), ("masks", mask * 255)):
            (dest / folder).mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(dest / folder / f"slice_{n:02d}.png")
    (dest / "classes.txt").write_text(download.ISBI2012_CLASSES, encoding="utf-8")
    (dest / "README.txt").write_text(
        "A SYNTHETIC STAND-IN for the ISBI 2012 EM slices (Voronoi cells, "
        "make_synthetic_cells): results on it are not ISBI 2012 results.\n",
        encoding="utf-8",
    )
    return dest


def isbi_source(cache_dir: str | os.PathLike | None = None, *, verbose: bool = True):
    """The ``source=`` of the EM data (ISBI 2012) on this machine.

    ``ISBI_DIR_SOURCE`` if that variable names a folder, else ``download_isbi2012``
    into ``cache_dir / "isbi2012-em"`` (default ``cache_dir``: ``runs_dir() / "data"``),
    else the synthetic stand-in (``write_synthetic_em``) in ``cache_dir /
    EM_STAND_IN_FOLDER``, announced loudly. ``verbose``: say which."""
    if named := _env_source(ISBI_DIR_ENV):  # checks the folder
        if verbose:
            print(f"EM data: {named.reason}")
        return ISBI_DIR_SOURCE
    cache = Path(runs_dir() / "data" if cache_dir is None else cache_dir)
    try:
        folder = download.download_isbi2012(cache / "isbi2012-em", progress=None)
        if verbose:
            print("EM data: the ISBI 2012 slices, downloaded (or found) in the cache.")
        return str(folder)
    except OSError as err:
        reason = str(err).split(". ")[0]
    folder = cache / EM_STAND_IN_FOLDER
    if not (folder / "classes.txt").is_file():
        write_synthetic_em(folder)
    print(
        "NOTE: the ISBI 2012 EM slices are not available here "
        f"({reason}); using a SYNTHETIC STAND-IN of Voronoi cells instead. Results "
        "below are not ISBI 2012 results."
    )
    return str(folder)
