"""Static figures (unet_tutorial.figures)."""

from __future__ import annotations

import numpy as np

import unet_tutorial as ut


def test_figures_carry_the_data_credit():
    import matplotlib.pyplot as plt

    x = np.zeros((2, 16, 16, 3), np.float32)
    y = np.zeros((2, 16, 16), np.int32)
    fig = ut.plot_samples(x, y, credit=ut.data_credit(False))
    assert any("CC BY-SA 4.0" in t.get_text() for t in fig.texts)
    plt.close(fig)
    fig = ut.plot_samples(x, y)
    assert not fig.texts
    plt.close(fig)
    assert "not Oxford-IIIT Pet" in ut.data_credit(True)
    with_credit = ut.animation.training_frames(x, y, [y], credit=ut.ATTRIBUTION)[0]
    without = ut.animation.training_frames(x, y, [y])[0]
    assert with_credit.shape == without.shape and not np.array_equal(
        with_credit, without
    )
