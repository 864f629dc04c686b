"""Argument checks (unet_tutorial.checks)."""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


def test_is_whole_refuses_bools_floats_and_small_values():
    from unet_tutorial.checks import is_whole

    assert is_whole(3) and is_whole(0, 0) and is_whole(-5, None)
    assert not any(
        [is_whole(True), is_whole(2.0), is_whole("2"), is_whole(0), is_whole(15, 16)]
    )
    assert not is_whole(np.int64(4)) and is_whole(np.int64(4), numpy_ok=True)
    with pytest.raises(ValueError, match="epochs=True must be a positive integer"):
        ut.TrainConfig(epochs=True).validate()
