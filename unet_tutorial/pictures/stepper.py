"""A frame stepper: play, pause and step through an animation's frames, on any page.

A GIF runs at its own pace; a reader who wants to look at one step of the U
cannot stop it. ``FrameStepper`` shows the same frames with buttons (first,
previous, play, pause, next) and a slider. It is plain HTML with a few lines
of JavaScript and the frames embedded as images (written as files next to the
page when the book is built), so it needs no server and no widget library: it
works on the static book site, in Colab, in Jupyter and in VS Code. It opens
on the frame named by ``start`` (the last, the finished picture, unless told
otherwise), which is also the one shown where scripts do not run (a notebook
viewer that strips them).
"""

from __future__ import annotations

import hashlib
import html
import itertools
import json
import os
from pathlib import Path

import numpy as np

from ..checks import is_whole
from . import page
from .figures import DISPLAY_PX, MIN_TEXT_PX

_COUNTER = itertools.count()

_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var imgs = root.querySelectorAll("img.ut-frame"), captions = %(captions)s,
      ms = %(ms)d, slider = root.querySelector("input"),
      counter = root.querySelector(".ut-count"), step = root.querySelector(".ut-step"),
      timer = null;
  function show(i) {
    i = (i + imgs.length) %% imgs.length;
    imgs.forEach(function (im, k) { im.style.display = k === i ? "block" : "none"; });
    slider.value = i;
    counter.textContent = (i + 1) + " / " + imgs.length;
    if (step) { step.textContent = captions[i] || ""; }
  }
  function pause() { if (timer) { clearInterval(timer); timer = null; } }
  function play() {
    pause();
    if (+slider.value === imgs.length - 1) { show(0); }
    timer = setInterval(function () {
      var i = +slider.value + 1;
      if (i >= imgs.length) { pause(); return; }
      show(i);
    }, ms);
  }
  var actions = {
    first: function () { pause(); show(0); },
    prev: function () { pause(); show(+slider.value - 1); },
    play: play,
    pause: pause,
    next: function () { pause(); show(+slider.value + 1); }
  };
  root.querySelectorAll("button").forEach(function (b) {
    b.addEventListener("click", actions[b.getAttribute("data-act")]);
  });
  slider.addEventListener("input", function () { pause(); show(+slider.value); });
  // the hidden frames wait until the page has loaded, then load in the background
  function fetchAll() { imgs.forEach(function (im) { im.loading = "eager"; }); }
  if (document.readyState === "complete") { fetchAll(); }
  else { window.addEventListener("load", fetchAll); }
})();
"""


class FrameStepper:
    """Frames to play, pause and step through in a notebook or on the book's pages.

    Display it (the last expression of a cell, or ``display(stepper)``): the
    notebook shows its HTML. ``stepper.html()`` gives the same HTML to save.
    Each frame is an ``<img>`` of its own (one shown at a time, each with its
    alt text), in the panel of ``unet_tutorial.pictures.page``: laid out at
    the frames' width over ``density``, sharp on a high-density screen, never
    narrower than a phone can read (it scrolls sideways instead), white in
    dark mode; in the built book the frames are image files next to the
    page, and the hidden ones load after the page.

    Args:
        frames: ``uint8 (H, W, 3)`` frames of one size.
        frame_ms: milliseconds per frame when playing.
        alt: alt text for the image: what the animation shows (the frame
            number is added).
        caption: a caption under the controls: what it shows and which data
            it came from.
        step_captions: one line per frame, shown above the caption (e.g. the
            step of the U the frame draws); optional.
        image_format: how frames are encoded: ``"png"``, ``"jpeg"``, or
            ``"auto"`` (``page.encode_image``: a palette PNG for drawings,
            JPEG for photographs), to keep the page light.
        start: the frame the stepper opens on, counted from 0 (negative: from
            the end, ``-1`` the last). Choose one that says something alone:
            the finished drawing of the U, or the first feature maps rather
            than the head of an untrained model.
        density: pixels of the frames per CSS pixel of the page: 2 for frames
            drawn for 2x screens (the package's animations), shown at half
            their pixel width.
        min_width: the narrowest (CSS px) the frames are shown on a narrow
            screen; by default where text drawn ``MIN_TEXT_PX`` high at
            ``DISPLAY_PX`` is ``page.PHONE_TEXT_PX`` high.

    Raises:
        ValueError: no frames, frames of different sizes, a duration under
            20 ms, ``step_captions`` of the wrong length, ``start`` outside
            the frames, or a ``density`` that is not a whole number from 1 to 4.
    """

    def __init__(
        self,
        frames: list[np.ndarray],
        *,
        frame_ms: int = 700,
        alt: str = "",
        caption: str = "",
        step_captions: list[str] | None = None,
        image_format: str = "auto",
        start: int = -1,
        density: int = 1,
        min_width: int | None = None,
    ):
        if len(frames) == 0:
            raise ValueError("no frames to show.")
        if len({np.shape(f) for f in frames}) != 1:
            raise ValueError(
                f"frames differ in size: {sorted({np.shape(f) for f in frames})}."
            )
        if not is_whole(frame_ms, 20, numpy_ok=True):
            raise ValueError(
                f"frame_ms={frame_ms!r} must be a whole number of milliseconds, at "
                "least 20."
            )
        if step_captions is not None and len(step_captions) != len(frames):
            raise ValueError(
                f"{len(step_captions)} step captions for {len(frames)} frames; give "
                "one per frame."
            )
        self.frames = [np.asarray(f) for f in frames]
        self.frame_ms, self.alt, self.caption = int(frame_ms), alt, caption
        self.step_captions = list(step_captions) if step_captions is not None else None
        if image_format not in ("auto", "png", "jpeg"):
            raise ValueError(
                f"image_format must be 'auto', 'png' or 'jpeg', got {image_format!r}"
            )
        self.image_format = image_format
        if not is_whole(start, -len(frames), numpy_ok=True) or start >= len(frames):
            raise ValueError(
                f"start={start!r} is not a frame: give an integer from 0 to "
                f"{len(frames) - 1} (or -1 to -{len(frames)}, counted from the end)."
            )
        self.start = int(start) % len(frames)
        if not is_whole(density, 1, numpy_ok=True) or density > 4:
            raise ValueError(
                f"density={density!r} must be a whole number of frame pixels per "
                "page pixel, 1 to 4 (2 for frames drawn for 2x screens)."
            )
        self.density = int(density)
        self.min_width = min_width

    @classmethod
    def from_gif(cls, path: str | os.PathLike, **kwargs) -> FrameStepper:
        """The frames of a GIF (e.g. from ``animate_encoder``), with its frame duration
        and its density (``write_gif`` records it) unless given.
        """
        from PIL import Image, ImageSequence

        with Image.open(Path(path)) as im:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
            durations = [f.info.get("duration") for f in ImageSequence.Iterator(im)]
            comment = im.info.get("comment", b"")
        kwargs.setdefault("frame_ms", int(durations[0] or 700) if durations else 700)
        kwargs.setdefault("density", gif_density(comment))
        return cls(frames, **kwargs)

    def html(self) -> str:
        """The stepper as one self-contained HTML fragment (images, controls, caption,
        script).
        """
        height, width = self.frames[0].shape[:2]
        css_width = round(width / self.density)
        narrowest = self.min_width or round(
            min(css_width, DISPLAY_PX) * page.PHONE_TEXT_PX / MIN_TEXT_PX
        )
        narrowest = min(css_width, narrowest)
        n, first = len(self.frames), self.start
        images = []
        for i, frame in enumerate(self.frames):
            fmt, data = page.encode_image(frame, self.image_format)
            images.append(
                page.img_tag(
                    page.data_uri(fmt, data),
                    f"{self.alt} (frame {i + 1} of {n})",
                    "ut-frame" if i == first else "ut-frame ut-hidden",
                    hidden=i != first,
                    lazy=i != first,
                )
            )
        digest = hashlib.sha1("".join(images).encode()).hexdigest()[:10]
        uid = f"ut-stepper-{digest}-{next(_COUNTER)}"
        esc = html.escape
        button = (
            '<button type="button" data-act="{0}" title="{1}" '
            'style="font-size:14px;padding:2px 8px">{2}</button>'
        )
        buttons = "".join(
            button.format(act, title, label)
            for act, title, label in (
                ("first", "first frame", "« first"),
                ("prev", "previous frame", "◀ previous"),
                ("play", "play", "▶ play"),
                ("pause", "pause", "‖ pause"),
                ("next", "next frame", "next ▶"),
            )
        )
        captions = self.step_captions or [""] * n
        controls = (
            '<div class="ut-controls" style="display:flex;flex-wrap:wrap;gap:4px;'
            'align-items:center;margin-top:6px;font-size:14px">'
            f'{buttons}<input type="range" min="0" max="{n - 1}" value="{first}" '
            'aria-label="frame" style="flex:1;min-width:80px">'
            '<span class="ut-count" style="min-width:4em;text-align:right">'
            f"{first + 1} / {n}</span></div>"
        )
        if self.step_captions:
            controls += (
                f'<div class="ut-step" style="{page.TEXT_STYLE}">'
                f"{esc(captions[first])}</div>"
            )
        script = _SCRIPT % {
            "id": json.dumps(uid),
            "captions": json.dumps(captions),
            "ms": self.frame_ms,
        }
        figure = page.panel(
            "".join(images),
            width=css_width,
            narrowest=narrowest,
            classes="ut-stepper",
            below=controls,
            caption=self.caption,
            attributes=f'id="{uid}" ',
        )
        return f"{figure}<script>{script}</script>"

    def _repr_html_(self) -> str:
        return self.html()


GIF_COMMENT = "unet-tutorial density={density}"
"""The comment ``write_gif`` records in a GIF: how many frame pixels make one page
pixel.
"""


def gif_density(comment: bytes | str) -> int:
    """The density a GIF's comment records (``GIF_COMMENT``); 1 when it records none."""
    import re

    if isinstance(comment, bytes):
        comment = comment.decode("utf-8", "replace")
    found = re.fullmatch(r"unet-tutorial density=([1-4])", comment.strip())
    return int(found.group(1)) if found else 1
