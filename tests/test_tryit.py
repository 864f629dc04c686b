"""The built Try it page in headless Chromium: the book's own models predict in the
browser what ``predict_mask`` predicts with Keras, from files of the site alone.

Runs when the book is built (``_build/html/book/try_it.html``, as ``.ci/run`` builds
it, with ``UNET_TUTORIAL_RUNS`` pointing at the run cache that build trained) and
Debian's chromium is installed; skipped otherwise. The site is served on a local
port like GitHub Pages serves it (static files, no special headers); the browser
is driven by ``benchmarks/tryit.py``.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
PAGE = HTML / "book" / "try_it.html"
SAMPLES = HTML / "_static" / "tryit" / "samples"
sys.path.insert(0, str(ROOT / "benchmarks"))

import tryit as driver  # noqa: E402

import unet_tutorial as ut  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not PAGE.is_file(), reason="the book is not built (_build/html)"
    ),
    pytest.mark.skipif(
        shutil.which("chromium") is None, reason="Debian's chromium is not installed"
    ),
]


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The page's result for a pet and for an EM slice, and every URL the page asked
    for: its requests as DevTools saw them, and those its origin initiated in the
    browser's net log."""
    tmp = tmp_path_factory.mktemp("tryit")
    results = {}
    with driver.serve(HTML) as origin:
        browser = driver.Chromium(tmp / "profile", net_log=tmp / "net.json")
        try:
            for model, sample in driver.SAMPLES.items():
                results[model] = driver.open_page(browser, origin, sample)
        finally:
            browser.close()
    urls = driver.requested_urls(tmp / "net.json", origin) | set(browser.requests)
    return results, urls, origin


def cached_model(name: str):
    """The Keras model the page's notebook exported, from the run cache."""
    import keras

    if name == "pets":
        config = ut.in_run_cache(ut.recipe_for(ut.resolve_source("auto")), "pets")
        checkpoint = config.tested_checkpoint()  # as the page loads it
    else:
        source = ut.resolve_source(ut.isbi_source(verbose=False)).source
        config = ut.in_run_cache(
            ut.TrainConfig.preset("isbi-padded", source=source), "membranes"
        )
        checkpoint = "final"  # train_or_load's result.model, which the page exports
    path = Path(config.output_dir) / f"{checkpoint}.keras"
    if not path.is_file():
        pytest.skip(f"the run cache has no {name} run (set UNET_TUTORIAL_RUNS)")
    return keras.saving.load_model(path, safe_mode=True)


@pytest.mark.parametrize("name", ["pets", "membranes"])
def test_the_browser_predicts_what_predict_mask_predicts(page, name):
    from PIL import Image

    results, _, _ = page
    result = results[name]
    assert result["state"] == "done", result
    sample = SAMPLES / driver.SAMPLES[name]
    if name == "pets":
        image = ut.load_image(sample)
    else:
        image = np.asarray(Image.open(sample).convert("L"))
    want = ut.predict_mask(cached_model(name), image)
    got = driver.read_result(result)
    assert got.shape == want.shape
    assert np.mean(got == want) >= 0.995, np.mean(got == want)


def test_the_page_asks_nothing_of_any_other_host(page):
    results, urls, origin = page
    assert all(r["state"] == "done" for r in results.values())
    assert any(u.endswith(".wasm") for u in urls), "the net log shows no runtime"
    foreign = sorted(
        u for u in urls if not u.startswith((origin + "/", "data:", "blob:", "about:"))
    )
    assert not foreign, foreign


TILED_JS = """(async () => {
  const page = await import("../_static/tryit/tryit.js");
  const blob = await (await fetch("data:image/png;base64,%s")).blob();
  const bitmap = await createImageBitmap(blob);
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d");
  context.drawImage(bitmap, 0, 0);
  const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
  const result = await page.predict("membranes", pixels, bitmap.height, bitmap.width);
  return Array.from(result.mask).join("");
})()"""


def test_an_em_image_larger_than_the_file_is_predicted_by_tiles_as_predict_mask(
    tmp_path,
):
    """700 x 612 px (a test slice mirrored further): four overlapping tiles of the
    512 px file against one whole prediction of the any-size Keras model."""
    import base64
    import io

    from PIL import Image

    slice_ = np.asarray(Image.open(SAMPLES / driver.SAMPLES["membranes"]).convert("L"))
    image = np.pad(slice_, ((0, 188), (0, 100)), mode="reflect")
    png = io.BytesIO()
    Image.fromarray(image).save(png, "PNG")
    with driver.serve(HTML) as origin:
        browser = driver.Chromium(tmp_path / "profile")
        try:
            browser.open(f"{origin}/book/try_it.html")
            text = browser.evaluate(
                TILED_JS % base64.b64encode(png.getvalue()).decode(), timeout=300
            )
        finally:
            browser.close()
    got = np.array(list(text), np.uint8).reshape(image.shape)
    want = ut.predict_mask(cached_model("membranes"), image)
    assert np.mean(got == want) >= 0.995, np.mean(got == want)
