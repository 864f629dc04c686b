"""Checks of the built HTML book (after the README's book command), including a real browser.

These run when ``_build/html`` exists, as in ``.ci/run``, which builds the book
first; on a machine that has not built the book they are skipped.
"""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from conftest import headless_chromium

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"


def _repo() -> str:
    """OWNER/NAME from ``repository.url`` in _config.yml, the one place the repository is named."""
    url = re.search(
        r"^\s*url:\s*(\S+)", (ROOT / "_config.yml").read_text(), re.M
    ).group(1)
    return url.removeprefix("https://github.com/").rstrip("/")


REPO = _repo()

pytestmark = pytest.mark.skipif(
    not (HTML / "index.html").is_file(), reason="the book is not built (_build/html)"
)


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.imgs: list[str] = []
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "img" and a.get("src"):
            self.imgs.append(a["src"])
        if tag == "a" and a.get("href"):
            self.hrefs.append(a["href"])


def _pages():
    return sorted(
        p
        for p in HTML.rglob("*.html")
        if "_static" not in p.parts and "_sources" not in p.parts
    )


def _parse(page: Path) -> _Links:
    parser = _Links()
    parser.feed(page.read_text(encoding="utf-8"))
    return parser


def test_no_internal_link_is_broken():
    for page in _pages():
        for href in _parse(page).hrefs:
            url = urlparse(href)
            if url.scheme or href.startswith(("#", "mailto:", "javascript:")):
                continue
            target = (page.parent / unquote(url.path)).resolve()
            assert target.exists(), (
                f"{page.relative_to(HTML)} links to {href}, which does not exist"
            )


def test_launch_buttons_point_at_the_chapter_notebook_on_main():
    chapters = sorted((ROOT / "book").glob("*.ipynb"))
    for nb in chapters:
        page = HTML / "book" / f"{nb.stem}.html"
        hrefs = _parse(page).hrefs
        colab = [h for h in hrefs if "colab.research.google.com" in h]
        binder = [h for h in hrefs if "mybinder.org" in h]
        assert colab == [
            f"https://colab.research.google.com/github/{REPO}/blob/main/book/{nb.name}"
        ], (nb, colab)
        assert (
            len(binder) == 1
            and f"/{REPO}/main?" in binder[0]
            and f"book/{nb.name}" in unquote(binder[0])
        )


def _article_text(name: str) -> str:
    import html

    page = (HTML / "book" / f"{name}.html").read_text(encoding="utf-8")
    article = page[page.find("<article") : page.rfind("</article>")]
    return html.unescape(re.sub(r"<[^>]+>", "", article))


def test_pages_show_the_package_source_and_the_computed_prose_not_the_calls():
    import json

    import unet_tutorial as ut

    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        text = _article_text(nb.stem).replace("\u2019", "'")  # Sphinx's smart quotes
        assert "ut.show_source(" not in text and "ut.say(" not in text, (
            f"{nb.name}: a hidden call shows"
        )
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            source = "".join(cell["source"])
            # the whole (hidden) cell is the call
            if source.startswith("ut.show_source("):
                shown = eval(
                    source.replace("ut.show_source(", "ut.source_of(", 1), {"ut": ut}
                )
                first = shown.code.splitlines()[0].strip()
                assert first in text, (
                    f"{nb.name}: the source of {shown.name} ({first!r}) is not on the page"
                )
            if "ut.say(" in source:
                literal = "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', source))
                # placeholders, newlines, Markdown
                pieces = re.split(r"\{[^}]*\}|\\n|[`*\[\]()]", literal)
                longest = max(pieces, key=len).strip().removeprefix("- ")
                assert len(longest) > 15 and longest in " ".join(text.split()), (
                    f"{nb.name}: {longest!r} missing"
                )


def test_data_pages_say_which_data_at_the_top():
    """Each page that uses data names it near the top: the stand-in, a counted folder, or the full tfds splits."""
    for name in ("data", "skip_connections", "training", "using_the_model"):
        page = (HTML / "book" / f"{name}.html").read_text(encoding="utf-8")
        article = page[page.find("<article") : page.rfind("</article>")]
        text = re.sub(r"<[^>]+>", "", article)
        first = text.find("Data: ")
        assert 0 <= first < len(text) // 4, (
            f"{name}: the data notice is missing or not near the top"
        )
        notice = text[first : first + 400]
        if "synthetic stand-in" in notice or "full official splits" in notice:
            continue
        # a subset: counted splits, and never called an Oxford-IIIT Pet result
        assert re.search(
            r"\d+ train / \d+ validation / \d+ test images of \d+ breeds", notice
        ), notice
        assert "not an Oxford-IIIT Pet result in the usual sense" in notice, name


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)
def test_a_chapter_renders_in_headless_chromium(tmp_path):
    from PIL import Image, ImageStat

    shot = tmp_path / "encoder.png"
    headless_chromium(
        tmp_path / "profile",
        "--window-size=1280,2000",
        "--virtual-time-budget=5000",
        f"--screenshot={shot}",
        (HTML / "book" / "encoder.html").as_uri(),
    )
    assert shot.is_file(), "chromium wrote no screenshot"
    with Image.open(shot) as im:
        assert im.size == (1280, 2000)
        spread = ImageStat.Stat(im.convert("L")).stddev[0]
    assert spread > 20, "the screenshot is (almost) blank"


def test_pages_stay_light_enough_to_load():
    """Steppers embed their frames; no chapter page may grow past about 3 MB."""
    for page in _pages():
        assert page.stat().st_size <= 3_000_000, (
            f"{page.name} is {page.stat().st_size / 1e6:.1f} MB"
        )


def test_the_references_are_labelled_like_the_citations():
    """Author–year labels ("Ronneberger et al., 2015"), as the chapters cite, not pybtex's alpha keys."""
    text = (HTML / "book" / "references.html").read_text(encoding="utf-8")
    labels = re.findall(
        r'<span class="label"><span class="fn-bracket">\[</span>([^<]+)<', text
    )
    assert (
        "Ronneberger et al., 2015" in labels and "Dumoulin &amp; Visin, 2016" in labels
    ), labels[:5]
    assert all(
        re.fullmatch(r"[^,]+, (\d{4}|n\.d\.)[a-z]?", label) for label in labels
    ), labels


def test_maths_is_served_with_the_site_not_from_a_cdn():
    """A page with equations loads MathJax from the site's own _static folder, so it renders offline."""
    with_maths = 0
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        for src in re.findall(r'<script[^>]*\bsrc="([^"]*mathjax[^"]*)"', text, re.I):
            with_maths += 1
            assert not re.match(r"(https?:)?//", src), f"{page.name} loads {src}"
            path = unquote(src.split("?")[0])  # Sphinx may add ?v=<hash>
            assert (page.parent / path).resolve().is_file(), (page.name, src)
    assert with_maths, "no page loads MathJax; do the chapters have no equations?"


def test_every_page_carries_the_figure_style_sheet():
    """_static/figures.css (figures on white, dark captions in the dark theme) is linked from every page."""
    css = ROOT / "_static" / "figures.css"
    assert (HTML / "_static" / css.name).read_text() == css.read_text()
    for page in _pages():
        text = page.read_text(encoding="utf-8")
        if (
            'http-equiv="Refresh"' in text
        ):  # index.html only redirects to the first chapter
            continue
        assert re.search(r'<link[^>]*href="[^"]*_static/figures\.css', text), page.name


BUILD_TALK = (
    ".ci/run",
    "build machine",
    "machines that build",
    "book's build",
    "build the book on",
    "--from-build",
    "CHECKOUT",
    "ci-log",
    "Loaded the finished run",
    "UNET_TUTORIAL_PROFILE",
    "/work/",
    "/tmp/",
)
"""What a reader of the built pages never needs to see: our CI and build, the run
cache's messages and this machine's paths."""

ENV_NAMES = re.compile(r"UNET_TUTORIAL_[A-Z_]+")


def _page_text(page: Path) -> str:
    html = page.read_text(encoding="utf-8")
    article = html[html.find("<article") : html.rfind("</article>")]
    return re.sub(r"<[^>]+>", " ", article)


def test_pages_never_talk_about_the_build_or_this_machine():
    for page in _pages():
        text = _page_text(page)
        found = [t for t in BUILD_TALK if t in text]
        assert not found, f"{page.relative_to(HTML)}: {found}"


def test_environment_variables_are_named_only_where_readers_set_them_up():
    """One place says how to point the package at the full data: the introduction (and
    the Benchmarks page's section on reproducing its numbers)."""
    allowed = {"intro.html", "benchmarks.html"}
    for page in _pages():
        if page.name in allowed or page.parent.name != "book":
            continue
        if page.name.startswith("api"):
            continue  # the reference documents every name, variables included
        found = sorted(set(ENV_NAMES.findall(_page_text(page))))
        assert not found, f"{page.name}: {found}"


# -------------------------------------------- figures as files, legible on any screen


def test_every_page_is_under_one_megabyte():
    """Figures and animation frames are image files next to the page (the package's
    myst-nb renderer, unet_tutorial.pictures.site), not base64 text inside it."""
    heavy = {
        str(p.relative_to(HTML)): round(p.stat().st_size / 1e6, 2)
        for p in _pages()
        if p.stat().st_size >= 1_000_000
    }
    assert not heavy, f"pages of 1 MB or more (MB): {heavy}"


def _package_figures(page: Path) -> list[str]:
    """The package's figures and frame steppers on a page, as HTML."""
    text = page.read_text(encoding="utf-8")
    return re.findall(
        r'<figure\b[^>]*class="ut-(?:figure|stepper)"[^>]*>.*?</figure>', text, re.S
    )


def _imgs(block: str) -> list[dict]:
    import html

    return [
        {k: html.unescape(v) for k, v in re.findall(r'([\w-]+)="([^"]*)"', tag)}
        for tag in re.findall(r"<img\b[^>]*>", block)
    ]


def test_figures_and_frames_are_image_files_next_to_the_page():
    """Every image of a figure or stepper is a file in _images/, with its alt text."""
    figures = 0
    for page in _pages():
        for block in _package_figures(page):
            figures += 1
            imgs = _imgs(block)
            assert imgs, f"{page.name}: a figure without an image"
            for img in imgs:
                src = img["src"]
                assert not src.startswith("data:"), f"{page.name}: an inline image"
                assert "/_images/" in f"/{src}", (page.name, src)
                assert (page.parent / unquote(src)).resolve().is_file(), (
                    page.name,
                    src,
                )
                assert len(img.get("alt", "")) > 20, (page.name, img.get("alt"))
    assert figures, "no figure of the package on any page"


def test_every_stepper_shows_one_frame_and_has_controls_alt_text_and_a_caption():
    """The encoder, feature-map, decoder and training animations are frame steppers:
    one <img> per frame (one shown, the rest hidden and loaded after the page), the
    five controls and a caption."""
    where = {}
    for page in _pages():
        for block in _package_figures(page):
            if 'class="ut-stepper"' not in block:
                continue
            imgs = _imgs(block)
            shown = [i for i in imgs if "ut-hidden" not in i.get("class", "").split()]
            assert len(shown) == 1 and all(
                i.get("loading") == "lazy" for i in imgs if i not in shown
            ), page.name
            assert all(
                re.search(rf"\(frame {k} of {len(imgs)}\)$", i["alt"])
                for k, i in enumerate(imgs, 1)
            ), page.name
            assert all(
                f'data-act="{a}"' in block
                for a in ("first", "prev", "play", "pause", "next")
            )
            assert "<figcaption" in block, f"{page.name}: a stepper without a caption"
            where[page.stem] = where.get(page.stem, 0) + 1
    assert where == {"encoder": 2, "decoder": 1, "training": 1}, where


def test_every_image_of_a_chapter_sits_in_a_figure_with_a_caption():
    """No bare plot: each image of a chapter's article is in a <figure> with a
    <figcaption> (a stepper's frames share one), its alt text describes it."""
    for nb in sorted((ROOT / "book").glob("*.ipynb")):
        source = nb.read_text(encoding="utf-8")
        assert "plt.show()" not in source, (
            f"{nb.name}: plt.show() shows a figure without a caption or alt text; "
            "end the cell with ut.captioned(fig, caption, alt=...)"
        )
        page = (HTML / "book" / f"{nb.stem}.html").read_text(encoding="utf-8")
        article = page[page.index("<article") : page.index("</article>")]
        figures = re.findall(r"<figure\b.*?</figure>", article, re.S)
        outside = re.sub(r"<figure\b.*?</figure>", "", article, flags=re.S)
        assert not re.search(r"<img\b", outside), (
            f"{nb.name}: an image outside a figure"
        )
        for block in figures:
            if "<img" not in block:
                continue
            assert "<figcaption" in block, f"{nb.name}: a figure without a caption"
            for img in _imgs(block):
                alt = img.get("alt", "")
                assert len(alt) > 20, f"{nb.name}: {img}"
                assert not re.search(r"\.(png|gif|jpe?g|svg)$", alt), (
                    f"{nb.name}: the alt text is a file name: {alt}"
                )
        assert sum("<figcaption" in b for b in figures) >= source.count(
            "ut.captioned("
        ), nb.name


@pytest.mark.slow
@pytest.mark.skipif(
    shutil.which("chromium") is None, reason="Debian's chromium is not installed"
)
@pytest.mark.parametrize("width", [420, 1280])
def test_figures_stay_legible_on_a_phone_and_fill_the_column_on_a_desktop(
    tmp_path, width
):
    """The encoder page in a frame 420 px (a phone) and 1280 px wide: the page never
    gets wider than the screen; a figure fills the column, but never gets narrower
    than its smallest text allows (it scrolls sideways inside its panel instead)."""
    probe = tmp_path / "probe.html"
    probe.write_text(
        f"""<!doctype html><html><body style="margin:0">
<iframe id="f" src="{(HTML / "book" / "encoder.html").as_uri()}" width="{width}"
 height="2000" style="border:0"></iframe>
<script>
document.getElementById("f").addEventListener("load", function () {{
  var d = this.contentDocument, w = this.contentWindow, out = [];
  out.push("page " + d.documentElement.scrollWidth + " " + d.documentElement.clientWidth);
  d.querySelectorAll("figure.ut-figure, figure.ut-stepper").forEach(function (f) {{
    var fit = f.querySelector(".ut-fit"), cs = w.getComputedStyle(fit);
    out.push([Math.round(fit.getBoundingClientRect().width), parseFloat(cs.width),
              parseFloat(cs.minWidth), Math.round(f.getBoundingClientRect().right)].join(" "));
  }});
  document.body.setAttribute("data-probe", out.join(";"));
}});
</script></body></html>""",
        encoding="utf-8",
    )
    dom = headless_chromium(
        tmp_path / "profile",
        "--allow-file-access-from-files",
        "--window-size=1400,2000",
        "--virtual-time-budget=5000",
        "--dump-dom",
        probe.as_uri(),
    )
    found = re.search(r'data-probe="([^"]*)"', dom)
    assert found, dom[-2000:]
    page, *figures = found.group(1).split(";")
    scroll_width, client_width = map(int, page.split()[1:])
    assert scroll_width <= client_width, f"the page is wider than {width} px: {page}"
    assert figures, "no figure on the encoder page"
    for line in figures:
        shown, natural, narrowest, right = map(float, line.split())
        assert shown >= narrowest - 0.5, line  # never narrower than its text allows
        assert right <= client_width, line  # the panel stays on the screen
        if width == 1280:
            # a desktop shows a figure at its own width, or shrunk by a little at most
            assert shown >= min(natural, 0.9 * 700), line
