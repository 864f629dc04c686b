"""Checked downloads: the official Oxford-IIIT Pet archives (verified, extracted
safely; ``load_pets_directory`` reads them) and the ISBI 2012 EM slices."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import socket
import sys
import tarfile
from importlib.resources import files
from pathlib import Path

OXFORD_BASE_URL = "https://thor.robots.ox.ac.uk/~vgg/data/pets/"
"""The official server (the one TensorFlow Datasets 4.9.x downloads from)."""

OXFORD_ARCHIVES: dict[str, tuple[int, str]] = {
    "images.tar.gz": (
        791_918_971,
        "67195c5e1c01f1ab5f9b6a5d22b8c27a580d896ece458917e61d459337fa318d",
    ),
    "annotations.tar.gz": (
        19_173_078,
        "52425fb6de5c424942b7626b428656fcbd798db970a937df61750c0f1d358e91",
    ),
}
"""Archive name -> (size in bytes, sha256), as TensorFlow Datasets 4.9.x has them."""


class ChecksumError(RuntimeError):
    """A downloaded file does not have the expected size or sha256."""


def sha256_of(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: str | os.PathLike, size: int, sha256: str) -> None:
    """Raise ``ChecksumError`` unless ``path`` has exactly this size and sha256."""
    if (actual := os.path.getsize(path)) != size:
        raise ChecksumError(
            f"{path}: size {actual} bytes, expected {size}; the download is "
            "incomplete or wrong."
        )
    if (digest := sha256_of(path)) != sha256:
        raise ChecksumError(
            f"{path}: sha256 {digest}, expected {sha256}; the file is corrupt or not "
            "the official one."
        )


def download_file(
    url: str,
    dest: str | os.PathLike,
    size: int | None,
    sha256: str,
    *,
    progress=sys.stderr,
    timeout: float = 60.0,
) -> Path:
    """Download ``url`` to ``dest`` with ``keras.utils.get_file``, which checks the
    sha256.

    Own code for what ``get_file`` lacks: the file gets its name only once verified
    (``.part`` first: a kill leaves no half file under the name), a server silent
    for ``timeout`` seconds ends the download, a wrong file is deleted (then
    ``ChecksumError``), a failure is one ``OSError`` (nothing kept), and progress
    goes to ``progress`` (a stream or ``None``).
    """
    from keras.utils import get_file

    dest = Path(dest)
    part = dest.with_name(dest.name + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not os.access(dest.parent, os.W_OK):  # get_file would write to /tmp instead
        raise PermissionError(f"cannot write to {dest.parent}; name another folder.")
    before, wrong = socket.getdefaulttimeout(), False
    socket.setdefaulttimeout(timeout)  # get_file's urlopen takes no timeout of its own
    try:
        with contextlib.redirect_stdout(progress or io.StringIO()):
            get_file(
                part.name, url, file_hash=sha256, cache_dir=dest.parent, cache_subdir=""
            )
    except TimeoutError as err:
        raise OSError(
            f"{url}: the server sent nothing for {timeout:g} s and the download was "
            "stopped (nothing kept). Run the same call again to retry, or use a "
            "mirror (base_url=...)."
        ) from err
    except ValueError:  # get_file found the hash wrong, and kept the file
        wrong = True
    except Exception as err:  # get_file's bare Exception for a URL it cannot fetch
        raise OSError(f"cannot download {url}: {err}") from err
    finally:
        socket.setdefaulttimeout(before)
    if wrong:  # the error names the size or the sha256
        try:
            verify_file(part, part.stat().st_size if size is None else size, sha256)
        finally:
            part.unlink(missing_ok=True)
    return part.replace(dest)


def safe_extract(archive: str | os.PathLike, dest: str | os.PathLike) -> list[str]:
    """Extract a tar archive into ``dest`` after checking every member; return the
    extracted names (``.`` aside). ``ValueError`` names the first unsafe member.

    Own checks beside ``tarfile``'s ``"data"`` filter, which refuses a member only when
    it reaches it (those before are written), turns ``/abs`` into ``abs`` and on POSIX
    passes names that escape on Windows: absolute paths, ``..`` (either separator),
    drive names, links and special files are refused before anything is written.
    """
    with tarfile.open(archive, "r:*") as tar:
        members = tar.getmembers()
        for m in members:
            parts = m.name.replace("\\", "/").split("/")
            if m.name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
                why = "points outside the folder"
            elif not (m.isfile() or m.isdir()):
                why = "is a link or special file"
            else:
                continue
            raise ValueError(f"refusing to extract {archive}: member {m.name!r} {why}.")
        Path(dest).mkdir(parents=True, exist_ok=True)
        # the filter exists from Python 3.10.12 / 3.11.4 on; the checks above suffice
        safe = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
        tar.extractall(dest, **safe)
    return [m.name for m in members if m.name.strip("./")]


def download_oxford_pets(
    dest: str | os.PathLike = "data/oxford_pets",
    *,
    base_url: str = OXFORD_BASE_URL,
    archives: dict[str, tuple[int, str]] | None = None,
    extract: bool = True,
    re_extract: bool = False,
    progress=sys.stderr,
) -> Path:
    """Fetch the two official archives (about 811 MB), verify and extract them.

    ``archives``: ``{name: (size, sha256)}`` (default ``OXFORD_ARCHIVES``). One
    already in ``dest`` with the right sum is not fetched again; one that does not
    match is kept as ``<name>.bad`` until a good copy arrives. An archive extracted
    before (marker ``.extracted-<name>``) is not extracted again, keeping edited
    files, unless ``re_extract``. ``base_url`` may be a mirror or ``file://``;
    ``progress``: a text stream or ``None``. Returns ``dest``. Raises
    ``ChecksumError`` (a wrong download, deleted), ``ValueError`` (an unsafe archive
    member: nothing extracted) or ``OSError`` (no server).
    """
    dest, say = Path(dest), (progress or io.StringIO()).write
    archives = OXFORD_ARCHIVES if archives is None else archives
    base = base_url if base_url.endswith("/") else base_url + "/"
    for name, (size, sha256) in archives.items():
        path, bad = dest / name, dest / f"{name}.bad"
        if path.is_file():
            try:
                verify_file(path, size, sha256)
                say(f"{name}: already downloaded and verified\n")
            except ChecksumError as err:
                path.replace(bad)
                say(
                    f"{name}: the copy in {dest} does not match ({err}); kept as "
                    f"{bad.name}, downloading\n"
                )
        if not path.is_file():
            download_file(base + name, path, size, sha256, progress=progress)
            if bad.exists():
                bad.unlink()
                say(f"{name}: a good copy arrived; removed {bad.name}\n")
        marker = dest / f".extracted-{name}"
        done = marker.is_file() and marker.read_text().strip() == sha256
        if extract and done and not re_extract:
            again = "edited files are kept; re_extract=True extracts again"
            say(f"{name}: already extracted ({again})\n")
        elif extract:
            safe_extract(path, dest)
            marker.write_text(sha256 + "\n")
    return dest


# ------------------------------------------------------------ ISBI 2012 EM segmentation

ISBI2012_COMMIT = "b45af4d458437d8281cc218a07fd4380818ece4a"
"""The commit of ``zhixuhao/unet`` whose raw files ``download_isbi2012`` reads."""

ISBI2012_BASE_URL = f"https://raw.githubusercontent.com/zhixuhao/unet/{ISBI2012_COMMIT}"
"""Raw files of that commit (``data/membrane/train/image|label/N.png``)."""

ISBI2012_SLICES = 30
"""Slices of the challenge's public training stack (512 x 512, 8-bit grayscale)."""

ISBI2012_SPLITS = dict(train=range(18), validation=range(18, 20), test=range(20, 24))
"""The split lists ``download_isbi2012`` writes, by position (neighbouring sections
look alike): the default split of the first 24 slices; slices 24-29 in no list."""

ISBI2012_CLASSES = "membrane 0\ncell 255\n"
"""``classes.txt`` of the EM folder: 0 = membrane, 255 = cell interior."""

ISBI2012_CITATION = (
    "ISBI 2012 challenge 'Segmentation of neuronal structures in EM stacks', training "
    "stack (serial-section TEM of the Drosophila first-instar larva ventral nerve "
    "cord), as redistributed in github.com/zhixuhao/unet (commit b45af4d). No licence "
    "file accompanies the data. Cite: A. Cardona et al., PLoS Biology 8(10): e1000502, "
    "2010; I. Arganda-Carreras et al., Frontiers in Neuroanatomy 9:142, 2015."
)


def isbi2012_sums() -> dict[str, str]:
    """``{upstream path: sha256}`` of the 60 upstream files (a copy in the package)."""
    text = files("unet_tutorial.assets").joinpath("isbi2012_upstream_sha256sums.txt")
    words = text.read_text(encoding="utf-8").split()  # "<sha256> <path>" lines
    return dict(zip(words[1::2], words[::2], strict=True))


def download_isbi2012(
    dest: str | os.PathLike = "data/isbi2012-em",
    *,
    base_url: str = ISBI2012_BASE_URL,
    sums: dict[str, str] | None = None,
    split_lists: bool = True,
    timeout: float = 20.0,
    progress=sys.stderr,
) -> Path:
    """Fetch the ISBI 2012 EM training stack (30 slices and labels, about 12 MB).

    Each file is checked against ``sums`` (default ``isbi2012_sums()``; one already
    there with its sum is not fetched again) and written as ``images/`` and
    ``masks/slice_NN.png``, with ``classes.txt``, the split lists
    (``ISBI2012_SPLITS``, unless ``split_lists=False``) and a ``README.txt``.
    Raises ``OSError`` (no server: the first file fails at once) or
    ``ChecksumError`` (a file does not match its sum; nothing written for it).
    """
    dest, say = Path(dest), (progress or io.StringIO()).write
    sums = isbi2012_sums() if sums is None else sums
    jobs = [
        (path, dest / folder / f"slice_{n:02d}.png")
        for folder, upstream in (("images", "image"), ("masks", "label"))
        for n in range(ISBI2012_SLICES)
        if (path := f"data/membrane/train/{upstream}/{n}.png") in sums
    ]
    if not jobs:
        raise ValueError("sums names none of the upstream files; nothing to fetch.")
    todo = [(p, t) for p, t in jobs if not (t.is_file() and sha256_of(t) == sums[p])]
    for i, (path, target) in enumerate(todo, 1):  # download_file makes the folders
        url = f"{base_url.rstrip('/')}/{path}"
        try:
            download_file(url, target, None, sums[path], progress=None, timeout=timeout)
        except ChecksumError as err:
            raise ChecksumError(
                f"{url}: sha256 does not match the published sum {sums[path]} "
                f"(nothing written; {err})"
            ) from None
        except OSError as err:
            raise OSError(
                f"cannot download {url} ({err}). The ISBI 2012 slices need "
                "internet access once; on an offline machine copy a downloaded folder "
                "and pass its path instead."
            ) from err
        say(f"\rISBI 2012: {i}/{len(todo)} files")
    kept = len(jobs) - len(todo)
    say(f"\rISBI 2012: {len(todo)} fetched, {kept} already there, in {dest.name}\n")
    (dest / "classes.txt").write_text(ISBI2012_CLASSES, encoding="utf-8")
    if split_lists:
        for split, slices in ISBI2012_SPLITS.items():
            text = "".join(f"slice_{n:02d}\n" for n in slices)
            (dest / f"{split}.txt").write_text(text, encoding="utf-8")
    (dest / "README.txt").write_text(ISBI2012_CITATION + "\n", encoding="utf-8")
    return dest
