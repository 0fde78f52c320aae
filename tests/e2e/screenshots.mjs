// Screenshots of the shipped workflows for the README: a real ComfyUI (CPU) with this pack linked in,
// Debian's chromium driven by playwright-core. Opens workflows/cinemagraph_oneclick.json and
// workflows/cinemagraph_stages.json, runs each, fits the view to the whole graph and saves
// docs/workflow_oneclick.png and docs/workflow_stages.png, quantised with Pillow to < 300 KB.
// See README.md beside this file.
//
//   cd tests/e2e && npm install && node screenshots.mjs
//
// Environment: COMFY_HOME, CHROMIUM (as run_e2e.mjs), SHOTS_FRAMES (frames rendered by the runs; by default
// the workflows' own 60; the frame widgets are set back to the shipped value before the screenshot),
// SHOTS_TIMEOUT_S (per run, default 900), SHOTS_SCALE (device pixels per CSS px, default 1.5), PYTHON (a
// python with Pillow, default ComfyUI's venv).
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { COMFY_PYTHON, REPO, loadWorkflow, openComfy, runAndWait, sleep } from "./comfy_session.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = join(HERE, "artifacts");
const FRAMES = process.env.SHOTS_FRAMES ? Number(process.env.SHOTS_FRAMES) : null;
const TIMEOUT_S = Number(process.env.SHOTS_TIMEOUT_S ?? 900);
const PYTHON = process.env.PYTHON ?? COMFY_PYTHON;
const MAX_BYTES = 300 * 1024;
// A clean canvas: no minimap, no fps/node-count overlay, no pack-name badge above every node.
const SETTINGS = { "Comfy.Minimap.Visible": false, "Comfy.Graph.CanvasInfo": false,
  "Comfy.NodeBadge.NodeSourceBadgeMode": "None" };
const MARGIN_PX = 16;
// Device pixels per CSS px: sharper text in the wide stages graph, where the fit zooms out.
const SCALE = Number(process.env.SHOTS_SCALE ?? 1.5);
// Window sizes (CSS px) near each graph's aspect, so that the fitted graph fills the picture.
const SHOTS = [
  { workflow: "cinemagraph_oneclick.json", doc: "workflow_oneclick.png", framesNode: "Cinemagraph3D",
    viewport: { width: 1600, height: 900 } },
  { workflow: "cinemagraph_stages.json", doc: "workflow_stages.png", framesNode: "CinemagraphSymmetricAnimate",
    viewport: { width: 1920, height: 1000 } },
];
// Most colours first; a picture over MAX_BYTES is quantised again with fewer. Prints "colours bytes
// width height"; writes dst only when it fits (exit status 3 when none does).
const COLOURS = [256, 192, 128, 96, 64];
const QUANTISE = `
import io, sys
from PIL import Image
src, dst, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
img = Image.open(src).convert("RGB")
for colours in map(int, sys.argv[4:]):
    buf = io.BytesIO()
    img.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(buf, "PNG", optimize=True)
    if buf.tell() <= limit:
        open(dst, "wb").write(buf.getvalue())
        print(colours, buf.tell(), *img.size)
        sys.exit(0)
sys.exit(3)
`;

const log = (...args) => console.log("[shots]", ...args);

/** The `frames` widget's value on the first node of `type`; sets it to `value` unless that is null. */
function framesWidget(page, type, value = null) {
  return page.evaluate(([t, n]) => {
    const widget = window.app.graph.nodes.find((node) => node.type === t).widgets.find((w) => w.name === "frames");
    const was = widget.value;
    if (n !== null) {
      widget.value = n;
      window.app.canvas.setDirty(true, true);
    }
    return was;
  }, [type, value]);
}

/**
 * Fit view: scale and centre the whole graph into the part of the canvas that ComfyUI's menus, side bar
 * and Run bar leave free (the frontend's own fit view centres on the full window, under those bars).
 * The free part is found by hit-testing the window (elementFromPoint) with the graph moved out of sight.
 */
function fitGraph(page) {
  return page.evaluate(async (margin) => {
    const canvas = window.app.canvas;
    const el = canvas.canvas;
    const frame = () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    canvas.deselectAll();
    canvas.ds.offset = [1e6, 1e6];
    canvas.setDirty(true, true);
    await frame();
    const r = el.getBoundingClientRect();
    // The nodes' DOM widgets (text boxes, the MaskHints editor, video) follow the graph a frame late.
    const free = (x, y) => {
      const hit = document.elementFromPoint(x, y);
      return hit === el || Boolean(hit?.closest(".dom-widget"));
    };
    const along = (a, b, n = 32) => Array.from({ length: n }, (_, i) => a + ((i + 0.5) * (b - a)) / n);
    // From the middle of the window out to the first bar on each side, rows first, then columns.
    const [cx, cy] = [(r.left + r.right) / 2, (r.top + r.bottom) / 2];
    const reach = (from, to, hit) => {
      const step = Math.sign(to - from) * 2;
      let v = from;
      while ((to - v) * step > 0 && hit(v + step)) v += step;
      return v;
    };
    let left = reach(cx, r.left, (x) => free(x, cy));
    let right = reach(cx, r.right - 1, (x) => free(x, cy));
    const top = Math.max(...along(left, right).map((x) => reach(cy, r.top, (y) => free(x, y))));
    const bottom = Math.min(...along(left, right).map((x) => reach(cy, r.bottom - 1, (y) => free(x, y))));
    left = Math.max(...along(top, bottom).map((y) => reach(cx, r.left, (x) => free(x, y))));
    right = Math.min(...along(top, bottom).map((y) => reach(cx, r.right - 1, (x) => free(x, y))));
    const box = [Infinity, Infinity, -Infinity, -Infinity];
    for (const node of window.app.graph.nodes) {
      const [x, y, w, h] = node.boundingRect;
      box[0] = Math.min(box[0], x);
      box[1] = Math.min(box[1], y);
      box[2] = Math.max(box[2], x + w);
      box[3] = Math.max(box[3], y + h);
    }
    const [w, h] = [box[2] - box[0], box[3] - box[1]];
    const scale = Math.min((right - left - 2 * margin) / w, (bottom - top - 2 * margin) / h, canvas.ds.max_scale);
    const centre = [(left + right) / 2 - r.left, (top + bottom) / 2 - r.top];
    canvas.ds.scale = scale;
    canvas.ds.offset = [centre[0] / scale - (box[0] + w / 2), centre[1] / scale - (box[1] + h / 2)];
    canvas.setDirty(true, true);
    await frame();
    return { free: [left, top, right, bottom].map(Math.round), scale };
  }, MARGIN_PX);
}

/** Quantise `src` into `dst` (PNG, palette) with as many colours as fit in MAX_BYTES. */
function quantise(src, dst) {
  const res = spawnSync(PYTHON, ["-c", QUANTISE, src, dst, String(MAX_BYTES), ...COLOURS.map(String)], { encoding: "utf8" });
  if (res.status === 3) throw new Error(`${src} stays over ${MAX_BYTES} bytes even with ${COLOURS.at(-1)} colours`);
  if (res.status !== 0) throw new Error(`quantising ${src} with ${PYTHON} failed:\n${res.stderr}`);
  const [colours, bytes, width, height] = res.stdout.trim().split(" ").map(Number);
  return { colours, bytes, size: [width, height] };
}

async function shoot(session, { workflow, doc, framesNode, viewport }) {
  const { page, url } = session;
  await page.setViewportSize(viewport);
  await loadWorkflow(page, join(REPO, "workflows", workflow));
  // One tab: the workflow's own (closes the start-up "Unsaved Workflow" and the previous shot's).
  await page.evaluate(async () => {
    const store = window.app.extensionManager.workflow;
    for (const w of [...store.openWorkflows]) if (w !== store.activeWorkflow) await store.closeWorkflow(w);
  });
  const shipped = await framesWidget(page, framesNode, FRAMES);
  const started = Date.now();
  const entry = await runAndWait(url, () => page.evaluate(() => window.app.queuePrompt(0)), TIMEOUT_S);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const status = entry?.status?.status_str ?? "timeout";
  if (status !== "success") throw new Error(`${workflow} did not run to the end (${status}): ${JSON.stringify(entry?.status)}`);
  log(`${workflow}: ran ${FRAMES ?? shipped} frames in ${seconds} s`);
  if (FRAMES !== null) await framesWidget(page, framesNode, shipped);
  const { free, scale } = await fitGraph(page);
  log(`${workflow}: fit view into [${free}] at ${(scale * 100).toFixed(0)} %`);
  await sleep(1000);
  const raw = join(ARTIFACTS, doc);
  await page.screenshot({ path: raw });
  const { colours, bytes, size } = quantise(raw, join(REPO, "docs", doc));
  log(`docs/${doc}: ${size.join("x")} px, ${colours} colours, ${(bytes / 1024).toFixed(0)} KB`);
  return { workflow, seconds: Number(seconds), frames: FRAMES ?? shipped, fit: { free, scale }, colours, bytes, size };
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const session = await openComfy({ viewport: SHOTS[0].viewport, deviceScaleFactor: SCALE, settings: SETTINGS, log });
  const results = [];
  try {
    for (const shot of SHOTS) results.push(await shoot(session, shot));
  } finally {
    await session.close(join(ARTIFACTS, "server_shots.log"));
  }
  writeFileSync(join(ARTIFACTS, "shots.json"), `${JSON.stringify(results, null, 1)}\n`);
}

main().catch((e) => {
  console.error("[shots] error:", e);
  process.exitCode = 1;
});
