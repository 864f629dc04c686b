"""The package as a whole: lazy loading, public names (unet_tutorial/__init__.py)."""

from __future__ import annotations

import pytest

import unet_tutorial as ut


def test_the_package_loads_lazily_and_every_public_name_resolves():
    import subprocess
    import sys

    probe = (
        "import sys, unet_tutorial as ut; ut.TrainConfig.preset('cpu').validate(); "
        "print('tensorflow' in sys.modules)"
    )
    assert (
        subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        ).stdout
        == "False\n"
    )
    for name in ut.__all__:
        assert getattr(ut, name) is not None, name
    assert ut.engine.training.train is ut.train  # submodules resolve too
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        ut.no_such_name  # noqa: B018
