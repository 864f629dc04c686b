"""A frame stepper: play, pause and step through an animation's frames, on any page.

A GIF runs at its own pace; a reader who wants to look at one step of the U
cannot stop it. ``FrameStepper`` shows the same frames with buttons (first,
previous, play, pause, next) and a slider. It is plain HTML with a few lines
of JavaScript and the frames embedded as PNG, so it needs no server and no
widget library: it works on the static book site, in Colab, in Jupyter and in
VS Code. It opens on the frame named by ``start`` (the last, the finished
picture, unless told otherwise), which is also the one shown where scripts do
not run (a notebook viewer that strips them).
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import os
from pathlib import Path

import numpy as np

from ..checks import is_whole

_COUNTER = itertools.count()

_SCRIPT = """
(function () {
  var root = document.getElementById(%(id)s);
  if (!root) { return; }
  var frames = %(frames)s, captions = %(captions)s, ms = %(ms)d, alt = %(alt)s, fmt =
  %(fmt)s; var img = root.querySelector("img"), slider = root.querySelector("input"),
      counter = root.querySelector(".ut-count"), step = root.querySelector(".ut-step"),
      timer = null;
  function show(i) {
    i = (i + frames.length) %% frames.length;
    img.src = "data:image/" + fmt + ";base64," + frames[i];
    img.alt = alt + " (frame " + (i + 1) + " of " + frames.length + ")";
    slider.value = i;
    counter.textContent = (i + 1) + " / " + frames.length;
    if (step) { step.textContent = captions[i] || ""; }
  }
  function pause() { if (timer) { clearInterval(timer); timer = null; } }
  function play() {
    pause();
    if (+slider.value === frames.length - 1) { show(0); }
    timer = setInterval(function () {
      var i = +slider.value + 1;
      if (i >= frames.length) { pause(); return; }
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
})();
"""


def _encode(frame: np.ndarray, fmt: str) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    image = Image.fromarray(np.asarray(frame, dtype=np.uint8))
    if fmt == "png":
        image.save(buf, format="PNG", optimize=True)
    else:
        image.save(buf, format="JPEG", quality=88)
    return buf.getvalue()


def _choose_format(frame: np.ndarray) -> tuple[str, bytes]:
    """PNG for drawings (lossless, and small); JPEG when PNG is over twice as large
    (photographs). Returns the format and ``frame`` encoded in it.
    """
    png, jpeg = _encode(frame, "png"), _encode(frame, "jpeg")
    return ("jpeg", jpeg) if len(png) > 2 * len(jpeg) else ("png", png)


class FrameStepper:
    """Frames to play, pause and step through in a notebook or on the book's pages.

    Display it (the last expression of a cell, or ``display(stepper)``): the
    notebook shows its HTML. ``stepper.html()`` gives the same HTML to save.

    Args:
        frames: ``uint8 (H, W, 3)`` frames of one size.
        frame_ms: milliseconds per frame when playing.
        alt: alt text for the image: what the animation shows (the frame
            number is added).
        caption: a caption under the controls: what it shows and which data
            it came from.
        step_captions: one line per frame, shown above the caption (e.g. the
            step of the U the frame draws); optional.
        image_format: how frames are embedded: ``"png"``, ``"jpeg"``, or
            ``"auto"``: PNG, unless it is over twice the size of JPEG
            (photographs), to keep the page light.
        start: the frame the stepper opens on, counted from 0 (negative: from
            the end, ``-1`` the last). Choose one that says something alone:
            the finished drawing of the U, or the first feature maps rather
            than the head of an untrained model.

    Raises:
        ValueError: no frames, frames of different sizes, a duration under
            20 ms, ``step_captions`` of the wrong length, or ``start`` outside
            the frames.
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

    @classmethod
    def from_gif(cls, path: str | os.PathLike, **kwargs) -> FrameStepper:
        """The frames of a GIF (e.g. from ``animate_encoder``), with its frame duration
        unless given.
        """
        from PIL import Image, ImageSequence

        with Image.open(Path(path)) as im:
            frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
            durations = [f.info.get("duration") for f in ImageSequence.Iterator(im)]
        kwargs.setdefault("frame_ms", int(durations[0] or 700) if durations else 700)
        return cls(frames, **kwargs)

    def html(self) -> str:
        """The stepper as one self-contained HTML fragment (image, controls, caption,
        script).
        """
        first = self.start
        if self.image_format == "auto":  # the opening frame decides, and is kept
            fmt, first_bytes = _choose_format(self.frames[first])
        else:
            fmt = self.image_format
            first_bytes = _encode(self.frames[first], fmt)
        raw = [
            first_bytes if i == first else _encode(f, fmt)
            for i, f in enumerate(self.frames)
        ]
        encoded = [base64.b64encode(b).decode("ascii") for b in raw]
        digest = hashlib.sha1("".join(encoded).encode()).hexdigest()[:10]
        uid = f"ut-stepper-{digest}-{next(_COUNTER)}"
        last = len(encoded) - 1
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
        captions = self.step_captions or [""] * len(encoded)
        step = (
            '<div class="ut-step" style="font-size:14px;margin-top:4px">'
            f"{esc(captions[first])}</div>"
        )
        script = _SCRIPT % {
            "id": json.dumps(uid),
            "frames": json.dumps(encoded),
            "captions": json.dumps(captions),
            "ms": self.frame_ms,
            "alt": json.dumps(self.alt),
            "fmt": json.dumps(fmt),
        }
        return (
            f'<figure id="{uid}" class="ut-stepper" style="margin:0 0 1em 0"><img '
            f'src="data:image/{fmt};base64,{encoded[first]}" alt="{esc(self.alt)} '
            f'(frame {first + 1} of {last + 1})" '
            'style="max-width:100%;height:auto;display:block">'
            "<div "
            'style="display:flex;flex-wrap:wrap;gap:4px;align-items:center;margin-top:4px;font-size:14px">'
            f'{buttons}<input type="range" min="0" max="{last}" value="{first}" '
            'aria-label="frame" '
            'style="flex:1;min-width:80px">'
            '<span class="ut-count" style="min-width:4em;text-align:right">'
            f"{first + 1} / {last + 1}</span></div>"
            + (step if self.step_captions else "")
            + (
                f"<figcaption "
                f'style="font-size:14px;margin-top:4px">{esc(self.caption)}</figcaption>'
                if self.caption
                else ""
            )
            + f"</figure><script>{script}</script>"
        )

    def _repr_html_(self) -> str:
        return self.html()
