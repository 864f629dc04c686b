"""The Try it page in headless Chromium: its masks, its inference times, its sizes.

Serves the built site (``_build/html``, or ``--site``) on a local port, opens
``book/try_it.html?sample=NAME`` for a 96 px-model pet and a 512 px EM slice in
Debian's Chromium, driven through the DevTools protocol over a pipe (no extra
Python package), and records the time the page itself reports for a prediction
(``performance.now()`` around resizing, the model and the argmax; the model is
loaded and compiled before) on the first run and the median of the next
``REPEATS``. It also records the model files' and the runtime's sizes, raw and
gzipped, into ``benchmarks/results/tryit.json`` and ``.md``.

``tests/test_tryit.py`` uses the same driver (``open_page``, ``serve``).

Run:  python benchmarks/tryit.py [--site _build/html]
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import functools
import gzip
import http.server
import json
import os
import platform
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
REPEATS = 5
SAMPLES = {"pets": "Abyssinian_201.jpg", "membranes": "slice_20.png"}

WAIT_JS = """new Promise((resolve) => {
  const t0 = Date.now();
  const tick = () => {
    for (const o of document.querySelectorAll(".tryit-result"))
      if (o.dataset.state === "done" || o.dataset.state === "error")
        return resolve(JSON.stringify(Object.assign({}, o.dataset)));
    if (Date.now() - t0 > %d) return resolve(JSON.stringify({state: "timeout"}));
    setTimeout(tick, 50);
  };
  tick();
})"""
AGAIN_JS = """(() => {
  const o = [...document.querySelectorAll(".tryit-result")].find((o) => o.dataset.state === "done");
  o.dataset.state = "idle";
  o.closest(".tryit-panel").querySelector("button[data-sample='%s']").click();
})()"""


@contextlib.contextmanager
def serve(folder: Path):
    """A local HTTP server of ``folder`` (like GitHub Pages: static files, no special
    headers) in a thread; yields its origin, e.g. ``http://127.0.0.1:40123``."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


HEADLESS_CHROMIUM = (
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-sync",
    "--disable-component-update",
    # the browser's own clock check (clients2.google.com), not the page's
    "--disable-features=NetworkTimeServiceQuerying",
)
"""Debian's Chromium, headless, sending no request of its own (the tests use it too:
``tests/conftest.py``'s ``headless_chromium``)."""


class Chromium:
    """Headless Chromium driven by the DevTools protocol over ``--remote-debugging-pipe``
    (fd 3: commands in, fd 4: answers out, each message ended by a NUL byte)."""

    def __init__(self, profile: Path, net_log: Path | None = None, width: int = 1280):
        to_child, self._write = os.pipe()
        self._read, from_child = os.pipe()

        def fds_3_and_4():
            a = fcntl.fcntl(to_child, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_child, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        cmd = [
            *HEADLESS_CHROMIUM,
            f"--user-data-dir={profile}",
            f"--window-size={width},2000",
            "--remote-debugging-pipe",
        ]
        if net_log is not None:
            cmd.append(f"--log-net-log={net_log}")
        self.proc = subprocess.Popen(
            [*cmd, "about:blank"],
            preexec_fn=fds_3_and_4,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._id = 0
        self.session = None
        self.requests: list[str] = []
        """Every URL the opened pages requested (DevTools' Network domain)."""

    def send(
        self, method: str, params: dict | None = None, timeout: float = 120
    ) -> dict:
        self._id += 1
        message = {"id": self._id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Target."):
            message["sessionId"] = self.session
        os.write(self._write, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                answer = json.loads(raw)
                if answer.get("method") == "Network.requestWillBeSent":
                    self.requests.append(answer["params"]["request"]["url"])
                if answer.get("id") == self._id:
                    if "error" in answer:
                        raise RuntimeError(f"{method}: {answer['error']}")
                    return answer["result"]
            chunk = os.read(self._read, 1 << 16)
            if not chunk:
                raise RuntimeError("chromium closed the pipe")
            self._buffer += chunk
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.send(
            "Target.attachToTarget", {"targetId": target, "flatten": True}
        )["sessionId"]
        self.send("Network.enable")
        self.send("Page.navigate", {"url": url})
        for _ in range(600):  # until the new document's context answers
            with contextlib.suppress(RuntimeError):
                if self.evaluate("location.href") == url:
                    return
            time.sleep(0.05)
        raise TimeoutError(f"{url} did not load")

    def evaluate(self, expression: str, timeout: float = 120):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            timeout=timeout,
        )
        return result["result"].get("value")

    def screenshot(self, path: Path, width: int) -> None:
        height = self.evaluate("document.documentElement.scrollHeight")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": width,
                "height": min(int(height), 4000),
                "deviceScaleFactor": 1,
                "mobile": width < 600,
            },
        )
        time.sleep(0.5)
        shot = self.send("Page.captureScreenshot", {"format": "png"})
        import base64

        path.write_bytes(base64.b64decode(shot["data"]))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close", timeout=20)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._write)
        os.close(self._read)


def read_result(dataset: dict):
    """The page's mask (``data-mask``, run-length ``class x count``) as a NumPy array."""
    import numpy as np

    height, width = map(int, dataset["size"].split("x"))
    runs = [tuple(map(int, part.split("x"))) for part in dataset["mask"].split(",")]
    mask = np.concatenate([np.full(n, v, np.uint8) for v, n in runs])
    return mask.reshape(height, width)


def open_page(browser: Chromium, origin: str, sample: str, wait_s: float = 120) -> dict:
    """Open the Try it page with ``?sample=NAME`` and wait for its result."""
    browser.open(f"{origin}/book/try_it.html?sample={sample}")
    return json.loads(
        browser.evaluate(WAIT_JS % int(wait_s * 1000), timeout=wait_s + 30)
    )


def requested_urls(net_log: Path, origin: str) -> set[str]:
    """Every URL that a page of ``origin`` requested, from a Chromium net log
    (``--log-net-log``): the requests whose initiator is that origin, with the
    pages themselves. The browser's own background requests (its update and
    clock checks) have no page as initiator and are left out."""
    events = json.loads(net_log.read_text(errors="replace"))["events"]
    urls = set()
    for event in events:
        params = event.get("params", {})
        if "url" in params and (
            params.get("initiator") == origin or params["url"].startswith(origin + "/")
        ):
            urls.add(params["url"])
    return urls


def sizes(site: Path) -> dict:
    """Raw and gzipped bytes of the page's models and of the runtime served with it."""

    def entry(paths):
        raw = sum(p.stat().st_size for p in paths)
        gz = sum(len(gzip.compress(p.read_bytes(), 9)) for p in paths)
        return {"files": sorted(p.name for p in paths), "bytes": raw, "gzip_bytes": gz}

    tryit = site / "_static" / "tryit"
    runtime = [p for p in (tryit / "litertjs").rglob("*") if p.is_file()]
    relaxed = [p for p in runtime if "compat" not in p.name]
    return {
        "pets_model": entry([tryit / "models" / "pets.tflite"]),
        "membranes_model": entry([tryit / "models" / "membranes.tflite"]),
        "runtime_served": entry(runtime),
        "runtime_one_browser_loads": entry(relaxed),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    args = parser.parse_args()
    out = {"sizes": sizes(args.site), "times_ms": {}}
    with tempfile.TemporaryDirectory() as tmp, serve(args.site) as origin:
        browser = Chromium(Path(tmp) / "profile")
        try:
            for model, sample in SAMPLES.items():
                first = open_page(browser, origin, sample)
                assert first["state"] == "done", first
                again = []
                for _ in range(REPEATS):
                    browser.evaluate(AGAIN_JS % sample)
                    again.append(
                        float(json.loads(browser.evaluate(WAIT_JS % 120000))["ms"])
                    )
                out["times_ms"][model] = {
                    "sample": sample,
                    "size": first["size"],
                    "first": float(first["ms"]),
                    "median_of_next": statistics.median(again),
                    "next": again,
                }
        finally:
            browser.close()
    version = subprocess.run(["chromium", "--version"], capture_output=True, text=True)
    out["machine"] = {
        "browser": version.stdout.strip(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "runtime": "@litertjs/core 2.5.3, accelerator wasm, single-threaded",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tryit.json").write_text(json.dumps(out, indent=1) + "\n")
    (RESULTS / "tryit.md").write_text(markdown(out))
    print(markdown(out))


def markdown(out: dict) -> str:
    mb = 1e6
    s, t = out["sizes"], out["times_ms"]
    total = (
        s["pets_model"]["gzip_bytes"]
        + s["membranes_model"]["gzip_bytes"]
        + s["runtime_served"]["gzip_bytes"]
    )
    lines = [
        "# Try it page: sizes and browser times",
        "",
        f"Measured by `benchmarks/tryit.py` on {out['machine']['date']}, "
        f"{out['machine']['browser']} headless, {out['machine']['cores']} CPU cores "
        f"(shared), {out['machine']['runtime']}.",
        "",
        "| what | bytes | gzipped |",
        "|---|---:|---:|",
    ]
    for name, e in s.items():
        lines.append(
            f"| {name.replace('_', ' ')} | {e['bytes'] / mb:.2f} MB | "
            f"{e['gzip_bytes'] / mb:.2f} MB |"
        )
    lines += [
        f"| **models + runtime served** | | **{total / mb:.2f} MB** |",
        "",
        f"| prediction in the page | image | first | median of the next {REPEATS} |",
        "|---|---|---:|---:|",
    ]
    for name, e in t.items():
        lines.append(
            f"| {name} | {e['sample']} ({e['size']} px) | {e['first']:.0f} ms | "
            f"{e['median_of_next']:.0f} ms |"
        )
    one = (
        s["pets_model"]["gzip_bytes"]
        + s["membranes_model"]["gzip_bytes"]
        + s["runtime_one_browser_loads"]["gzip_bytes"]
    )
    pet_ms, em_ms = t["pets"]["median_of_next"], t["membranes"]["median_of_next"]
    lines += [
        "",
        "Goals (single-threaded): models + runtime ≤ 10 MB gzipped: "
        f"{'met' if total <= 10 * mb else 'not met'} for all the files served "
        f"({total / mb:.2f} MB: both WebAssembly builds, the relaxed-SIMD one and the "
        f"compatible one), {'met' if one <= 10 * mb else 'not met'} for what one browser "
        f"downloads ({one / mb:.2f} MB: one build and both models); a pet mask < 100 ms: "
        f"{'met' if pet_ms < 100 else 'not met'} ({pet_ms:.0f} ms); a 512 px EM slice "
        f"< 2 s: {'met' if em_ms < 2000 else 'not met'} ({em_ms:.0f} ms). The times are "
        "the page's own (`performance.now()` around resizing, the model and the argmax, "
        "the model already loaded), on a machine shared with other jobs: they vary "
        "from run to run.",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    if shutil.which("chromium") is None:
        raise SystemExit("needs Debian's chromium")
    main()
