// The Try it page: the book's exported U-Nets run in the reader's browser with
// LiteRT.js (single-threaded WebAssembly, served with the site; no server, no CDN).
// Each model's JSON sidecar (written by ut.export_model) says how to prepare an
// image; this file does it as the package's predict_mask does:
//   * pixels / 255, grey as Pillow's convert("L") for a one-channel model;
//   * a model of one input size: the image resized to it, bilinear with
//     antialiasing as tf.image.resize(..., antialias=True), the mask resized back
//     by nearest neighbour as tf.image.resize(..., "nearest");
//   * a model of any size (exported at one tile size): the image at its own
//     resolution, whole when it has the tile's size, else by overlapping tiles
//     (see predict).
import { loadLiteRt, loadAndCompile, Tensor } from "./litertjs/core.js";

const BASE = new URL(".", import.meta.url);
const MARGIN = 64; // px of each tile's border that are not kept, when tiling

let runtime = null;
function loadRuntime() {
  // the WebAssembly runtime, once per page (the relaxed-SIMD build, else the compatible one)
  runtime = runtime || loadLiteRt(new URL("litertjs/wasm/", BASE).href);
  return runtime;
}

const models = {};
async function loadModel(name) {
  if (!models[name]) {
    models[name] = (async () => {
      const side = await (await fetch(new URL(`models/${name}.json`, BASE))).json();
      const [, hIn, wIn] = side.input_shape, [, hOut, wOut] = side.output_shape || side.input_shape;
      if (hOut !== hIn || wOut !== wIn) {
        // an unpadded model predicts only the centre of its input: that needs overlap-tile
        throw new Error(`${side.model} predicts ${hOut} x ${wOut} px from ${hIn} x ${wIn} px ` +
          "(an unpadded model); this page predicts with padded models only");
      }
      await loadRuntime();
      const url = new URL(`models/${side.model}`, BASE).href;
      const compiled = await loadAndCompile(url, { accelerator: "wasm" });
      return { side, compiled };
    })();
  }
  return models[name];
}

// ---- preprocessing, as the package's resize_image / resize_mask -------------------
function triangleSpans(inSize, outSize) {
  // tf.image.resize(antialias=True), bilinear: ScaleAndTranslate with a triangle kernel
  const scale = outSize / inSize;
  const inv = 1 / scale;
  const kscale = Math.max(inv, 1);
  const spans = [];
  for (let x = 0; x < outSize; x++) {
    const s = (x + 0.5) * inv;
    let start = Math.ceil(s - kscale - 0.5);
    let end = Math.floor(s + kscale - 0.5);
    start = Math.min(Math.max(start, 0), inSize - 1);
    end = Math.min(Math.max(end, 0), inSize - 1) + 1;
    const w = [];
    let sum = 0;
    for (let i = start; i < end; i++) {
      const v = Math.max(0, 1 - Math.abs((i + 0.5 - s) / kscale));
      w.push(v);
      sum += v;
    }
    spans.push({ start, w: w.map((v) => (sum > 1e-3 ? v / sum : 0)) });
  }
  return spans;
}

function resizeBilinear(src, h, w, c, oh, ow) {
  const ys = triangleSpans(h, oh), xs = triangleSpans(w, ow);
  const rows = new Float32Array(h * ow * c); // along x first
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      const { start, w: wt } = xs[x];
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let i = 0; i < wt.length; i++) acc += wt[i] * src[(y * w + start + i) * c + k];
        rows[(y * ow + x) * c + k] = acc;
      }
    }
  const out = new Float32Array(oh * ow * c);
  for (let y = 0; y < oh; y++) {
    const { start, w: wt } = ys[y];
    for (let x = 0; x < ow; x++)
      for (let k = 0; k < c; k++) {
        let acc = 0;
        for (let i = 0; i < wt.length; i++) acc += wt[i] * rows[((start + i) * ow + x) * c + k];
        out[(y * ow + x) * c + k] = acc;
      }
  }
  return out;
}

function resizeNearest(mask, h, w, oh, ow) {
  // tf.image.resize(method="nearest"): half-pixel centres, floor
  const out = new Uint8Array(oh * ow);
  for (let y = 0; y < oh; y++) {
    const sy = Math.min(Math.floor((y + 0.5) * (h / oh)), h - 1);
    for (let x = 0; x < ow; x++) {
      const sx = Math.min(Math.floor((x + 0.5) * (w / ow)), w - 1);
      out[y * ow + x] = mask[sy * w + sx];
    }
  }
  return out;
}

function toInput(rgba, n, channels) {
  // pixels / 255; one channel: Pillow's convert("L") (ITU-R 601-2 luma, rounded)
  const out = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const r = rgba[4 * i], g = rgba[4 * i + 1], b = rgba[4 * i + 2];
    if (channels === 1) out[i] = ((r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16) / 255;
    else for (let k = 0; k < 3; k++) out[3 * i + k] = rgba[4 * i + k] / 255;
  }
  return out;
}

function reflect(i, n) {
  // numpy.pad(mode="reflect"): a b c | b a, back and forth for long pads
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  i = ((i % period) + period) % period;
  return i < n ? i : period - i;
}

function tileStarts(n, side) {
  // where the tiles start along a side of n px: every side - 2 * MARGIN px, the
  // last one flush with the end
  if (n <= side) return [0];
  const starts = [];
  for (let p = 0; p + side < n; p += side - 2 * MARGIN) starts.push(p);
  starts.push(n - side);
  return starts;
}

function kept(p, starts, side, n) {
  // the part of the tile at p that the mask takes: all but its inner margins
  const first = p === starts[0], last = p === starts[starts.length - 1];
  return [first ? 0 : p + MARGIN, last ? Math.min(n, p + side) : p + side - MARGIN];
}

async function runOnce(compiled, data, side, channels) {
  const input = new Tensor(data, [1, side, side, channels]);
  const outputs = await compiled.run(input);
  const logits = outputs[0].toTypedArray().slice();
  input.delete();
  outputs.forEach((t) => t.delete());
  return logits;
}

function argmax(logits, n, k) {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c] > logits[i * k + best]) best = c;
    out[i] = best;
  }
  return out;
}

export async function predict(name, rgba, h, w) {
  const { side: meta, compiled } = await loadModel(name);
  const [, side, , channels] = meta.input_shape;
  const k = meta.num_classes;
  const pixels = toInput(rgba, h * w, channels);
  const t0 = performance.now();
  let mask;
  if (meta.preprocessing.resize !== "none") {
    const x = resizeBilinear(pixels, h, w, channels, side, side);
    const small = argmax(await runOnce(compiled, x, side, channels), side * side, k);
    mask = resizeNearest(small, side, side, h, w);
  } else {
    // as predict_mask: the image mirrored at its bottom and right up to sides the
    // model takes (pad_for_model: multiples of 2 ** depth), then tiles of the
    // file's size whose outer edges lie on that padded image's edges (zero
    // padding there, as in one whole prediction), neighbours overlapping by
    // 2 * MARGIN px and each keeping its part nearest its centre. A padded image
    // smaller than a tile is mirrored further (zeros there would not be the same)
    mask = new Uint8Array(h * w);
    const tile = new Float32Array(side * side * channels);
    const multiple = meta.preprocessing.multiple || 1;
    const hp = Math.ceil(h / multiple) * multiple, wp = Math.ceil(w / multiple) * multiple;
    const rows = tileStarts(hp, side), cols = tileStarts(wp, side);
    for (const ty of rows)
      for (const tx of cols) {
        for (let y = 0; y < side; y++)
          for (let x = 0; x < side; x++) {
            const sy = reflect(ty + y, h), sx = reflect(tx + x, w);
            for (let c = 0; c < channels; c++)
              tile[(y * side + x) * channels + c] = pixels[(sy * w + sx) * channels + c];
          }
        const out = argmax(await runOnce(compiled, tile, side, channels), side * side, k);
        const [y0, y1] = kept(ty, rows, side, h), [x0, x1] = kept(tx, cols, side, w);
        for (let y = y0; y < y1; y++)
          for (let x = x0; x < x1; x++) mask[y * w + x] = out[(y - ty) * side + x - tx];
      }
  }
  return { mask, ms: performance.now() - t0, meta };
}

// ---- the page ----------------------------------------------------------------
function runLength(mask) {
  const parts = [];
  let v = mask[0], n = 0;
  for (const m of mask) {
    if (m === v) n++;
    else { parts.push(`${v}x${n}`); v = m; n = 1; }
  }
  parts.push(`${v}x${n}`);
  return parts.join(",");
}

async function decode(blob) {
  // upright as a viewer shows it (EXIF), the file's own colours
  const bitmap = await createImageBitmap(blob, {
    imageOrientation: "from-image", colorSpaceConversion: "none", premultiplyAlpha: "none",
  });
  const canvas = document.createElement("canvas");
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return { canvas, h: bitmap.height, w: bitmap.width,
           rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data };
}

function colourOf(meta, c) {
  const fallback = [[230, 159, 0], [0, 114, 178], [0, 0, 0]];
  return (meta.colors || fallback)[c] || [128, 128, 128];
}

function draw(panel, image, result) {
  const { mask, meta } = result;
  const maskCanvas = document.createElement("canvas");
  maskCanvas.width = image.w;
  maskCanvas.height = image.h;
  const mctx = maskCanvas.getContext("2d");
  const pixels = mctx.createImageData(image.w, image.h);
  for (let i = 0; i < mask.length; i++) {
    const [r, g, b] = colourOf(meta, mask[i]);
    pixels.data.set([r, g, b, 255], 4 * i);
  }
  mctx.putImageData(pixels, 0, 0);
  const view = panel.querySelector("canvas.tryit-view");
  const scale = Math.min(1, 1024 / Math.max(image.w, image.h));
  view.width = Math.round(image.w * scale);
  view.height = Math.round(image.h * scale);
  const slider = panel.querySelector("input[type=range]");
  const repaint = () => {
    const ctx = view.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.globalAlpha = 1;
    ctx.drawImage(image.canvas, 0, 0, view.width, view.height);
    ctx.imageSmoothingEnabled = false;
    ctx.globalAlpha = slider.value / 100;
    ctx.drawImage(maskCanvas, 0, 0, view.width, view.height);
  };
  slider.oninput = repaint;
  repaint();
  const counts = new Array(meta.num_classes).fill(0);
  for (const m of mask) counts[m]++;
  const list = panel.querySelector(".tryit-shares");
  list.replaceChildren(...counts.map((n, c) => {
    const li = document.createElement("li");
    const swatch = document.createElement("span");
    swatch.className = "tryit-swatch";
    swatch.style.background = `rgb(${colourOf(meta, c).join(",")})`;
    li.append(swatch, `${meta.class_names[c]}: ${(100 * n / mask.length).toFixed(1)} %`);
    return li;
  }));
  panel.querySelector(".tryit-time").textContent =
    `${image.w} × ${image.h} px, predicted in ${result.ms.toFixed(0)} ms in this browser`;
  const out = panel.querySelector(".tryit-result");
  out.dataset.mask = runLength(mask);
  out.dataset.size = `${image.h}x${image.w}`;
  out.dataset.ms = result.ms.toFixed(1);
  out.dataset.state = "done";
}

async function show(panel, blob) {
  const status = panel.querySelector(".tryit-status");
  const out = panel.querySelector(".tryit-result");
  out.dataset.state = "running";
  status.textContent = "Loading the model and predicting …";
  try {
    const image = await decode(blob);
    const result = await predict(panel.dataset.model, image.rgba, image.h, image.w);
    draw(panel, image, result);
    status.textContent = "";
  } catch (err) {
    out.dataset.state = "error";
    out.dataset.error = String(err);
    status.textContent = `Could not predict this image: ${err.message || err}`;
  }
}

function setUp(root) {
  const panels = [...root.querySelectorAll(".tryit-panel")];
  const tabs = [...root.querySelectorAll(".tryit-tab")];
  const select = (i) => {
    tabs.forEach((t, j) => t.setAttribute("aria-selected", String(i === j)));
    panels.forEach((p, j) => { p.hidden = i !== j; });
  };
  tabs.forEach((t, i) => t.addEventListener("click", () => select(i)));
  for (const panel of panels) {
    const file = panel.querySelector("input[type=file]");
    file.addEventListener("change", () => file.files[0] && show(panel, file.files[0]));
    const drop = panel.querySelector(".tryit-drop");
    drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
    drop.addEventListener("dragleave", () => drop.classList.remove("over"));
    drop.addEventListener("drop", (e) => {
      e.preventDefault();
      drop.classList.remove("over");
      if (e.dataTransfer.files[0]) show(panel, e.dataTransfer.files[0]);
    });
    for (const button of panel.querySelectorAll("button[data-sample]")) {
      button.addEventListener("click", async () => {
        const response = await fetch(new URL(`samples/${button.dataset.sample}`, BASE));
        show(panel, await response.blob());
      });
    }
  }
  root.querySelector(".tryit-note").hidden = true;
  // ?sample=NAME predicts that sample at once (a link can show a result)
  const sample = new URLSearchParams(location.search).get("sample");
  const button = sample && root.querySelector(`button[data-sample="${CSS.escape(sample)}"]`);
  if (button) {
    select(panels.indexOf(button.closest(".tryit-panel")));
    button.click();
  }
}

document.querySelectorAll(".tryit").forEach(setUp);
