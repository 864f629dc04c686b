"""The checked download of Oxford-IIIT Pet (unet_tutorial.engine.download): sizes and
checksums, resumable archives, safe extraction (all offline: a local "server" folder).
"""

from __future__ import annotations

import io
import socket
import sys
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest

import unet_tutorial as ut
from unet_tutorial.engine import download
from unet_tutorial.engine.download import ChecksumError, safe_extract, sha256_of


def _collect(ds):
    xs, ys = zip(*[(x.numpy(), y.numpy()) for x, y in ds], strict=True)
    return np.concatenate(xs), np.concatenate(ys)


def _tar_gz(path: Path, files: dict[str, bytes]) -> tuple[int, str]:
    with tarfile.open(path, "w:gz") as tar:
        for name, payload in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(payload)
            tar.addfile(info, io.BytesIO(payload))
    return path.stat().st_size, sha256_of(path)


def test_download_verifies_extracts_and_skips_verified(pets_dir, tmp_path, capsys):
    server = tmp_path / "server"
    server.mkdir()
    with tarfile.open(server / "images.tar.gz", "w:gz") as tar:
        tar.add(pets_dir / "images", arcname="images")
    with tarfile.open(server / "annotations.tar.gz", "w:gz") as tar:
        tar.add(pets_dir / "annotations", arcname="annotations")
    archives = {
        n: ((server / n).stat().st_size, sha256_of(server / n))
        for n in ("images.tar.gz", "annotations.tar.gz")
    }
    dest = tmp_path / "dest"
    ut.download_oxford_pets(
        dest, base_url=server.as_uri(), archives=archives, progress=None
    )
    x, _ = _collect(ut.load_pets_directory(dest, "train", image_size=32))
    assert x.shape[0] == 2  # 3 trainval images, 1 held out for validation
    ut.download_oxford_pets(
        dest, base_url=server.as_uri(), archives=archives, progress=sys.stdout
    )
    assert capsys.readouterr().out.count("already downloaded and verified") == 2


def test_download_keeps_edits_a_bad_local_copy_and_no_part_file(tmp_path, capsys):
    server = tmp_path / "server"
    server.mkdir()
    size, sha = _tar_gz(
        server / "annotations.tar.gz", {"annotations/test.txt": b"x 1 1 1\n"}
    )
    archives = {"annotations.tar.gz": (size, sha)}
    dest = tmp_path / "dest"
    ut.download_oxford_pets(
        dest, base_url=server.as_uri(), archives=archives, progress=None
    )
    edited = dest / "annotations" / "test.txt"
    edited.write_text("my edit\n")
    ut.download_oxford_pets(
        dest, base_url=server.as_uri(), archives=archives, progress=sys.stdout
    )
    assert (
        edited.read_text() == "my edit\n"
        and "already extracted" in capsys.readouterr().out
    )
    ut.download_oxford_pets(
        dest,
        base_url=server.as_uri(),
        archives=archives,
        progress=None,
        re_extract=True,
    )
    assert edited.read_text() == "x 1 1 1\n"
    # a wrong local copy is set aside, not deleted, until a good one has arrived
    (dest / "annotations.tar.gz").write_bytes(b"not the archive")
    (server / "annotations.tar.gz").rename(server / "gone.tar.gz")
    with pytest.raises(OSError):
        ut.download_oxford_pets(
            dest, base_url=server.as_uri(), archives=archives, progress=sys.stdout
        )
    assert (dest / "annotations.tar.gz.bad").read_bytes() == b"not the archive"
    assert "kept as annotations.tar.gz.bad" in capsys.readouterr().out
    assert not list(dest.glob("*.part"))
    (server / "gone.tar.gz").rename(server / "annotations.tar.gz")
    ut.download_oxford_pets(
        dest, base_url=server.as_uri(), archives=archives, progress=None
    )
    assert (
        not (dest / "annotations.tar.gz.bad").exists()
        and (dest / "annotations.tar.gz").stat().st_size == size
    )


def test_a_stalled_download_ends_at_the_timeout_and_keeps_nothing(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))
    done = threading.Event()

    def stall():  # the headers and one chunk, then nothing
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 10000\r\n\r\n" + b"x" * 1000)
        done.wait(30)
        conn.close()

    threading.Thread(target=stall, daemon=True).start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/a.tar.gz"
    try:
        with pytest.raises(OSError, match="the server sent nothing for 1 s"):
            download.download_file(url, tmp_path / "a.tar.gz", 10, "0" * 64,
                                   progress=None, timeout=1)  # fmt: skip
    finally:
        done.set()
        listener.close()
    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_fails_and_leaves_nothing(tmp_path):
    server = tmp_path / "server"
    server.mkdir()
    size, _ = _tar_gz(
        server / "annotations.tar.gz", {"annotations/test.txt": b"x 1 1 1\n"}
    )
    dest = tmp_path / "dest"
    with pytest.raises(ChecksumError, match="sha256"):
        ut.download_oxford_pets(
            dest,
            base_url=server.as_uri(),
            archives={"annotations.tar.gz": (size, "0" * 64)},
            progress=None,
        )
    assert list(dest.iterdir()) == []
    with pytest.raises(ChecksumError, match="size"):
        ut.download_oxford_pets(
            dest,
            base_url=server.as_uri(),
            archives={"annotations.tar.gz": (size + 1, "0" * 64)},
            progress=None,
        )


@pytest.mark.parametrize(
    "evil",
    [
        "../escape.txt",
        "/abs/escape.txt",
        "annotations/../../escape.txt",
        "annotations\\..\\..\\escape.txt",
        "\\abs\\escape.txt",
        "C:/escape.txt",
    ],
)
def test_malicious_member_is_refused_and_nothing_is_extracted(tmp_path, evil):
    archive = tmp_path / "evil.tar.gz"
    _tar_gz(archive, {"annotations/ok.txt": b"fine", evil: b"gotcha"})
    dest = tmp_path / "out"
    with pytest.raises(ValueError, match="points outside"):
        safe_extract(archive, dest)
    assert not dest.exists() or list(dest.rglob("*")) == []
    assert not (tmp_path / "escape.txt").exists()


def test_members_named_dot_or_empty_are_the_folder_itself(tmp_path):
    archive = tmp_path / "dots.tar"
    with tarfile.open(archive, "w") as tar:
        for name in (".", "./"):
            info = tarfile.TarInfo(name)
            info.type = tarfile.DIRTYPE
            tar.addfile(info)
        data = b"fine"
        info = tarfile.TarInfo("./annotations/ok.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    assert safe_extract(archive, tmp_path / "out") == ["./annotations/ok.txt"]
    assert (tmp_path / "out" / "annotations" / "ok.txt").read_bytes() == b"fine"


def test_symlink_member_is_refused(tmp_path):
    archive = tmp_path / "link.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("images/link.jpg")
        info.type = tarfile.SYMTYPE
        info.linkname = "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(ValueError, match="link or special file"):
        safe_extract(archive, tmp_path / "out")


def test_verify_file_checks_size_then_sha256_and_the_official_list_is_complete(
    tmp_path,
):
    import hashlib

    path = tmp_path / "a.bin"
    path.write_bytes(b"pets")
    digest = hashlib.sha256(b"pets").hexdigest()
    assert sha256_of(path) == digest
    download.verify_file(path, 4, digest)  # no error
    with pytest.raises(ChecksumError, match="size 4 bytes, expected 5"):
        download.verify_file(path, 5, digest)
    with pytest.raises(ChecksumError, match="sha256 .* expected 0+; the file is"):
        download.verify_file(path, 4, "0" * 64)
    assert set(download.OXFORD_ARCHIVES) == {"images.tar.gz", "annotations.tar.gz"}
    for size, sha in download.OXFORD_ARCHIVES.values():
        assert size > 0 and len(sha) == 64 and int(sha, 16) >= 0
    assert ut.engine.ChecksumError is ChecksumError
