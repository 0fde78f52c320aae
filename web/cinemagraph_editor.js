// Arrow-and-mask editor on the MaskHints node (3D Cinemagraph): draw the motion on the picture.
//
// A DOM widget shows the node's image; the arrow tool draws flow arrows (drag = start -> end, click =
// select, drag an end or the body to edit, Delete removes), the brush and eraser paint the fluid mask,
// Auto fills both with the motion proposed from the picture (POST to nodes/editor_route.py).
// The editor only writes the node's two STRING widgets, `hints` ([[x0, y0, x1, y1], ...]) and
// `mask_strokes` (see nodes/convert.py), in source-image px, and redraws whenever they change, so
// saved workflows, undo/redo and the HTTP API need no browser state. Pure logic: cinemagraph_editor_logic.js.
import { app } from "../../scripts/app.js";
import { api } from "../../scripts/api.js";
import * as L from "./cinemagraph_editor_logic.js";

const NODE_TYPES = new Set(["CinemagraphMaskHints", "MaskHints"]); // the second: deprecated ID of old workflows
const MIN_HEIGHT = 300;
const NODE_SIZE = [520, 720]; // the shipped workflows leave this much room for it (tests/test_workflows.py)
const HANDLE_PX = 5;
const HIT_PX = 8;
const NEW_ARROW_MIN_PX = 4;
const DEFAULT_RADIUS = 16;
const SIMPLIFY_MAX_PX = 1.5;
const COLORS = { arrow: "#ff4136", selected: "#ffd400", paint: "#ff2bd6", mask: "#ff2bd6" };
const MASK_ALPHA = 0.45;
const MASK_SOURCES = {
  input: "the MASK input",
  strokes: "the painted strokes",
  polygons: "labelme polygons",
  "whole image": "none: the whole image may move",
  proposal: "proposed from the picture (auto; press Auto to edit it)",
};

function button(label, title, onClick) {
  const b = document.createElement("button");
  b.textContent = label;
  b.title = title;
  b.style.cssText = "padding:2px 6px;font-size:11px;border-radius:4px;cursor:pointer;"
    + "border:1px solid var(--border-color,#555);background:var(--comfy-input-bg,#222);color:var(--input-text,#ddd)";
  b.addEventListener("click", (e) => {
    e.stopPropagation();
    onClick();
  });
  return b;
}

/** The picture as PNG bytes, at its own size. */
function pictureBlob(image) {
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  canvas.getContext("2d").drawImage(image, 0, 0);
  return new Promise((resolve, reject) => {
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("could not encode the picture"))), "image/png");
  });
}

function drawArrow(ctx, [x0, y0], [x1, y1], color, width) {
  const angle = Math.atan2(y1 - y0, x1 - x0);
  const head = Math.max(6, 3 * width);
  ctx.strokeStyle = color;
  ctx.fillStyle = color;
  ctx.lineWidth = width;
  ctx.beginPath();
  ctx.moveTo(x0, y0);
  ctx.lineTo(x1 - 0.8 * head * Math.cos(angle), y1 - 0.8 * head * Math.sin(angle));
  ctx.stroke();
  ctx.beginPath();
  ctx.moveTo(x1, y1);
  ctx.lineTo(x1 - head * Math.cos(angle - 0.45), y1 - head * Math.sin(angle - 0.45));
  ctx.lineTo(x1 - head * Math.cos(angle + 0.45), y1 - head * Math.sin(angle + 0.45));
  ctx.closePath();
  ctx.fill();
}

/** The editor of one MaskHints node. */
class MotionEditor {
  constructor(node) {
    this.node = node;
    this.tool = "arrow";
    this.radius = DEFAULT_RADIUS;
    this.arrows = [];
    this.labelme = null;
    this.doc = null;
    this.hintsError = null;
    this.strokesError = null;
    this.selected = -1;
    this.drag = null;
    this.pointer = null;
    this.seen = { hints: null, strokes: null };
    this.picture = { key: null, image: null, width: 0, height: 0, failed: false };
    this.run = null;
    this.runMask = null;
    this.maskLinked = false;
    this.message = "";
    this.proposing = false;
    this.build();
  }

  build() {
    const root = document.createElement("div");
    root.className = "cinemagraph-editor";
    root.style.cssText = "display:flex;flex-direction:column;gap:4px;width:100%;height:100%;box-sizing:border-box;"
      + "font:11px sans-serif;color:var(--input-text,#ddd)";
    const bar = document.createElement("div");
    bar.style.cssText = "display:flex;flex-wrap:wrap;gap:3px;align-items:center";
    this.toolButtons = {
      arrow: button("➔ Arrow", "Drag from where the fluid is to where it goes; click an arrow to select it",
        () => this.setTool("arrow")),
      paint: button("Brush", "Paint where the fluid is (the motion mask)", () => this.setTool("paint")),
      erase: button("Eraser", "Erase from the painted mask", () => this.setTool("erase")),
    };
    const radius = document.createElement("input");
    radius.type = "range";
    radius.min = "1";
    radius.max = "200";
    radius.value = String(this.radius);
    radius.title = "Brush radius in image pixels";
    radius.style.cssText = "width:70px";
    this.radiusLabel = document.createElement("span");
    this.radiusInput = radius;
    radius.addEventListener("input", () => {
      this.radius = Number(radius.value);
      this.updateStatus();
      this.redraw();
    });
    radius.addEventListener("pointerdown", (e) => e.stopPropagation());
    bar.append(
      button("Auto", "Fill the painted mask and the arrows with the motion proposed from the picture (sky, water, "
        + "waterfalls, smoke), replacing them; then correct it with the tools", () => this.autoPropose()),
      ...Object.values(this.toolButtons), radius, this.radiusLabel,
      button("Delete arrow", "Remove the selected arrow (or press Delete)", () => this.deleteSelected()),
      button("Clear arrows", "Remove every arrow", () => this.clearArrows()),
      button("Clear mask", "Remove the painted mask", () => this.clearMask()),
    );
    const canvas = document.createElement("canvas");
    canvas.tabIndex = 0;
    canvas.style.cssText = "flex:1 1 0;min-height:120px;width:100%;background:#1b1b1b;border-radius:4px;"
      + "outline:none;touch-action:none;cursor:crosshair";
    this.status = document.createElement("div");
    this.status.className = "cinemagraph-editor-status";
    this.status.style.cssText = "min-height:28px;line-height:14px;opacity:0.9;white-space:pre-wrap";
    root.append(bar, canvas, this.status);
    this.canvas = canvas;

    canvas.addEventListener("pointerdown", (e) => this.onPointerDown(e));
    canvas.addEventListener("pointermove", (e) => this.onPointerMove(e));
    canvas.addEventListener("pointerup", (e) => this.onPointerUp(e));
    canvas.addEventListener("pointercancel", () => this.cancelDrag());
    canvas.addEventListener("pointerleave", () => {
      this.pointer = null;
      this.redraw();
    });
    canvas.addEventListener("keydown", (e) => this.onKeyDown(e));
    canvas.addEventListener("wheel", (e) => {
      e.preventDefault();
      app.canvas?.processMouseWheel?.(e);
    });
    this.resizer = new ResizeObserver(() => this.resizeCanvas());
    this.resizer.observe(canvas);

    this.widget = this.node.addDOMWidget("cinemagraph_editor", "cinemagraph_editor", root, {
      serialize: false,
      getValue: () => "",
      setValue: () => {},
      getMinHeight: () => MIN_HEIGHT,
      onDraw: () => this.sync(),
    });
    this.widget.serialize = false;
    this.setTool("arrow");
  }

  // ---- the node's widgets --------------------------------------------------------------------------

  widgetNamed(name) {
    return this.node.widgets?.find((w) => w.name === name);
  }

  /** Re-read the widgets, the image source and the MASK link; redraw when anything changed. */
  sync() {
    let changed = false;
    const hints = this.widgetNamed("hints")?.value ?? "";
    if (hints !== this.seen.hints) {
      this.seen.hints = hints;
      const parsed = L.parseHints(hints);
      this.arrows = parsed.arrows;
      this.labelme = parsed.labelme;
      this.hintsError = parsed.error;
      if (this.selected >= this.arrows.length) this.selected = -1;
      changed = true;
    }
    const strokes = this.widgetNamed("mask_strokes")?.value ?? "";
    if (strokes !== this.seen.strokes) {
      this.seen.strokes = strokes;
      const parsed = L.parseStrokes(strokes);
      if (!this.doc && parsed.doc) this.setRadius(L.lastBrushRadius(parsed.doc, this.radius));
      this.doc = parsed.doc;
      this.strokesError = parsed.error;
      changed = true;
    }
    const linked = this.node.inputs?.find((i) => i.name === "mask")?.link != null;
    if (linked !== this.maskLinked) {
      this.maskLinked = linked;
      changed = true;
    }
    this.watchHintsBox();
    this.updatePicture();
    if (changed) {
      this.updateStatus();
      this.redraw();
    }
  }

  /** Convert a labelme JSON pasted or typed into the hints box (once the image size is known). */
  watchHintsBox() {
    const box = this.widgetNamed("hints")?.inputEl;
    if (!box || box.dataset.cinemagraphEditor) return;
    box.dataset.cinemagraphEditor = "1";
    box.addEventListener("input", () => {
      this.sync();
      if (this.labelme && this.frame()) this.convertLabelme();
    });
  }

  convertLabelme() {
    const [W, H] = this.frame();
    const { arrows, doc } = L.labelmeToEditor(this.labelme, W, H);
    if (doc && !this.doc) this.doc = doc;
    this.arrows = arrows;
    this.labelme = null;
    this.writeStrokes();
    this.writeHints();
  }

  writeWidget(name, text, seenKey) {
    const widget = this.widgetNamed(name);
    if (!widget) return;
    widget.value = text;
    widget.callback?.(text);
    this.seen[seenKey] = text;
    this.node.setDirtyCanvas(true, true);
    app.extensionManager?.workflow?.activeWorkflow?.changeTracker?.checkState?.();
  }

  writeHints() {
    if (this.labelme) {
      this.convertLabelme();
      return;
    }
    this.writeWidget("hints", L.formatHints(this.arrows), "hints");
    this.hintsError = null;
    this.updateStatus();
    this.redraw();
  }

  writeStrokes() {
    this.writeWidget("mask_strokes", L.formatStrokes(this.doc), "strokes");
    if (!this.doc?.strokes.length && !this.doc?.polygons.length) this.doc = null;
    this.strokesError = null;
    this.updateStatus();
    this.redraw();
  }

  // ---- the picture ---------------------------------------------------------------------------------

  /** [W, H] of the source image (the frame of every coordinate), or null while no image is known. */
  frame() {
    const p = this.picture;
    return p.image && p.width > 0 && p.height > 0 ? [p.width, p.height] : null;
  }

  /** Where the picture comes from: Load Image's file, an upstream preview, or this node's last run. */
  pictureSource() {
    const upstream = this.node.getInputNode?.(this.node.inputs?.findIndex((i) => i.name === "image") ?? -1);
    const ref = L.parseImageWidgetValue(upstream?.widgets?.find((w) => w.name === "image")?.value);
    if (ref) return { url: api.apiURL(L.viewPath(ref, { channel: "rgb" })), size: null };
    const shown = upstream?.imgs?.[0]?.src;
    if (shown) return { url: shown, size: null };
    if (this.run) {
      return { url: api.apiURL(L.viewPath(this.run, { rand: this.run.filename })), size: [this.run.width, this.run.height] };
    }
    return null;
  }

  updatePicture() {
    const source = this.pictureSource();
    const key = source ? `${source.url}|${source.size ?? ""}` : null;
    if (key === this.picture.key) return;
    this.picture = { key, image: null, width: 0, height: 0, failed: false };
    this.updateStatus();
    this.redraw();
    if (!source) return;
    const image = new Image();
    image.onload = () => {
      if (this.picture.key !== key) return;
      const [W, H] = source.size ?? [image.naturalWidth, image.naturalHeight];
      this.picture = { key, image, width: W, height: H, failed: false };
      this.updateStatus();
      this.redraw();
    };
    image.onerror = () => {
      if (this.picture.key !== key) return;
      this.picture.failed = true;
      this.updateStatus();
      this.redraw();
    };
    image.src = source.url;
  }

  /** The node's ui output of a run: the picture it saw and the mask it used. */
  setRunOutput(entry) {
    if (!entry?.filename) return;
    this.run = entry;
    this.runMask = null;
    if (entry.mask_filename) {
      const mask = new Image();
      mask.onload = () => {
        if (this.run === entry) {
          this.runMask = mask;
          this.redraw();
        }
      };
      mask.src = api.apiURL(L.viewPath({ ...entry, filename: entry.mask_filename }, { rand: entry.mask_filename }));
    }
    this.updatePicture();
    this.updateStatus();
  }

  // ---- tools and pointer handling ------------------------------------------------------------------

  setTool(tool) {
    this.tool = tool;
    for (const [name, b] of Object.entries(this.toolButtons)) {
      b.style.background = name === tool ? "var(--comfy-menu-bg,#444)" : "var(--comfy-input-bg,#222)";
      b.style.borderColor = name === tool ? COLORS.selected : "var(--border-color,#555)";
    }
    this.canvas.style.cursor = tool === "arrow" ? "crosshair" : "none";
    this.updateStatus();
    this.redraw();
  }

  fit() {
    const frame = this.frame();
    if (!frame || !this.canvas.width || !this.canvas.height) return null;
    return L.fitImage(frame[0], frame[1], this.canvas.width, this.canvas.height);
  }

  /** Image px of a pointer event (unclamped), with the fit it was computed through. */
  eventPoint(e) {
    const fit = this.fit();
    if (!fit) return null;
    const rect = this.canvas.getBoundingClientRect();
    const view = L.clientToView(e.clientX, e.clientY, rect, this.canvas.width, this.canvas.height);
    return { fit, point: L.toImage(fit, view[0], view[1]) };
  }

  onPointerDown(e) {
    if (e.button === 1) {
      app.canvas?.processMouseDown?.(e);
      return;
    }
    if (e.button !== 0) return;
    e.preventDefault();
    e.stopPropagation();
    this.canvas.focus();
    const at = this.eventPoint(e);
    if (!at) {
      this.flash("No picture yet: run the workflow once or connect Load Image.");
      return;
    }
    const [W, H] = this.frame();
    const [x, y] = at.point;
    if (this.tool === "arrow") {
      if (this.hintsError) {
        this.flash("The hints text cannot be read: fix it, or press 'Clear arrows'.");
        return;
      }
      if (this.labelme) this.convertLabelme();
      const hit = L.hitTest(this.arrows, x, y, HIT_PX / at.fit.scale);
      if (hit) {
        this.selected = hit.index;
        this.drag = { kind: hit.part, index: hit.index, from: [x, y], original: this.arrows[hit.index].slice(), moved: false };
      } else {
        this.selected = -1;
        const start = L.clampToImage(x, y, W, H);
        this.drag = { kind: "new", start, end: start, startView: [e.clientX, e.clientY] };
      }
    } else {
      if (this.strokesError) {
        this.flash("The mask_strokes text cannot be read: fix it, or press 'Clear mask'.");
        return;
      }
      this.drag = { kind: "stroke", stroke: { mode: this.tool, radius: this.radius, points: [[x, y]] } };
    }
    this.canvas.setPointerCapture(e.pointerId);
    this.updateStatus();
    this.redraw();
  }

  onPointerMove(e) {
    if (e.buttons & 4) {
      app.canvas?.processMouseMove?.(e);
      return;
    }
    const at = this.eventPoint(e);
    this.pointer = at && at.point;
    if (at && this.drag) {
      const [W, H] = this.frame();
      const [x, y] = at.point;
      const d = this.drag;
      if (d.kind === "new") {
        d.end = L.clampToImage(x, y, W, H);
      } else if (d.kind === "stroke") {
        const last = d.stroke.points[d.stroke.points.length - 1];
        if (Math.hypot(x - last[0], y - last[1]) * at.fit.scale >= 1) d.stroke.points.push([x, y]);
      } else {
        const [x0, y0, x1, y1] = d.original;
        const dx = x - d.from[0];
        const dy = y - d.from[1];
        let arrow;
        if (d.kind === "start") arrow = [...L.clampToImage(x0 + dx, y0 + dy, W, H), x1, y1];
        else if (d.kind === "end") arrow = [x0, y0, ...L.clampToImage(x1 + dx, y1 + dy, W, H)];
        else {
          const [sx, sy] = L.clampToImage(x0 + dx, y0 + dy, W, H);
          arrow = [sx, sy, x1 + (sx - x0), y1 + (sy - y0)];
        }
        this.arrows[d.index] = arrow;
        d.moved = true;
      }
      this.updateStatus();
    }
    this.redraw();
  }

  onPointerUp(e) {
    if (e.button === 1) {
      app.canvas?.processMouseUp?.(e);
      return;
    }
    const d = this.drag;
    this.drag = null;
    if (!d) return;
    e.stopPropagation();
    const fit = this.fit();
    if (d.kind === "new") {
      const [x0, y0] = d.start;
      const [x1, y1] = d.end;
      if (fit && Math.hypot(x1 - x0, y1 - y0) * fit.scale >= NEW_ARROW_MIN_PX) {
        this.arrows.push([x0, y0, x1, y1]);
        this.selected = this.arrows.length - 1;
        this.writeHints();
      }
    } else if (d.kind === "stroke") {
      if (this.labelme) this.convertLabelme();
      const [W, H] = this.frame();
      const stroke = d.stroke;
      stroke.points = L.simplifyStroke(stroke.points, Math.min(Math.max(0.5, stroke.radius / 8), SIMPLIFY_MAX_PX));
      this.doc = this.doc ? L.rescaleDoc(this.doc, W, H) : { width: W, height: H, strokes: [], polygons: [] };
      this.doc.strokes.push(stroke);
      this.writeStrokes();
    } else if (d.moved) {
      this.writeHints();
    }
    this.updateStatus();
    this.redraw();
  }

  cancelDrag() {
    if (this.drag && this.drag.original) this.arrows[this.drag.index] = this.drag.original;
    this.drag = null;
    this.redraw();
  }

  onKeyDown(e) {
    if (e.key === "Delete" || e.key === "Backspace") {
      e.preventDefault();
      e.stopPropagation();
      this.deleteSelected();
    } else if (e.key === "Escape") {
      e.stopPropagation();
      this.cancelDrag();
      this.selected = -1;
      this.updateStatus();
      this.redraw();
    }
  }

  deleteSelected() {
    if (this.selected < 0 || this.selected >= this.arrows.length || this.hintsError) return;
    this.arrows.splice(this.selected, 1);
    this.selected = -1;
    this.writeHints();
  }

  clearArrows() {
    this.arrows = [];
    this.labelme = null;
    this.selected = -1;
    this.writeHints();
  }

  clearMask() {
    this.doc = null;
    this.writeStrokes();
  }

  /** Ask the server for the motion proposed from the picture and put it into the two widgets. */
  async autoPropose() {
    const frame = this.frame();
    if (!frame) {
      this.flash("No picture yet: run the workflow once or connect Load Image.");
      return;
    }
    if (this.proposing) return;
    this.proposing = true;
    this.flash("Auto: looking at the picture…");
    try {
      const body = await pictureBlob(this.picture.image);
      const response = await api.fetchApi(L.PROPOSE_ROUTE, { method: "POST", body, headers: { "Content-Type": body.type } });
      const result = L.proposalToEditor(await response.json(), ...frame);
      if (result.error) {
        this.flash(`Auto failed: ${result.error}`);
      } else if (!result.arrows.length) {
        this.flash(`Auto: ${result.note}. Draw the motion yourself.`);
      } else {
        this.arrows = result.arrows;
        this.labelme = null;
        this.selected = -1;
        this.doc = result.doc;
        this.writeStrokes();
        this.writeHints();
        this.flash(`Auto: ${result.note}. Correct it with the tools.`);
      }
    } catch (e) {
      this.flash(`Auto failed: ${e?.message ?? e}`);
    } finally {
      this.proposing = false;
    }
  }

  flash(text) {
    this.message = text;
    this.updateStatus();
    this.redraw();
  }

  // ---- drawing -------------------------------------------------------------------------------------

  resizeCanvas() {
    const ratio = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const h = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
      this.redraw();
    }
  }

  redraw() {
    const ctx = this.canvas.getContext("2d");
    const { width, height } = this.canvas;
    ctx.clearRect(0, 0, width, height);
    const fit = this.fit();
    if (!fit) {
      ctx.fillStyle = "#aaa";
      ctx.font = `${Math.max(11, Math.round(height / 20))}px sans-serif`;
      ctx.textAlign = "center";
      const text = this.picture.failed ? "Could not load the picture: run once or check Load Image"
        : this.picture.key ? "Loading the picture…" : "Run once or connect Load Image to draw on the picture";
      ctx.fillText(text, width / 2, height / 2);
      return;
    }
    ctx.drawImage(this.picture.image, fit.offsetX, fit.offsetY, fit.width, fit.height);
    this.drawMask(ctx, fit);
    this.drawArrows(ctx, fit);
    this.drawCursor(ctx, fit);
  }

  /** Painted strokes (or the last run's MASK input or proposed mask) as a translucent overlay. */
  drawMask(ctx, fit) {
    const layer = document.createElement("canvas");
    layer.width = this.canvas.width;
    layer.height = this.canvas.height;
    const g = layer.getContext("2d");
    const proposed = !this.maskLinked && !this.doc && !this.labelme && this.run?.mask_source === "proposal";
    if (this.maskLinked || proposed) {
      if (this.runMask && this.run?.mask_source === (proposed ? "proposal" : "input")) {
        g.drawImage(this.runMask, fit.offsetX, fit.offsetY, fit.width, fit.height);
        g.globalCompositeOperation = "source-in";
        g.fillStyle = COLORS.mask;
        g.fillRect(0, 0, layer.width, layer.height);
      }
    } else {
      const [W, H] = this.frame();
      const source = this.doc ?? (this.labelme ? L.labelmeToEditor(this.labelme, W, H).doc : null);
      const doc = source ? L.rescaleDoc(source, W, H) : null;
      const strokes = [...(doc?.strokes ?? [])];
      if (this.drag?.kind === "stroke") strokes.push(this.drag.stroke);
      g.fillStyle = COLORS.paint;
      for (const poly of doc?.polygons ?? []) {
        g.beginPath();
        poly.forEach(([x, y], i) => (i ? g.lineTo(...L.toView(fit, x, y)) : g.moveTo(...L.toView(fit, x, y))));
        g.closePath();
        g.fill();
      }
      for (const s of strokes) {
        g.globalCompositeOperation = s.mode === "paint" ? "source-over" : "destination-out";
        g.strokeStyle = COLORS.paint;
        g.fillStyle = COLORS.paint;
        g.lineCap = "round";
        g.lineJoin = "round";
        g.lineWidth = 2 * s.radius * fit.scale;
        const pts = s.points.map(([x, y]) => L.toView(fit, x, y));
        g.beginPath();
        if (pts.length === 1) {
          g.arc(pts[0][0], pts[0][1], s.radius * fit.scale, 0, 2 * Math.PI);
          g.fill();
        } else {
          pts.forEach(([x, y], i) => (i ? g.lineTo(x, y) : g.moveTo(x, y)));
          g.stroke();
        }
      }
    }
    ctx.save();
    ctx.globalAlpha = MASK_ALPHA;
    ctx.drawImage(layer, 0, 0);
    ctx.restore();
  }

  drawArrows(ctx, fit) {
    const ratio = window.devicePixelRatio || 1;
    const width = 2 * ratio;
    const shown = this.labelme ? L.labelmeToEditor(this.labelme, ...this.frame()).arrows : this.arrows;
    shown.forEach(([x0, y0, x1, y1], i) => {
      const color = i === this.selected ? COLORS.selected : COLORS.arrow;
      const start = L.toView(fit, x0, y0);
      const end = L.toView(fit, x1, y1);
      ctx.save();
      ctx.shadowColor = "rgba(0,0,0,0.8)";
      ctx.shadowBlur = 3 * ratio;
      drawArrow(ctx, start, end, color, width);
      ctx.restore();
      if (i === this.selected) {
        ctx.fillStyle = COLORS.selected;
        for (const [hx, hy] of [start, end]) {
          ctx.beginPath();
          ctx.arc(hx, hy, HANDLE_PX * ratio, 0, 2 * Math.PI);
          ctx.fill();
        }
      }
    });
    if (this.drag?.kind === "new") {
      drawArrow(ctx, L.toView(fit, ...this.drag.start), L.toView(fit, ...this.drag.end), COLORS.selected, width);
    }
  }

  drawCursor(ctx, fit) {
    if (this.tool === "arrow" || !this.pointer) return;
    const [x, y] = L.toView(fit, ...this.pointer);
    ctx.strokeStyle = this.tool === "paint" ? COLORS.paint : "#fff";
    ctx.lineWidth = 1.5 * (window.devicePixelRatio || 1);
    ctx.beginPath();
    ctx.arc(x, y, this.radius * fit.scale, 0, 2 * Math.PI);
    ctx.stroke();
  }

  setRadius(r) {
    this.radius = r;
    if (this.radiusInput) this.radiusInput.value = String(r);
  }

  updateStatus() {
    this.radiusLabel.textContent = `${this.radius} px`;
    const lines = [];
    const frame = this.frame();
    if (this.message) {
      lines.push(this.message);
      this.message = "";
    }
    if (this.hintsError) lines.push(`⚠ ${this.hintsError}`);
    if (this.strokesError) lines.push(`⚠ ${this.strokesError}`);
    const sel = this.drag?.kind === "new" ? [...this.drag.start, ...this.drag.end] : this.arrows[this.selected];
    if (sel && !this.labelme) {
      const s = L.arrowSpeed(sel);
      lines.push(`Arrow ${this.drag?.kind === "new" ? this.arrows.length + 1 : this.selected + 1}: `
        + `${s.length.toFixed(1)} px → ${s.pxPerFrame.toFixed(2)} px/frame (length / 50; `
        + "EulerianMotion's speed divides it further)");
    } else if (frame) {
      lines.push(this.tool === "arrow"
        ? `${this.arrows.length} arrow(s) on ${frame[0]}×${frame[1]} px. Drag to draw, click to select, Delete removes.`
        : `${this.tool === "paint" ? "Brush" : "Eraser"}: radius ${this.radius} px (image).`);
    }
    if (this.labelme) lines.push("labelme JSON: it is converted to arrows + polygons on the first edit.");
    if (this.maskLinked) {
      lines.push("MASK input connected: it decides where the fluid is (painted strokes apply when it is empty or disconnected).");
    } else if (this.run?.mask_source) {
      lines.push(`Last run's mask: ${MASK_SOURCES[this.run.mask_source] ?? this.run.mask_source}.`);
    }
    this.status.textContent = lines.join("\n");
  }

  remove() {
    this.resizer.disconnect();
  }
}

app.registerExtension({
  name: "cinemagraph.MaskHintsEditor",
  async beforeRegisterNodeDef(nodeType, nodeData) {
    if (!NODE_TYPES.has(nodeData?.name)) return;
    const onNodeCreated = nodeType.prototype.onNodeCreated;
    nodeType.prototype.onNodeCreated = function (...args) {
      const result = onNodeCreated?.apply(this, args);
      this.cinemagraphEditor = new MotionEditor(this);
      this.setSize([Math.max(this.size[0], NODE_SIZE[0]), Math.max(this.size[1], NODE_SIZE[1])]);
      return result;
    };
    const onExecuted = nodeType.prototype.onExecuted;
    nodeType.prototype.onExecuted = function (output, ...rest) {
      const result = onExecuted?.apply(this, [output, ...rest]);
      this.cinemagraphEditor?.setRunOutput(output?.[L.EDITOR_OUTPUT]?.[0]);
      return result;
    };
    const onRemoved = nodeType.prototype.onRemoved;
    nodeType.prototype.onRemoved = function (...args) {
      this.cinemagraphEditor?.remove();
      return onRemoved?.apply(this, args);
    };
  },
});
