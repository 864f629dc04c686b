"""The frame stepper: its HTML, its arguments, and its buttons in a real browser."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest

import unet_tutorial as ut


def _frames(n: int = 5, size: int = 8) -> list[np.ndarray]:
    return [np.full((size, size, 3), 40 * i, np.uint8) for i in range(n)]


def test_the_html_embeds_every_frame_and_the_five_controls():
    alt = 'the U <built> "step" by step'
    stepper = ut.FrameStepper(
        _frames(), frame_ms=300, alt=alt, caption="Drawn from a model."
    )
    page = stepper._repr_html_()
    # five PNG frames in the script, the last one also in the <img>
    assert page.count("iVBOR") == 5 + 1
    assert [m for m in re.findall(r'data-act="(\w+)"', page)] == [
        "first",
        "prev",
        "play",
        "pause",
        "next",
    ]
    assert 'alt="the U &lt;built&gt; &quot;step&quot; by step (frame 5 of 5)"' in page
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
    ],
)
def test_bad_arguments_are_refused(kwargs, says):
    with pytest.raises(ValueError, match=says):
        ut.FrameStepper(**kwargs)


def _opening(page: str) -> tuple[str, str, str, str, str]:
    """What a page shows before any script runs: image, alt, slider, counter, step."""
    img = re.search(r'<img src="data:image/\w+;base64,([^"]+)" alt="([^"]*)"', page)
    slider = re.search(r'<input type="range"[^>]* value="(\d+)"', page).group(1)
    count = re.search(r'class="ut-count"[^>]*>([^<]*)<', page).group(1)
    step = re.search(r'class="ut-step"[^>]*>([^<]*)<', page).group(1)
    return img.group(1), img.group(2), slider, " ".join(count.split()), step


def test_the_stepper_opens_on_the_chosen_frame():
    frames = _frames(5)
    captions = [f"step {i}" for i in range(5)]
    # default: the last frame, the finished picture
    last = ut.FrameStepper(frames, alt="a", step_captions=captions).html()
    first = ut.FrameStepper(frames, alt="a", step_captions=captions, start=0).html()
    mid = ut.FrameStepper(frames, alt="a", step_captions=captions, start=-3).html()
    embedded = re.search(r"var frames = (\[[^\]]*\])", first).group(1)
    frame_data = re.findall(r'"([^"]+)"', embedded)
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


def test_from_gif_reads_the_frames_and_their_duration(tmp_path):
    gif = ut.write_gif(tmp_path / "a.gif", _frames(3, 16), frame_ms=250)
    stepper = ut.FrameStepper.from_gif(gif, caption="c")
    assert (
        len(stepper.frames) == 3 and stepper.frame_ms == 250 and stepper.caption == "c"
    )
    np.testing.assert_array_equal(stepper.frames[1], _frames(3, 16)[1])


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
      function click(a) { r.querySelector('[data-act=' + a + ']').click();
        log.push(r.querySelector('.ut-count').textContent + '|' + r.querySelector('img').alt + '|'
                 + r.querySelector('.ut-step').textContent); }
      click('first'); click('next'); click('next'); click('prev'); click('prev'); click('prev');
      document.body.setAttribute('data-log', log.join(';'));
    </script>"""
    page = tmp_path / "stepper.html"
    page.write_text(
        f"<!doctype html><html><body>{stepper.html()}{probe}</body></html>",
        encoding="utf-8",
    )
    cmd = [
        "chromium",
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=2000",
        "--dump-dom",
        page.as_uri(),
    ]
    dom = subprocess.run(
        cmd, capture_output=True, text=True, timeout=120, check=False
    ).stdout
    log = re.search(r'data-log="([^"]*)"', dom)
    assert log, dom[-2000:]
    assert (
        log.group(1).split(";")
        == [
            "1 / 5|test (frame 1 of 5)|step 0",
            "2 / 5|test (frame 2 of 5)|step 1",
            "3 / 5|test (frame 3 of 5)|step 2",
            "2 / 5|test (frame 2 of 5)|step 1",
            "1 / 5|test (frame 1 of 5)|step 0",
            "5 / 5|test (frame 5 of 5)|step 4",  # previous from the first frame wraps to the last
        ]
    )
