"""Static figures (unet_tutorial.pictures.figures)."""

from __future__ import annotations

import numpy as np
import pytest

import unet_tutorial as ut


def test_figures_carry_the_data_credit():
    import matplotlib.pyplot as plt

    from unet_tutorial.pictures import animation

    x = np.zeros((2, 16, 16, 3), np.float32)
    y = np.zeros((2, 16, 16), np.int32)
    fig = ut.plot_samples(x, y, credit=ut.data_credit(False))
    assert any("CC BY-SA 4.0" in t.get_text() for t in fig.texts)
    plt.close(fig)
    fig = ut.plot_samples(x, y)
    assert not fig.texts
    plt.close(fig)
    assert "not Oxford-IIIT Pet" in ut.data_credit(True)
    with_credit = animation.training_frames(x, y, [y], credit=ut.ATTRIBUTION)[0]
    without = animation.training_frames(x, y, [y])[0]
    assert with_credit.shape == without.shape and not np.array_equal(
        with_credit, without
    )


def test_captioned_shows_a_pyplot_figure_once_with_its_caption_and_alt_text():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    shown = ut.captioned(
        fig, "A falling line, made up for this test.", alt="One line falling"
    )
    assert isinstance(shown, ut.Drawing)
    # pyplot lets go of it: the notebook's inline backend will not show it again
    assert not plt.fignum_exists(fig.number)
    page = shown._repr_html_()
    assert 'alt="One line falling"' in page
    assert "<figcaption" in page and "made up for this test." in page
    # cropped to what is drawn, like the inline display it replaces
    import io

    from PIL import Image

    width, height = Image.open(io.BytesIO(shown._repr_png_())).size
    assert width < 3 * fig.dpi and height <= 2 * fig.dpi


def test_captioned_refuses_an_empty_caption_or_alt_text_and_a_non_figure():
    import matplotlib.pyplot as plt

    fig, _ = plt.subplots()
    with pytest.raises(ValueError, match="caption is empty"):
        ut.captioned(fig, " ", alt="something")
    with pytest.raises(ValueError, match="alt is empty"):
        ut.captioned(fig, "A caption.", alt="")
    with pytest.raises(ValueError, match="matplotlib Figure"):
        ut.captioned(np.zeros((4, 4)), "A caption.", alt="an array")
    plt.close(fig)


def test_captioned_refuses_text_a_page_would_show_too_small_or_rotated():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(14, 3))  # shrunk to half on a 700 px page
    ax.set_title("a 10 pt title", fontsize=10)
    ax.set_axis_off()
    assert [t for t, *_ in ut.illegible_texts(fig)] == ["a 10 pt title"]
    with pytest.raises(ValueError, match=r"'a 10 pt title': \d\.\d px"):
        ut.captioned(fig, "A wide figure.", alt="A title only")

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title("legible at 6 in")
    assert ut.illegible_texts(fig) == []
    ax.set_ylabel("sideways")
    assert ut.illegible_texts(fig) == [("sideways", 13.9, 90.0)]
    ax.set_axis_off()  # an axis switched off draws no label
    assert ut.illegible_texts(fig) == []
    ax.set_axis_on()
    ax.set_ylabel("sideways", rotation=0)
    assert ut.illegible_texts(fig) == []
    plt.close(fig)


def test_receptive_field_figure_boxes_the_non_zero_window_and_the_central_square():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    field = np.zeros((20, 20))
    field[3:12, 5:16] = 1.0  # a flat window: its box is the whole non-zero region
    field[7, 10] = 100.0  # a sharp peak that holds most of the total
    fig = ut.plot_receptive_fields({"flat window, sharp peak": field}, fraction=0.5)
    boxes = sorted(
        (p.get_xy(), p.get_width(), p.get_height())
        for p in fig.axes[0].patches
        if isinstance(p, Rectangle)
    )
    assert ((4.5, 2.5), 11, 9) in boxes  # columns 5..15, rows 3..11
    top, left, width = ut.central_square(field, 0.5)
    assert width == 1 and ((left - 0.5, top - 0.5), 1, 1) in boxes
    assert not ut.illegible_texts(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="empty"):
        ut.plot_receptive_fields({})


def test_class_colours_are_distinct_okabe_ito_colours_in_class_order():
    okabe_ito = set(ut.OKABE_ITO.values())
    assert len(okabe_ito) == 8
    colours = [tuple(int(v) for v in c) for c in ut.CLASS_COLORS]
    assert len(colours) == len(ut.CLASS_NAMES)
    assert all(c in okabe_ito for c in colours), colours
    assert len(set(colours)) == len(colours), "two classes share a colour"
    for k, name in enumerate(ut.CLASS_NAMES):
        assert colours[k] == ut.OKABE_ITO[ut.CLASS_COLOR_NAMES[name]]
    # apart in lightness too (relative luminance, sRGB), so they differ without hue
    lin = np.asarray(colours) / 255.0
    lin = np.where(lin <= 0.04045, lin / 12.92, ((lin + 0.055) / 1.055) ** 2.4)
    luminance = np.sort(lin @ np.array([0.2126, 0.7152, 0.0722]))
    assert np.diff(luminance).min() > 0.1, luminance
    # every mask and overlay is coloured from them
    np.testing.assert_array_equal(
        ut.mask_to_rgb(np.arange(len(colours))[None])[0], ut.CLASS_COLORS
    )
    image = np.zeros((1, len(colours), 3), np.uint8)
    over = ut.overlay_mask(image, np.arange(len(colours))[None], alpha=1.0)
    np.testing.assert_array_equal(over[0], ut.CLASS_COLORS)


def test_a_drawing_shows_as_an_svg_laid_out_at_the_png_width():
    """Pages get vector figures (sharp when a phone shrinks them), as wide as the PNG."""
    import base64
    import io
    import re

    import matplotlib.pyplot as plt
    from PIL import Image

    fig, ax = plt.subplots(figsize=(4, 2), dpi=90)
    ax.plot([0, 1], [1, 0])
    ax.set_title("a falling line")
    shown = ut.captioned(fig, "A falling line, made up for this test.", alt="A line")
    page = shown._repr_html_()
    data = re.search(r'<img src="data:image/svg\+xml;base64,([^"]+)"', page)
    assert data, page[:200]
    svg = base64.b64decode(data.group(1))
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg
    png_width = Image.open(io.BytesIO(shown.png())).size[0]
    width = int(re.search(r'<img [^>]*\bwidth="(\d+)"', page).group(1))
    assert abs(width - png_width) <= 1, (width, png_width)
    assert shown.svg() == svg  # no date or random ids: the same figure, the same bytes


def test_masks_of_up_to_eight_classes_get_distinct_okabe_ito_colours():
    mask = np.arange(8).reshape(2, 4)
    rgb = ut.mask_to_rgb(mask)
    colours = {tuple(c) for c in rgb.reshape(-1, 3)}
    assert len(colours) == 8 and colours == set(ut.OKABE_ITO.values())
    np.testing.assert_array_equal(rgb[0, :3], ut.CLASS_COLORS)  # pets' classes first
    with pytest.raises(ValueError, match="class indices 0..7"):
        ut.mask_to_rgb(np.full((2, 2), 255))
