"""The frame stepper: its HTML, its arguments, and its buttons in a real browser."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
from conftest import headless_chromium

import unet_tutorial as ut


def _frames(n: int = 5, size: int = 8) -> list[np.ndarray]:
    return [np.full((size, size, 3), 40 * i, np.uint8) for i in range(n)]


def _imgs(page: str) -> list[dict]:
    """Every <img> of a stepper: its attributes (src kept whole)."""
    return [
        dict(re.findall(r'([\w-]+)="([^"]*)"', tag))
        for tag in re.findall(r"<img\b[^>]*>", page)
    ]


def test_the_html_embeds_every_frame_and_the_five_controls():
    alt = 'the U <built> "step" by step'
    stepper = ut.FrameStepper(
        _frames(), frame_ms=300, alt=alt, caption="Drawn from a model."
    )
    page = stepper._repr_html_()
    # five frames, each an <img> of its own with its alt text; the last one shown
    imgs = _imgs(page)
    assert len(imgs) == 5 and page.count("iVBOR") == 5
    assert [i["alt"] for i in imgs] == [
        f"the U &lt;built&gt; &quot;step&quot; by step (frame {k} of 5)"
        for k in range(1, 6)
    ]
    assert [i["class"] for i in imgs] == ["ut-frame ut-hidden"] * 4 + ["ut-frame"]
    assert [i["style"].startswith("display:none") for i in imgs] == [True] * 4 + [False]
    # the hidden frames load after the page
    assert [i.get("loading") for i in imgs] == ["lazy"] * 4 + [None]
    assert [m for m in re.findall(r'data-act="(\w+)"', page)] == [
        "first",
        "prev",
        "play",
        "pause",
        "next",
    ]
    assert "<figcaption" in page and "Drawn from a model." in page
    assert "ms = 300" in page and page.count("<script>") == 1
    # two steppers of the same frames on one page do not share an id
    ids = {
        re.search(r'id="(ut-stepper-[^"]+)"', ut.FrameStepper(_frames()).html()).group(
            1
        )
        for _ in range(2)
    }
    assert len(ids) == 2


def test_frames_are_laid_out_at_their_page_size_and_keep_a_phone_width():
    """density 2: a 1400 px frame shows 700 px wide; on a phone it keeps the width at
    which text of MIN_TEXT_PX (at DISPLAY_PX) is PHONE_TEXT_PX high, and scrolls."""
    from unet_tutorial.pictures import page as P

    frames = [np.full((200, 1400, 3), 255, np.uint8)] * 2
    page = ut.FrameStepper(frames, density=2).html()
    box = re.search(
        r'class="ut-fit" style="width:(\d+)px;max-width:100%;min-width:(\d+)px"', page
    )
    assert box.groups() == ("700", str(round(700 * P.PHONE_TEXT_PX / ut.MIN_TEXT_PX)))
    assert "overflow-x:auto" in page and "background:#fff" in page
    page = ut.FrameStepper(frames, density=2, min_width=300).html()
    assert 'min-width:300px"' in page
    wide = ut.FrameStepper(frames, density=2, min_width=900).html()
    assert (
        'style="width:700px;max-width:100%;min-width:700px"' in wide
    )  # at most itself


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        (dict(frames=[]), "no frames"),
        (
            dict(frames=[np.zeros((4, 4, 3), np.uint8), np.zeros((5, 4, 3), np.uint8)]),
            "differ in size",
        ),
        (dict(frames=_frames(2), frame_ms=0.7), "milliseconds"),
        (dict(frames=_frames(2), step_captions=["one"]), "one per frame"),
        (dict(frames=_frames(3), start=3), "not a frame"),
        (dict(frames=_frames(3), start=-4), "not a frame"),
        (dict(frames=_frames(3), start=1.0), "not a frame"),
        (dict(frames=_frames(3), density=0), "density"),
        (dict(frames=_frames(3), density=1.5), "density"),
    ],
)
def test_bad_arguments_are_refused(kwargs, says):
    with pytest.raises(ValueError, match=says):
        ut.FrameStepper(**kwargs)


def _opening(page: str) -> tuple[str, str, str, str, str]:
    """What a page shows before any script runs: image, alt, slider, counter, step."""
    shown = [i for i in _imgs(page) if "ut-hidden" not in i["class"]]
    assert len(shown) == 1
    src = re.fullmatch(r"data:image/\w+;base64,(.+)", shown[0]["src"]).group(1)
    slider = re.search(r'<input type="range"[^>]* value="(\d+)"', page).group(1)
    count = re.search(r'class="ut-count"[^>]*>([^<]*)<', page).group(1)
    step = re.search(r'class="ut-step"[^>]*>([^<]*)<', page).group(1)
    return src, shown[0]["alt"], slider, " ".join(count.split()), step


def test_the_stepper_opens_on_the_chosen_frame():
    frames = _frames(5)
    captions = [f"step {i}" for i in range(5)]
    # default: the last frame, the finished picture
    last = ut.FrameStepper(frames, alt="a", step_captions=captions).html()
    first = ut.FrameStepper(frames, alt="a", step_captions=captions, start=0).html()
    mid = ut.FrameStepper(frames, alt="a", step_captions=captions, start=-3).html()
    frame_data = [i["src"].split(",", 1)[1] for i in _imgs(first)]
    assert len(frame_data) == 5
    assert _opening(last) == (frame_data[4], "a (frame 5 of 5)", "4", "5 / 5", "step 4")
    assert _opening(first) == (
        frame_data[0],
        "a (frame 1 of 5)",
        "0",
        "1 / 5",
        "step 0",
    )
    assert _opening(mid) == (frame_data[2], "a (frame 3 of 5)", "2", "3 / 5", "step 2")
    assert len(set(frame_data)) == 5  # the frames differ, so the image is the right one


def test_drawings_are_embedded_as_png_and_photographs_as_jpeg():
    drawing = [np.full((64, 64, 3), 255, np.uint8) for _ in range(2)]
    drawing[1][10:20, 10:40] = 0
    photo = [
        np.random.default_rng(i).integers(0, 256, (64, 64, 3), dtype=np.uint8)
        for i in range(2)
    ]
    assert 'src="data:image/png;base64,' in ut.FrameStepper(drawing).html()
    assert 'src="data:image/jpeg;base64,' in ut.FrameStepper(photo).html()
    assert (
        'src="data:image/png;base64,'
        in ut.FrameStepper(photo, image_format="png").html()
    )
    with pytest.raises(ValueError, match="image_format"):
        ut.FrameStepper(photo, image_format="webp")


def test_from_gif_reads_the_frames_their_duration_and_density(tmp_path):
    gif = ut.write_gif(tmp_path / "a.gif", _frames(3, 16), frame_ms=250)
    stepper = ut.FrameStepper.from_gif(gif, caption="c")
    assert (
        len(stepper.frames) == 3 and stepper.frame_ms == 250 and stepper.caption == "c"
    )
    assert stepper.density == 1
    np.testing.assert_array_equal(stepper.frames[1], _frames(3, 16)[1])
    sharp = ut.write_gif(tmp_path / "b.gif", _frames(3, 16), frame_ms=250, density=2)
    assert ut.FrameStepper.from_gif(sharp).density == 2
    assert ut.FrameStepper.from_gif(sharp, density=1).density == 1


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)
def test_the_buttons_step_through_the_frames_in_a_browser(tmp_path):
    """Click first, next, next, previous in headless Chromium; the counter and the alt text must follow."""
    stepper = ut.FrameStepper(
        _frames(), alt="test", step_captions=[f"step {i}" for i in range(5)]
    )
    probe = """<script>
      var r = document.querySelector('.ut-stepper'), log = [];
      function shown() { return Array.prototype.filter.call(r.querySelectorAll('img'),
        function (im) { return getComputedStyle(im).display !== 'none'; }); }
      function click(a) { r.querySelector('[data-act=' + a + ']').click();
        var s = shown();
        log.push(r.querySelector('.ut-count').textContent + '|' + s.length + ' ' + s[0].alt + '|'
                 + r.querySelector('.ut-step').textContent); }
      click('first'); click('next'); click('next'); click('prev'); click('prev'); click('prev');
      document.body.setAttribute('data-log', log.join(';'));
    </script>"""
    page = tmp_path / "stepper.html"
    page.write_text(
        f"<!doctype html><html><body>{stepper.html()}{probe}</body></html>",
        encoding="utf-8",
    )
    dom = headless_chromium(
        tmp_path / "profile", "--virtual-time-budget=2000", "--dump-dom", page.as_uri()
    )
    log = re.search(r'data-log="([^"]*)"', dom)
    assert log, dom[-2000:]
    assert (
        log.group(1).split(";")
        == [
            "1 / 5|1 test (frame 1 of 5)|step 0",
            "2 / 5|1 test (frame 2 of 5)|step 1",
            "3 / 5|1 test (frame 3 of 5)|step 2",
            "2 / 5|1 test (frame 2 of 5)|step 1",
            "1 / 5|1 test (frame 1 of 5)|step 0",
            "5 / 5|1 test (frame 5 of 5)|step 4",  # previous from the first frame wraps to the last
        ]
    )
