// End-to-end test of the MaskHints editor: a real ComfyUI (CPU) with this pack linked in, Debian's
// chromium driven by playwright-core. Opens workflows/cinemagraph_stages.json, draws two arrows and a
// mask stroke with the mouse, queues the prompt and checks through /history that the run's MaskHints
// inputs (hints, mask_strokes) and the mask it used match what was drawn; then presses Auto and checks
// the proposed arrows and mask in the widgets. See README.md beside this file.
//
//   cd tests/e2e && npm install && node run_e2e.mjs
//
// Environment: COMFY_HOME (folder with ComfyUI/ and venv/, default ../comfy beside the repository),
// CHROMIUM (default /usr/bin/chromium), E2E_FRAMES (frames rendered, default 4), E2E_TIMEOUT_S (600).
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { HINT_DIVISOR, distanceToSegment, fitImage, parseHints, parseStrokes, toImage } from "../../web/cinemagraph_editor_logic.js";
import { PACK, REPO, getJson, loadWorkflow, openComfy, runAndWait, sleep } from "./comfy_session.mjs";

const HERE = dirname(fileURLToPath(import.meta.url));
const FRAMES = Number(process.env.E2E_FRAMES ?? 4);
const TIMEOUT_S = Number(process.env.E2E_TIMEOUT_S ?? 600);
const ARTIFACTS = join(HERE, "artifacts");
const WORKFLOW = join(REPO, "workflows", "cinemagraph_stages.json");
const TOLERANCE_PX = 2;

const log = (...args) => console.log("[e2e]", ...args);
const checks = [];

function check(ok, what) {
  checks.push({ ok: Boolean(ok), what });
  log(ok ? "ok  " : "FAIL", what);
}

/** Drag the mouse from a to b (client px) in steps, as a person would. */
async function drag(page, [x0, y0], [x1, y1], steps = 12) {
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  await page.mouse.move(x1, y1, { steps });
  await page.mouse.up();
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  const session = await openComfy({ log });
  const { page, url } = session;
  const { page: pageErrors, console: consoleErrors, http: missing } = session.errors;
  try {
    const info = await getJson(`${url}/object_info/CinemagraphMaskHints`);
    check(info.CinemagraphMaskHints?.input?.optional?.mask_strokes, "the server knows CinemagraphMaskHints.mask_strokes");
    const legacy = await getJson(`${url}/object_info/MaskHints`);
    check(legacy.MaskHints?.deprecated === true && !info.CinemagraphMaskHints.deprecated,
      "the old ID MaskHints is registered as a deprecated alias (hidden from the search), the prefixed one is not");
    const extensions = await getJson(`${url}/extensions`);
    check(extensions.some((e) => e.endsWith(`/${PACK}/cinemagraph_editor.js`)), "the editor is served from WEB_DIRECTORY");

    // Open the shipped workflow as the frontend's File > Open does (app.loadGraphData), then frame MaskHints.
    await loadWorkflow(page, WORKFLOW);
    const nodeId = await page.evaluate((frames) => {
      const graph = window.app.graph;
      const hints = graph.nodes.find((n) => n.type === "CinemagraphMaskHints");
      const animate = graph.nodes.find((n) => n.type === "CinemagraphSymmetricAnimate");
      animate.widgets.find((w) => w.name === "frames").value = frames;
      // Use the painted mask: disconnect Load Image's MASK from MaskHints (a connected MASK wins over strokes).
      hints.disconnectInput(hints.inputs.findIndex((i) => i.name === "mask"));
      hints.setSize([520, 720]);
      const canvas = window.app.canvas;
      canvas.ds.scale = 1;
      canvas.ds.offset = [-hints.pos[0] + 380, -hints.pos[1] + 60];
      canvas.setDirty(true, true);
      return hints.id;
    }, FRAMES);
    const canvasEl = page.locator(".cinemagraph-editor canvas");
    await canvasEl.waitFor({ state: "visible", timeout: 30_000 });
    await page.waitForFunction((id) => {
      const editor = window.app.graph.getNodeById(id).cinemagraphEditor;
      return editor && editor.frame() !== null;
    }, nodeId, { timeout: 60_000 });
    await page.screenshot({ path: join(ARTIFACTS, "01_workflow_loaded.png") });

    const frame = await page.evaluate((id) => window.app.graph.getNodeById(id).cinemagraphEditor.frame(), nodeId);
    check(frame[0] === 512 && frame[1] === 384, `the editor shows Load Image's 512x384 picture (got ${frame})`);
    const shipped = parseHints(await page.evaluate((id) => window.app.graph.getNodeById(id).widgets
      .find((w) => w.name === "hints").value, nodeId)).arrows;
    check(shipped.length === 3, "the shipped workflow's three arrows are read from the hints widget");

    await page.getByRole("button", { name: "Clear arrows" }).click();

    // Image px -> client px through the same letterboxing the editor uses, from the canvas' real box.
    const box = await canvasEl.boundingBox();
    const bitmap = await canvasEl.evaluate((c) => [c.width, c.height]);
    const fit = fitImage(frame[0], frame[1], bitmap[0], bitmap[1]);
    const toClient = ([x, y]) => [box.x + ((x * fit.scale + fit.offsetX) * box.width) / bitmap[0],
      box.y + ((y * fit.scale + fit.offsetY) * box.height) / bitmap[1]];
    const fromClient = ([cx, cy]) => toImage(fit, ((cx - box.x) * bitmap[0]) / box.width, ((cy - box.y) * bitmap[1]) / box.height);

    const wanted = [[285, 262, 280, 318], [250, 322, 236, 372]];
    const drawnClient = [];
    for (const [x0, y0, x1, y1] of wanted) {
      const a = toClient([x0, y0]).map(Math.round);
      const b = toClient([x1, y1]).map(Math.round);
      drawnClient.push([a, b]);
      await drag(page, a, b);
    }
    // A third arrow, selected by a click on its body and removed with the Delete key.
    const extraA = toClient([120, 120]).map(Math.round);
    const extraB = toClient([180, 130]).map(Math.round);
    await drag(page, extraA, extraB);
    await page.mouse.click(...toClient([150, 125]).map(Math.round));
    await page.keyboard.press("Delete");
    // Drag the end of the first arrow a little further.
    const endFrom = drawnClient[0][1];
    const endTo = toClient([283, 326]).map(Math.round);
    await drag(page, endFrom, endTo, 6);
    drawnClient[0][1] = endTo;

    await page.getByRole("button", { name: "Brush" }).click();
    const radius = 22;
    await page.locator(".cinemagraph-editor input[type=range]").fill(String(radius));
    const strokeImage = [[292, 250], [284, 290], [262, 322], [242, 345], [232, 360]];
    const strokeClient = strokeImage.map((p) => toClient(p).map(Math.round));
    await page.mouse.move(...strokeClient[0]);
    await page.mouse.down();
    for (const p of strokeClient.slice(1)) await page.mouse.move(...p, { steps: 6 });
    await page.mouse.up();
    await page.getByRole("button", { name: "➔ Arrow" }).click();
    await page.mouse.click(...toClient([(wanted[1][0] + wanted[1][2]) / 2, (wanted[1][1] + wanted[1][3]) / 2]).map(Math.round));
    await sleep(300);
    await page.screenshot({ path: join(ARTIFACTS, "02_drawn.png") });

    const widgets = await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id);
      const get = (name) => node.widgets.find((w) => w.name === name).value;
      return { hints: get("hints"), strokes: get("mask_strokes"), status: node.cinemagraphEditor.status.textContent };
    }, nodeId);
    log("hints widget:", widgets.hints);
    log("mask_strokes widget:", widgets.strokes);
    log("status line:", widgets.status.replace(/\n/g, " | "));
    check(/px\/frame/.test(widgets.status), "the status line reads out the selected arrow's speed");

    // Undo (Ctrl+Z on the graph) removes the stroke, redo brings it back: the editor follows the widgets.
    await page.mouse.click(box.x + box.width + 200, box.y - 30);
    await page.keyboard.press("Control+z");
    await page.waitForFunction((id) => window.app.graph.getNodeById(id).widgets
      .find((w) => w.name === "mask_strokes").value === "", nodeId, { timeout: 10_000 }).then(
      () => check(true, "Ctrl+Z undoes the mask stroke"), () => check(false, "Ctrl+Z undoes the mask stroke"));
    await page.keyboard.press("Control+y");
    await page.waitForFunction(([id, text]) => window.app.graph.getNodeById(id).widgets
      .find((w) => w.name === "mask_strokes").value === text, [nodeId, widgets.strokes], { timeout: 10_000 }).then(
      () => check(true, "Ctrl+Y redoes it"), () => check(false, "Ctrl+Y redoes it"));
    const redrawn = await page.waitForFunction((id) => window.app.graph.getNodeById(id).cinemagraphEditor?.doc?.strokes
      .length === 1, nodeId, { timeout: 10_000 }).then(() => true, () => false);
    check(redrawn, "after undo/redo the editor shows the stroke again (read back from the widget on its next draw)");

    const prompt = await page.evaluate(() => window.app.graphToPrompt());
    const apiNode = prompt.output[String(nodeId)];
    check(apiNode && !("cinemagraph_editor" in apiNode.inputs), "the editor itself sends nothing to the server");

    // Queue the prompt with the Run button's shortcut and wait for the run to finish.
    await page.mouse.click(box.x + box.width + 200, box.y - 30);
    const entry = await runAndWait(url, () => page.keyboard.press("Control+Enter"), TIMEOUT_S);
    check(entry?.status?.status_str === "success", `the prompt ran to the end (${entry?.status?.status_str ?? "timeout"})`);
    await sleep(500);
    await page.screenshot({ path: join(ARTIFACTS, "03_after_run.png") });
    const nodeBox = await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id);
      const canvas = window.app.canvas;
      const rect = canvas.canvas.getBoundingClientRect();
      const [x, y] = canvas.ds.convertOffsetToCanvas([node.pos[0], node.pos[1] - 30]);
      return { x: rect.left + x - 4, y: rect.top + y - 4, width: node.size[0] * canvas.ds.scale + 8,
        height: (node.size[1] + 30) * canvas.ds.scale + 8 };
    }, nodeId);
    await page.screenshot({ path: join(ARTIFACTS, "04_editor_node.png"), clip: nodeBox });

    // The run's inputs, as the server got them.
    const inputs = entry?.prompt?.[2]?.[String(nodeId)]?.inputs ?? {};
    const ranArrows = parseHints(inputs.hints ?? "").arrows;
    const expectArrows = drawnClient.map(([a, b]) => [...fromClient(a), ...fromClient(b)]);
    log("run's hints:", inputs.hints);
    log("expected (mouse positions in image px):", JSON.stringify(expectArrows.map((a) => a.map((v) => Math.round(v * 10) / 10))));
    check(ranArrows.length === 2, `the run got two arrows (got ${ranArrows.length})`);
    const arrowErr = Math.max(...expectArrows.flatMap((a, i) => a.map((v, k) => Math.abs(v - (ranArrows[i]?.[k] ?? Infinity)))));
    check(arrowErr <= TOLERANCE_PX, `arrows match the mouse drags within ${TOLERANCE_PX} px (max error ${arrowErr.toFixed(2)} px)`);
    const speed = Math.hypot(ranArrows[0][2] - ranArrows[0][0], ranArrows[0][3] - ranArrows[0][1]) / HINT_DIVISOR;
    log(`arrow 1 speed: ${speed.toFixed(3)} px/frame`);

    const { doc, error } = parseStrokes(inputs.mask_strokes ?? "");
    check(!error && doc?.strokes.length === 1 && doc.width === 512 && doc.height === 384,
      `the run got one stroke on the 512x384 frame (${error ?? `${doc?.strokes.length} strokes`})`);
    const stroke = doc.strokes[0];
    check(stroke.mode === "paint" && Math.abs(stroke.radius - radius) < 0.01, `brush stroke, radius ${stroke.radius} px`);
    const expectStroke = strokeClient.map(fromClient);
    const strokeErr = Math.max(...expectStroke.map(([x, y]) => Math.min(...stroke.points.slice(1).map(([px, py], i) =>
      distanceToSegment(x, y, stroke.points[i][0], stroke.points[i][1], px, py)))));
    const ends = [stroke.points[0], stroke.points[stroke.points.length - 1]];
    const endErr = Math.max(Math.hypot(ends[0][0] - expectStroke[0][0], ends[0][1] - expectStroke[0][1]),
      Math.hypot(ends[1][0] - expectStroke.at(-1)[0], ends[1][1] - expectStroke.at(-1)[1]));
    check(strokeErr <= TOLERANCE_PX && endErr <= TOLERANCE_PX,
      `the stroke passes through every mouse position within ${TOLERANCE_PX} px `
      + `(max ${strokeErr.toFixed(2)} px, ends ${endErr.toFixed(2)} px)`);

    // The mask the node used (its editor output) is the rasterised stroke.
    const out = entry?.outputs?.[String(nodeId)]?.cinemagraph_editor?.[0];
    check(out?.mask_source === "strokes" && out.width === 512 && out.height === 384,
      `the node used the painted strokes as its mask (source: ${out?.mask_source})`);
    const samples = await page.evaluate(async ([file, points]) => {
      const img = new Image();
      img.src = `/view?filename=${encodeURIComponent(file)}&type=temp&subfolder=`;
      await img.decode();
      const c = document.createElement("canvas");
      c.width = img.naturalWidth;
      c.height = img.naturalHeight;
      const g = c.getContext("2d");
      g.drawImage(img, 0, 0);
      const data = g.getImageData(0, 0, c.width, c.height).data;
      let painted = 0;
      for (let i = 3; i < data.length; i += 4) painted += data[i] > 127;
      const at = points.map(([x, y]) => data[(Math.round(y) * c.width + Math.round(x)) * 4 + 3]);
      return { painted, at, size: [c.width, c.height] };
    }, [out.mask_filename, [...expectStroke, [60, 60], [480, 60], [300, 200]]]);
    log("mask samples (alpha at the stroke points, then far away):", samples.at.join(", "), "painted px:", samples.painted);
    const onStroke = samples.at.slice(0, expectStroke.length);
    const away = samples.at.slice(expectStroke.length);
    let length = 0;
    for (let i = 1; i < expectStroke.length; i++) {
      length += Math.hypot(expectStroke[i][0] - expectStroke[i - 1][0], expectStroke[i][1] - expectStroke[i - 1][1]);
    }
    const area = 2 * radius * length + Math.PI * radius * radius;
    check(onStroke.every((a) => a > 127) && away.every((a) => a < 128), "the mask is set along the stroke and clear far from it");
    check(Math.abs(samples.painted - area) / area < 0.1, `painted area ${samples.painted} px ≈ brush area ${area.toFixed(0)} px`);

    // A saved workflow keeps the drawing: serialise, reload, and the editor reads it back.
    const reloaded = await page.evaluate(async (id) => {
      const saved = window.app.graph.serialize();
      await window.app.loadGraphData(saved, true, true, "reloaded");
      const node = window.app.graph.getNodeById(id);
      node.cinemagraphEditor.sync();
      const values = saved.nodes.find((n) => n.id === id).widgets_values;
      const editor = node.cinemagraphEditor;
      return { arrows: editor.arrows.length, strokes: editor.doc?.strokes.length ?? 0, values, radius: editor.radius,
        slider: Number(editor.radiusInput.value), size: [...node.size] };
    }, nodeId);
    check(reloaded.arrows === 2 && reloaded.strokes === 1, "a saved and reloaded workflow shows the same arrows and stroke");
    check(reloaded.radius === 22 && reloaded.slider === 22, `the reloaded editor offers the brush it was painted with `
      + `(radius ${reloaded.radius}, slider ${reloaded.slider})`);
    log("MaskHints node size after reload:", reloaded.size.join("x"));
    check(reloaded.values.length === 4 && reloaded.values[0] === inputs.hints && reloaded.values[2] === inputs.mask_strokes
      && reloaded.values[3] === true, "the saved widgets_values are [hints, sigma, mask_strokes, auto], the editor adds none");

    // Auto: the motion proposed from the picture fills the painted mask and the arrows.
    await page.waitForFunction((id) => window.app.graph.getNodeById(id).cinemagraphEditor?.frame() != null, nodeId,
      { timeout: 60_000 });
    await page.getByRole("button", { name: "Clear arrows" }).click();
    await page.getByRole("button", { name: "Clear mask" }).click();
    await page.getByRole("button", { name: "Auto", exact: true }).click();
    const proposed = await page.waitForFunction((id) => {
      const node = window.app.graph.getNodeById(id);
      const get = (name) => node.widgets.find((w) => w.name === name).value;
      return get("hints") && get("mask_strokes") ? [get("hints"), get("mask_strokes"), node.cinemagraphEditor.status
        .textContent] : null;
    }, nodeId, { timeout: 60_000 }).then((h) => h.jsonValue(), () => null);
    await page.screenshot({ path: join(ARTIFACTS, "05_auto.png") });
    log("after Auto:", proposed?.map((t) => t.slice(0, 160)).join("  |  "));
    const autoArrows = parseHints(proposed?.[0] ?? "").arrows;
    const autoDoc = parseStrokes(proposed?.[1] ?? "").doc;
    check(autoArrows.length > 0 && autoDoc?.width === 512 && autoDoc.height === 384 && autoDoc.polygons.length > 0
      && autoDoc.strokes.length === 0, `Auto puts proposed arrows (${autoArrows.length}) and polygons of the mask `
      + `(${autoDoc?.polygons.length}) on the 512x384 frame into the widgets`);
    check(/Auto: proposed/.test(proposed?.[2] ?? ""), "the status line says what Auto proposed");
    const river = [[271, 283], [238, 316], [227, 343]];
    const inside = (x, y, poly) => poly.reduce((odd, [xa, ya], i) => {
      const [xb, yb] = poly[(i + 1) % poly.length];
      return (ya > y) !== (yb > y) && x < ((xb - xa) * (y - ya)) / (yb - ya) + xa ? !odd : odd;
    }, false);
    check(river.every(([x, y]) => autoDoc?.polygons.some((poly) => inside(x, y, poly))),
      "the proposed mask covers the river where the shipped arrows start");
    check(autoArrows.some(([x0, y0, x1, y1]) => y1 > y0 && autoDoc.polygons.some((poly) => inside(x0, y0, poly))),
      "a proposed arrow starts in the mask and runs down the river, towards the viewer");
    // A labelme JSON pasted into the hints box becomes arrows (image px) + polygons of the painted mask.
    await page.getByRole("button", { name: "Clear mask" }).click();
    const labelme = { imageWidth: 1024, imageHeight: 768, shapes: [
      { label: "river", shape_type: "polygon", points: [[560, 480], [640, 480], [600, 760]] },
      { label: "hint1", shape_type: "line", points: [[580, 520], [600, 600]] }] };
    const box2 = await page.evaluateHandle((id) => window.app.graph.getNodeById(id).widgets
      .find((w) => w.name === "hints").inputEl, nodeId);
    await box2.fill(JSON.stringify(labelme));
    const pasted = await page.evaluate((id) => {
      const node = window.app.graph.getNodeById(id);
      return ["hints", "mask_strokes"].map((name) => node.widgets.find((w) => w.name === name).value);
    }, nodeId);
    log("after pasting labelme:", pasted.join("  |  "));
    const pastedDoc = parseStrokes(pasted[1]).doc;
    check(JSON.stringify(parseHints(pasted[0]).arrows) === JSON.stringify([[290, 260, 300, 300]])
      && pastedDoc?.width === 1024 && pastedDoc.polygons.length === 1 && pastedDoc.strokes.length === 0,
    "a pasted labelme JSON is converted to arrows in image px and a polygon of the painted mask");

    // Every shipped workflow as the frontend lays it out (its own minimum node sizes): no node covers another.
    for (const name of readdirSync(join(REPO, "workflows")).filter((f) => f.endsWith(".json")).sort()) {
      await loadWorkflow(page, join(REPO, "workflows", name));
      await sleep(500);
      const layout = await page.evaluate(() => {
        const title = window.LiteGraph?.NODE_TITLE_HEIGHT ?? 30;
        const boxes = window.app.graph.nodes.map((n) => ({ name: `${n.type}#${n.id}`, size: [...n.size],
          x0: n.pos[0], y0: n.pos[1] - title, x1: n.pos[0] + n.size[0], y1: n.pos[1] + n.size[1] }));
        const overlaps = [];
        boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b) => {
          if (a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1) overlaps.push(`${a.name} / ${b.name}`);
        }));
        return { overlaps, sizes: boxes.map((b) => `${b.name} ${b.size.map(Math.round).join("x")}`) };
      });
      log(`${name} node sizes:`, layout.sizes.join(", "));
      check(layout.overlaps.length === 0, `${name}: no node covers another at the sizes the frontend gives them`
        + (layout.overlaps.length ? ` (${layout.overlaps.join("; ")})` : ""));
    }

    // ComfyUI itself asks a fresh user folder for optional files (user.css, saved workflows...) and gets 404s.
    const ours = consoleErrors.filter((e) => !/^Failed to load resource/.test(e) || /cinemagraph|\/view\?/.test(e));
    check(pageErrors.length === 0 && ours.length === 0,
      `no script errors and no failed request of the editor (${pageErrors.length + ours.length})`);
    for (const e of [...pageErrors, ...consoleErrors]) log("console:", e);
    for (const m of missing) log("http:", m);
  } finally {
    await session.close(join(ARTIFACTS, "server.log"));
  }
  const failed = checks.filter((c) => !c.ok);
  const summary = { passed: checks.length - failed.length, failed: failed.length, checks };
  writeFileSync(join(ARTIFACTS, "summary.json"), `${JSON.stringify(summary, null, 1)}\n`);
  console.log(`${summary.passed} passed, ${summary.failed} failed`);
  process.exitCode = failed.length ? 1 : 0;
}

main().catch((e) => {
  console.error("[e2e] error:", e);
  process.exitCode = 2;
});
