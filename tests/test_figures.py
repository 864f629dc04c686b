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


def _img(page: str) -> tuple[str, bytes, dict]:
    """The first image of a figure's HTML: its format, bytes and attributes."""
    import base64
    import re

    tag = re.search(r"<img\b[^>]*>", page).group(0)
    src = re.search(r'src="data:image/(\w+);base64,([^"]+)"', tag)
    attributes = dict(re.findall(r'([\w-]+)="([^"]*)"', tag.replace(src.group(0), "")))
    return src.group(1), base64.b64decode(src.group(2)), attributes


def _box(page: str) -> tuple[int, int]:
    """The width and the narrowest width (CSS px) of a figure's image box."""
    import re

    box = re.search(
        r'class="ut-fit" style="width:(\d+)px;max-width:100%;min-width:(\d+)px"', page
    )
    return int(box.group(1)), int(box.group(2))


def test_a_drawing_is_drawn_at_twice_its_size_and_laid_out_at_its_own():
    """Sharp on a 2x screen: the image has DENSITY pixels per CSS pixel of its box."""
    import io

    import matplotlib.pyplot as plt
    from PIL import Image

    from unet_tutorial.pictures import page as P

    fig, ax = plt.subplots(figsize=(4, 2), dpi=90)
    ax.plot([0, 1], [1, 0])
    ax.set_title("a falling line")
    shown = ut.captioned(fig, "A falling line, made up for this test.", alt="A line")
    html = shown._repr_html_()
    fmt, data, attributes = _img(html)
    assert fmt == "png" and attributes["alt"] == "A line"
    assert attributes["class"] == "ut-img" and "width:100%" in attributes["style"]
    with Image.open(io.BytesIO(data)) as im:
        width_2x = im.size[0]
    with Image.open(io.BytesIO(shown.png())) as im:
        width_1x = im.size[0]
    width, _ = _box(html)
    assert P.DENSITY == 2 and abs(width_2x - 2 * width_1x) <= 2
    assert abs(width - width_1x) <= 1, (width, width_1x)
    assert shown._repr_html_() == html  # the same figure, the same bytes


def test_on_a_phone_a_figure_keeps_the_width_its_smallest_text_needs():
    """The box never gets narrower than where its smallest text is PHONE_TEXT_PX high
    (it scrolls sideways instead); the panel is white with dark text (dark mode)."""
    import matplotlib.pyplot as plt

    from unet_tutorial.pictures import page as P

    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.imshow(np.eye(8))
    ax.set_axis_off()
    ax.set_title("a 9 pt title", fontsize=9)  # 12.5 px at 100 dpi
    html = ut.captioned(fig, "A caption.", alt="A diagonal")._repr_html_()
    width, narrowest = _box(html)
    assert narrowest == int(np.ceil(width * P.PHONE_TEXT_PX / 12.5)) < width
    assert "overflow-x:auto" in html
    assert "background:#fff" in html and "color:#1f2328" in html  # caption included
    assert f"max-width:{width + 16}px" in html  # the panel hugs the figure

    fig, ax = plt.subplots(figsize=(3, 3), dpi=100)  # no text at all: may shrink
    ax.imshow(np.eye(8))
    ax.set_axis_off()
    width, narrowest = _box(ut.captioned(fig, "Eye.", alt="A diagonal")._repr_html_())
    assert narrowest == round(width / 3)


def test_captioned_removes_the_empty_axes_of_a_grid():
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 3, figsize=(7, 4))
    axes[0, 0].imshow(np.eye(4))
    axes[0, 1].plot([0, 1])
    axes[0, 2].set_title("a title alone is something to show")
    axes[1, 0].add_patch(plt.Rectangle((0, 0), 1, 1))
    axes[1, 1].set_visible(False)  # hidden: removed too
    # axes[1, 2]: nothing drawn
    kept = [axes[0, 0], axes[0, 1], axes[0, 2], axes[1, 0]]
    ut.captioned(fig, "Four panels of six.", alt="An image, a line, a title, a square")
    assert fig.axes == kept

    fig, axes = plt.subplots(1, 2, figsize=(6, 3))
    axes[0].imshow(np.eye(4))
    axes[1].legend(handles=[plt.Line2D([], [], label="a legend")])
    ut.captioned(fig, "An image and a legend.", alt="An image and a legend")
    assert len(fig.axes) == 2


def test_credits_and_small_text_meet_the_minimum_size():
    """12 px at the page's width: 8 pt at 100 dpi (11.1 px) is refused by captioned,
    and raised to the minimum by add_credit."""
    import matplotlib.pyplot as plt

    assert ut.MIN_TEXT_PX == 12
    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.imshow(np.eye(4))
    ax.set_axis_off()
    ax.set_title("an 8 pt title", fontsize=8)
    with pytest.raises(ValueError, match=r"at least 12 px.*'an 8 pt title': 11\.1 px"):
        ut.captioned(fig, "A small title.", alt="A diagonal")

    from unet_tutorial.pictures.figures import min_fontsize

    fig, ax = plt.subplots(figsize=(7, 3), dpi=100)
    ax.imshow(np.eye(4))
    ax.set_axis_off()
    ut.add_credit(fig, "A credit line, asked for at 8 pt.", fontsize=8)
    assert fig.texts[0].get_fontsize() == min_fontsize(fig) == 8.7
    assert not ut.illegible_texts(fig)
    plt.close(fig)


def test_images_are_encoded_compactly_and_faithfully():
    import io

    from PIL import Image

    from unet_tutorial.pictures import page as P

    def decode(data):
        with Image.open(io.BytesIO(data)) as im:
            return im.mode, np.asarray(im.convert("RGB"))

    # a mask: few colours, an exact palette PNG
    mask = ut.mask_to_rgb(np.random.default_rng(0).integers(0, 3, (40, 50)))
    fmt, data = P.encode_image(mask)
    mode, back = decode(data)
    assert fmt == "png" and mode == "P" and np.array_equal(back, mask)
    # a drawing with anti-aliased text: a 256-colour PNG, close to the original
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4, 2), dpi=100)
    ax.plot(np.sin(np.linspace(0, 9, 200)))
    ax.set_title("a drawing")
    fig.canvas.draw()
    drawing = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    fmt, data = P.encode_image(drawing)
    mode, back = decode(data)
    assert fmt == "png" and mode == "P"
    assert np.abs(back.astype(int) - drawing).mean() <= 0.75
    # noise (a photograph's worst case): JPEG
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    assert P.encode_image(noise)[0] == "jpeg"
    assert P.encode_image(noise, "png")[0] == "png"
    with pytest.raises(ValueError, match="fmt"):
        P.encode_image(noise, "webp")


def test_masks_of_up_to_eight_classes_get_distinct_okabe_ito_colours():
    mask = np.arange(8).reshape(2, 4)
    rgb = ut.mask_to_rgb(mask)
    colours = {tuple(c) for c in rgb.reshape(-1, 3)}
    assert len(colours) == 8 and colours == set(ut.OKABE_ITO.values())
    np.testing.assert_array_equal(rgb[0, :3], ut.CLASS_COLORS)  # pets' classes first
    with pytest.raises(ValueError, match="class indices 0, 1, 2"):
        ut.mask_to_rgb(np.full((2, 2), -1))


def test_any_number_of_classes_gets_distinct_colours_that_keep_their_index():
    from unet_tutorial.pictures.figures import mask_colors

    colours = mask_colors(256)
    assert colours.shape == (256, 3) and colours.dtype == np.uint8
    assert len({tuple(c) for c in colours}) == 256  # one colour per class
    np.testing.assert_array_equal(colours[:8], ut.MASK_COLORS)  # Okabe-Ito first
    np.testing.assert_array_equal(mask_colors(21), colours[:21])  # whatever the count
    # the 21 classes of PASCAL VOC stay apart (L1 distance in RGB)
    voc = colours[:21].astype(int)
    apart = np.abs(voc[:, None] - voc[None]).sum(-1) + 999 * np.eye(21, dtype=int)
    assert apart.min() > 60
    mask = np.arange(21).reshape(3, 7)
    np.testing.assert_array_equal(ut.mask_to_rgb(mask), colours[mask])
    assert mask_colors(0).shape == (0, 3)
    with pytest.raises(ValueError, match="num_classes=-1"):
        mask_colors(-1)


def test_the_class_legend_has_a_colour_for_every_class():
    import matplotlib.pyplot as plt

    from unet_tutorial.pictures.figures import mask_colors

    fig, ax = plt.subplots()
    names = [f"class_{k}" for k in range(12)]
    ut.class_legend(ax, names)
    patches = ax.get_legend().get_patches()
    assert [p.get_label() for p in patches] == names
    got = np.array([p.get_facecolor()[:3] for p in patches])
    np.testing.assert_allclose(got, mask_colors(12) / 255)
    plt.close(fig)


def _drawing_and_stepper_html() -> tuple[str, str]:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [1, 0])
    ax.set_title("a line")
    drawing = ut.captioned(fig, "A line, made up.", alt="A falling line")
    frames = [np.full((8, 8, 3), 60 * i, np.uint8) for i in range(3)]
    stepper = ut.FrameStepper(frames, alt="Three greys", caption="Made up.")
    return drawing._repr_html_(), stepper.html()


def test_the_book_takes_a_figure_apart_into_html_and_image_files():
    """site.FigureFiles: each inline image becomes a file named by its content; the HTML
    around it (caption, controls, script) is kept as it is."""
    import hashlib
    from types import SimpleNamespace

    from docutils import nodes

    from unet_tutorial.pictures import site

    figure, stepper = _drawing_and_stepper_html()
    written = {}

    def write_file(path, content, overwrite=False, exists_ok=False):
        written[path[0]] = content
        return "/_build/jupyter_execute/" + path[0]

    renderer = SimpleNamespace(
        write_file=write_file, renderer=SimpleNamespace(sphinx_env=object())
    )

    def render(text, mime="text/html", inline=False):
        data = SimpleNamespace(mime_type=mime, string=text)
        return site.FigureFiles.handle_mime(renderer, data, inline)

    out = render(figure)
    assert [type(n) for n in out] == [nodes.raw, nodes.image, nodes.raw]
    image = out[1]
    name = image["uri"].rsplit("/", 1)[1]
    assert name == hashlib.sha256(written[name]).hexdigest() + ".png"
    assert written[name][:4] == b"\x89PNG"
    assert image["alt"] == "A falling line" and image["classes"] == ["ut-img"]
    html = "".join(n.astext() for n in out if isinstance(n, nodes.raw))
    assert "data:image" not in html and "A line, made up.</figcaption>" in html
    # raw nodes without classes: docutils would wrap each piece in a <div> of its own
    assert all(not n["classes"] for n in out if isinstance(n, nodes.raw))

    out = render(stepper)
    images = [n for n in out if isinstance(n, nodes.image)]
    assert [n["alt"] for n in images] == [
        f"Three greys (frame {k} of 3)" for k in (1, 2, 3)
    ]
    assert [n.get("loading") for n in images] == ["lazy", "lazy", None]
    assert [n["classes"] for n in images] == [["ut-frame", "ut-hidden"]] * 2 + [
        ["ut-frame"]
    ]
    assert "<script>" in "".join(n.astext() for n in out if isinstance(n, nodes.raw))

    # anything else is left to myst-nb
    assert render("<table><tr><td>1</td></tr></table>") is None
    assert render(figure, inline=True) is None
    assert render(figure, mime="image/png") is None
    renderer.renderer.sphinx_env = None
    assert render(figure) is None


def test_a_sphinx_build_writes_the_figures_as_files_next_to_the_page(
    tmp_path, monkeypatch
):
    """myst-nb with the package's mime renderer: the page links the images in _images/,
    keeps caption, alt text and controls, and carries no inline image."""
    import re

    import nbformat
    from myst_nb.core import render
    from sphinx.cmd.build import build_main

    from unet_tutorial.pictures.site import FigureFiles

    figure, stepper = _drawing_and_stepper_html()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nb.cells = [nbformat.v4.new_markdown_cell("# Figures")]
    for text in (figure, stepper):
        cell = nbformat.v4.new_code_cell("show()")
        cell.outputs = [
            nbformat.v4.new_output(
                "display_data", data={"text/html": text, "text/plain": "<figure>"}
            )
        ]
        nb.cells.append(cell)
    src = tmp_path / "src"
    src.mkdir()
    nbformat.write(nb, src / "index.ipynb")
    (src / "conf.py").write_text(
        'extensions = ["myst_nb"]\nnb_execution_mode = "off"\n', encoding="utf-8"
    )
    monkeypatch.setattr(render, "load_mime_renders", lambda: [FigureFiles])
    out = tmp_path / "html"
    assert build_main(["-b", "html", "-q", str(src), str(out)]) == 0
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "data:image" not in page
    srcs = re.findall(r'<img [^>]*src="([^"]+)"', page)
    assert len(srcs) == 1 + 3 and all(s.startswith("_images/") for s in srcs), srcs
    assert all((out / s).is_file() for s in srcs)
    assert 'alt="A falling line"' in page and "A line, made up.</figcaption>" in page
    assert page.count('data-act="') == 5 and "Three greys (frame 2 of 3)" in page


def test_learning_curves_leave_no_empty_slot_and_centre_a_short_last_row():
    history = {
        "loss": [1, 0.5, 0.3],
        "mean_iou": [0.2, 0.3, 0.4],
        "pixel_accuracy": [0.5, 0.6, 0.7],
    }
    fig = ut.plot_learning_curves(history, metrics=tuple(history))
    assert len(fig.axes) == 3  # the fourth slot of the 2 × 2 grid is gone
    top_left, top_right, bottom = (ax.get_position() for ax in fig.axes)
    middle = (top_left.x0 + top_right.x1) / 2
    assert abs((bottom.x0 + bottom.x1) / 2 - middle) < 0.02
    assert not ut.illegible_texts(fig)
