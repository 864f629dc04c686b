"""The memory check before building or training (unet_tutorial.footprint): it compares
the estimate with the memory available now, read from a stand-in ``/proc/meminfo``.

The parameter count itself, and the command line's refusals, are tested in
``test_reliability.py`` (case 12).
"""

from __future__ import annotations

import pytest

from unet_tutorial import footprint
from unet_tutorial.footprint import (
    available_memory,
    check_model_fits,
    check_training_fits,
    machine_memory,
)

GIB = 1024**3


def _meminfo(tmp_path, monkeypatch, total_gib: float, available_gib: float | None):
    lines = [f"MemTotal:       {int(total_gib * GIB / 1024)} kB"]
    lines.append("MemFree:          123456 kB")
    if available_gib is not None:
        lines.append(f"MemAvailable:   {int(available_gib * GIB / 1024)} kB")
    path = tmp_path / "meminfo"
    path.write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(footprint, "MEMINFO", str(path))
    monkeypatch.setattr(footprint, "machine_memory", lambda: int(total_gib * GIB))


def test_available_memory_is_memavailable_else_the_total(tmp_path, monkeypatch):
    _meminfo(tmp_path, monkeypatch, total_gib=64, available_gib=2)
    assert available_memory() == 2 * GIB
    _meminfo(tmp_path, monkeypatch, total_gib=64, available_gib=None)
    assert available_memory() == 64 * GIB
    monkeypatch.setattr(footprint, "MEMINFO", str(tmp_path / "missing"))
    assert available_memory() == 64 * GIB


def test_the_real_reading_is_at_most_the_machine():
    have, total = available_memory(), machine_memory()
    if have is not None and total is not None:
        assert 0 < have <= total


def test_training_is_refused_beyond_the_memory_available_now(tmp_path, monkeypatch):
    settings = dict(image_size=512, batch_size=16, base_filters=64, depth=4)
    # fits in the machine's 64 GiB, not in the 2 GiB that other programs leave
    _meminfo(tmp_path, monkeypatch, total_gib=64, available_gib=64)
    check_training_fits(**settings)
    _meminfo(tmp_path, monkeypatch, total_gib=64, available_gib=2)
    with pytest.raises(ValueError) as err:
        check_training_fits(**settings)
    text = str(err.value)
    assert "training at image_size=512, batch_size=16" in text
    assert "more than the 2.1 GB available now (this machine has 68.7 GB" in text
    assert text.endswith("(--size, --batch-size, --base-filters, --depth).")
    # the estimate it names is the one it compares
    need = float(text.split("needs about ")[1].split(" GB")[0].replace(",", ""))
    assert 2 * GIB / 1e9 < need < 64 * GIB / 1e9


def test_without_memavailable_the_total_is_compared(tmp_path, monkeypatch):
    _meminfo(tmp_path, monkeypatch, total_gib=1, available_gib=None)
    with pytest.raises(ValueError, match=r"more than this machine's 1\.1 GB; lower "):
        check_model_fits(base_filters=64, depth=7)
    check_model_fits(base_filters=4, depth=2)
