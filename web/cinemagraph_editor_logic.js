// Pure logic of the MaskHints editor (no DOM): coordinate transforms with letterboxing, hit testing,
// the two JSON formats the node reads (arrows in `hints`, painted mask in `mask_strokes`), labelme
// conversion, stroke simplification and preview URLs. Imported by cinemagraph_editor.js and by
// web/tests/*.test.mjs (node --test).
//
// Coordinates are source-image pixels (x = column, y = row) unless a name says "view" (canvas
// bitmap pixels) or "client" (browser CSS pixels).

export const HINT_DIVISOR = 50;
export const STROKE_MODES = ["paint", "erase"];
export const EDITOR_OUTPUT = "cinemagraph_editor";
const LABELME_CIRCLE_SIDES = 48;

/** A number that JSON can carry and the node accepts (finite, not a boolean). */
function isNum(v) {
  return typeof v === "number" && Number.isFinite(v);
}

/** Round to 0.1 px, the precision stored in the widgets. */
export function round1(v) {
  return Math.round(v * 10) / 10;
}

/**
 * Letterbox an imageW x imageH picture into a viewW x viewH canvas (centred, aspect kept).
 * Returns {scale (view px per image px), offsetX, offsetY, width, height} in view px.
 */
export function fitImage(imageW, imageH, viewW, viewH) {
  if (!(imageW > 0 && imageH > 0 && viewW > 0 && viewH > 0)) {
    throw new Error(`fitImage: sizes must be positive, got image ${imageW}x${imageH}, view ${viewW}x${viewH}`);
  }
  const scale = Math.min(viewW / imageW, viewH / imageH);
  const width = imageW * scale;
  const height = imageH * scale;
  return { scale, offsetX: (viewW - width) / 2, offsetY: (viewH - height) / 2, width, height };
}

/** View px -> image px through a fitImage() result. */
export function toImage(fit, x, y) {
  return [(x - fit.offsetX) / fit.scale, (y - fit.offsetY) / fit.scale];
}

/** Image px -> view px through a fitImage() result. */
export function toView(fit, x, y) {
  return [x * fit.scale + fit.offsetX, y * fit.scale + fit.offsetY];
}

/**
 * Client (CSS) px of a pointer event -> canvas bitmap px. `rect` is the canvas' getBoundingClientRect(),
 * which already includes the graph's zoom transform, so this holds at any zoom.
 */
export function clientToView(clientX, clientY, rect, canvasW, canvasH) {
  return [((clientX - rect.left) * canvasW) / rect.width, ((clientY - rect.top) * canvasH) / rect.height];
}

/** Clamp an image point into [0, W] x [0, H] (the node refuses arrows that start outside). */
export function clampToImage(x, y, W, H) {
  return [Math.min(Math.max(x, 0), W), Math.min(Math.max(y, 0), H)];
}

/** Distance from (px, py) to the segment (x0, y0)-(x1, y1). */
export function distanceToSegment(px, py, x0, y0, x1, y1) {
  const dx = x1 - x0;
  const dy = y1 - y0;
  const len2 = dx * dx + dy * dy;
  const t = len2 > 0 ? Math.min(Math.max(((px - x0) * dx + (py - y0) * dy) / len2, 0), 1) : 0;
  return Math.hypot(px - (x0 + t * dx), py - (y0 + t * dy));
}

/**
 * The arrow under (x, y) within `tolerance` (same units as the arrows): endpoints win over bodies,
 * then the nearest one, then the last drawn (on top). Returns {index, part: "start"|"end"|"body"} or null.
 */
export function hitTest(arrows, x, y, tolerance) {
  let best = null;
  arrows.forEach(([x0, y0, x1, y1], index) => {
    const candidates = [
      ["start", Math.hypot(x - x0, y - y0), 0],
      ["end", Math.hypot(x - x1, y - y1), 0],
      ["body", distanceToSegment(x, y, x0, y0, x1, y1), 1],
    ];
    for (const [part, dist, rank] of candidates) {
      if (dist > tolerance) continue;
      if (!best || rank < best.rank || (rank === best.rank && dist <= best.dist)) best = { index, part, dist, rank };
    }
  });
  return best && { index: best.index, part: best.part };
}

/** Length (px) and official motion of an arrow: (end - start) / 50 px per frame, before EulerianMotion's speed. */
export function arrowSpeed([x0, y0, x1, y1]) {
  const length = Math.hypot(x1 - x0, y1 - y0);
  return { length, pxPerFrame: length / HINT_DIVISOR, dx: (x1 - x0) / HINT_DIVISOR, dy: (y1 - y0) / HINT_DIVISOR };
}

function readPoint(p) {
  return Array.isArray(p) && p.length === 2 && isNum(p[0]) && isNum(p[1]) ? [p[0], p[1]] : null;
}

function readArrow(entry, i) {
  let start = null;
  let end = null;
  if (Array.isArray(entry) && entry.length === 4 && entry.every(isNum)) {
    start = [entry[0], entry[1]];
    end = [entry[2], entry[3]];
  } else if (Array.isArray(entry) && entry.length === 2) {
    start = readPoint(entry[0]);
    end = readPoint(entry[1]);
  } else if (entry && typeof entry === "object" && !Array.isArray(entry)) {
    start = readPoint(entry.start);
    end = readPoint(entry.end);
  }
  if (!start || !end) {
    throw new Error(`arrow ${i}: cannot read ${JSON.stringify(entry)}; expected [x0, y0, x1, y1]`);
  }
  return [start[0], start[1], end[0], end[1]];
}

function labelmePoints(shape, i) {
  const pts = Array.isArray(shape.points) ? shape.points.map(readPoint) : [null];
  if (!pts.length || pts.some((p) => p === null)) {
    throw new Error(`labelme shape ${i}: 'points' must be a list of [x, y] numbers`);
  }
  return pts;
}

/** A labelme region shape as a polygon (rectangle -> 4 corners, circle -> 48 sides), or null. */
function labelmePolygon(kind, pts) {
  if (kind === "polygon" && pts.length >= 3) return pts;
  if (kind === "rectangle" && pts.length === 2) {
    const [[x0, y0], [x1, y1]] = pts;
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
  }
  if (kind === "circle" && pts.length === 2) {
    const [[cx, cy], [ex, ey]] = pts;
    const r = Math.hypot(ex - cx, ey - cy);
    return Array.from({ length: LABELME_CIRCLE_SIDES }, (_, k) => {
      const a = (2 * Math.PI * k) / LABELME_CIRCLE_SIDES;
      return [cx + r * Math.cos(a), cy + r * Math.sin(a)];
    });
  }
  return null;
}

/**
 * A labelme JSON object (the official demo's image.json) -> {width, height, arrows, polygons} in its own
 * px: lines labelled "hint..." are arrows, polygons/rectangles/circles are regions (as the node reads them).
 */
export function parseLabelme(data) {
  if (!data || typeof data !== "object" || !Array.isArray(data.shapes)) {
    throw new Error("labelme JSON: expected an object with a 'shapes' list (labelme's image.json)");
  }
  const width = data.imageWidth;
  const height = data.imageHeight;
  const arrows = [];
  const polygons = [];
  data.shapes.forEach((shape, i) => {
    const label = shape && typeof shape === "object" ? String(shape.label ?? "") : "";
    const pts = labelmePoints(shape ?? {}, i);
    if (label.startsWith("hint")) {
      if (pts.length !== 2) throw new Error(`labelme shape ${i} ('${label}'): a hint must be a line of 2 points`);
      arrows.push([pts[0][0], pts[0][1], pts[1][0], pts[1][1]]);
      return;
    }
    const poly = labelmePolygon(shape.shape_type || "polygon", pts);
    if (poly) polygons.push(poly);
  });
  return { width: isNum(width) && width > 0 ? width : null, height: isNum(height) && height > 0 ? height : null,
    arrows, polygons };
}

/**
 * The `hints` widget text -> {arrows, labelme, error}. arrows: [[x0, y0, x1, y1], ...] image px (for a
 * labelme text, in the labelme JSON's px); labelme: parseLabelme() result or null; error: a message or null.
 */
export function parseHints(text) {
  const trimmed = (text ?? "").trim();
  if (!trimmed) return { arrows: [], labelme: null, error: null };
  let data;
  try {
    data = JSON.parse(trimmed);
  } catch (e) {
    return { arrows: [], labelme: null, error: `hints: invalid JSON (${e.message})` };
  }
  try {
    if (data && typeof data === "object" && !Array.isArray(data)) {
      const labelme = parseLabelme(data);
      return { arrows: labelme.arrows, labelme, error: null };
    }
    if (!Array.isArray(data)) throw new Error(`expected a list of arrows, got ${JSON.stringify(data)}`);
    const entries = data.length === 4 && data.every(isNum) ? [data] : data;
    return { arrows: entries.map(readArrow), labelme: null, error: null };
  } catch (e) {
    return { arrows: [], labelme: null, error: `hints: ${e.message}` };
  }
}

/** Arrows -> the `hints` widget text "[[x0, y0, x1, y1], ...]" (0.1 px), "" for none. */
export function formatHints(arrows) {
  if (!arrows.length) return "";
  return `[${arrows.map((a) => `[${a.map(round1).join(", ")}]`).join(", ")}]`;
}

function strokeError(message) {
  return new Error(`mask_strokes: ${message}`);
}

function readPoints(value, what, least) {
  if (!Array.isArray(value) || value.length < least) {
    throw strokeError(`${what} needs a list of at least ${least} [x, y] points`);
  }
  return value.map((p) => {
    const point = readPoint(p);
    if (!point) throw strokeError(`${what} has the point ${JSON.stringify(p)}; every point must be [x, y] numbers`);
    return point;
  });
}

/**
 * The `mask_strokes` widget text -> {doc, error}. doc: null (nothing painted) or
 * {width, height, strokes: [{mode, radius, points}], polygons: [[[x, y], ...]]} in the px of a
 * width x height image; the same checks as the node (nodes/convert.py parse_strokes).
 */
export function parseStrokes(text) {
  const trimmed = (text ?? "").trim();
  if (!trimmed) return { doc: null, error: null };
  try {
    let data;
    try {
      data = JSON.parse(trimmed);
    } catch (e) {
      throw strokeError(`invalid JSON (${e.message})`);
    }
    if (!data || typeof data !== "object" || Array.isArray(data)) throw strokeError("expected a JSON object");
    const { width, height } = data;
    if (!(isNum(width) && isNum(height) && width >= 1 && height >= 1)) {
      throw strokeError("'width' and 'height' must be the size (px, >= 1) of the image the strokes were drawn on");
    }
    const strokes = data.strokes ?? [];
    const polygons = data.polygons ?? [];
    if (!Array.isArray(strokes) || !Array.isArray(polygons)) throw strokeError("'strokes' and 'polygons' must be lists");
    if (!strokes.length && !polygons.length) throw strokeError("no strokes and no polygons");
    const doc = {
      width, height,
      strokes: strokes.map((s, i) => {
        if (!s || typeof s !== "object") throw strokeError(`stroke ${i} must be an object`);
        if (!STROKE_MODES.includes(s.mode)) {
          throw strokeError(`stroke ${i} has mode ${JSON.stringify(s.mode)}; use 'paint' or 'erase'`);
        }
        if (!(isNum(s.radius) && s.radius > 0)) throw strokeError(`stroke ${i} needs a positive radius`);
        return { mode: s.mode, radius: s.radius, points: readPoints(s.points, `stroke ${i}`, 1) };
      }),
      polygons: polygons.map((p, i) => readPoints(p, `polygon ${i}`, 3)),
    };
    return { doc, error: null };
  } catch (e) {
    return { doc: null, error: e.message };
  }
}

/** A stroke document -> the `mask_strokes` widget text (0.1 px), "" when nothing is painted. */
export function formatStrokes(doc) {
  if (!doc || (!doc.strokes.length && !doc.polygons.length)) return "";
  const pts = (points) => points.map(([x, y]) => [round1(x), round1(y)]);
  const out = {
    width: doc.width,
    height: doc.height,
    strokes: doc.strokes.map((s) => ({ mode: s.mode, radius: round1(s.radius), points: pts(s.points) })),
  };
  if (doc.polygons.length) out.polygons = doc.polygons.map(pts);
  return JSON.stringify(out);
}

/** The brush radius (image px, 1..200) a drawing was last painted with (its last stroke's), else `fallback`:
 * a reloaded workflow's editor offers the brush the user had. */
export function lastBrushRadius(doc, fallback) {
  const last = doc?.strokes?.[doc.strokes.length - 1];
  return last ? Math.max(1, Math.min(200, Math.round(last.radius))) : fallback;
}

/** A stroke document drawn on another size, rescaled to W x H (radius by the mean factor, as the node does). */
export function rescaleDoc(doc, W, H) {
  if (doc.width === W && doc.height === H) return doc;
  const sx = W / doc.width;
  const sy = H / doc.height;
  const pts = (points) => points.map(([x, y]) => [x * sx, y * sy]);
  return {
    width: W,
    height: H,
    strokes: doc.strokes.map((s) => ({ mode: s.mode, radius: (s.radius * (sx + sy)) / 2, points: pts(s.points) })),
    polygons: doc.polygons.map(pts),
  };
}

/** Ramer-Douglas-Peucker: drop points closer than `tolerance` px to the simplified polyline (ends kept). */
export function simplifyStroke(points, tolerance) {
  if (points.length <= 2) return points.slice();
  const keep = new Array(points.length).fill(false);
  keep[0] = keep[points.length - 1] = true;
  const stack = [[0, points.length - 1]];
  while (stack.length) {
    const [a, b] = stack.pop();
    let worst = -1;
    let worstDist = tolerance;
    for (let i = a + 1; i < b; i++) {
      const d = distanceToSegment(points[i][0], points[i][1], points[a][0], points[a][1], points[b][0], points[b][1]);
      if (d > worstDist) {
        worst = i;
        worstDist = d;
      }
    }
    if (worst >= 0) {
      keep[worst] = true;
      stack.push([a, worst], [worst, b]);
    }
  }
  return points.filter((_, i) => keep[i]);
}

/**
 * A labelme JSON converted for the editor of a W x H image: arrows in image px (the node rescales labelme
 * JSONs drawn on another size, and so does this) and its regions as a stroke document (polygons in the
 * labelme px, with its size, which the node rescales like labelme) or null when it has none. A labelme
 * JSON without imageWidth/imageHeight is taken to be drawn on the image itself, as the node takes it.
 */
export function labelmeToEditor(labelme, W, H) {
  const lw = labelme.width ?? W;
  const lh = labelme.height ?? H;
  const sx = W / lw;
  const sy = H / lh;
  const arrows = labelme.arrows.map(([x0, y0, x1, y1]) => [x0 * sx, y0 * sy, x1 * sx, y1 * sy]);
  const doc = labelme.polygons.length
    ? { width: lw, height: lh, strokes: [], polygons: labelme.polygons.map((p) => p.map(([x, y]) => [x, y])) }
    : null;
  return { arrows, doc };
}

/**
 * Load Image's widget value ("name.png", "sub/dir/name.png" or "name.png [output]") -> {filename, subfolder,
 * type} for /view, or null when it names no file.
 */
export function parseImageWidgetValue(value) {
  if (typeof value !== "string" || !value.trim()) return null;
  let name = value.trim();
  let type = "input";
  const tagged = name.match(/^(.*) \[(input|output|temp)\]$/);
  if (tagged) {
    name = tagged[1];
    type = tagged[2];
  }
  const slash = name.lastIndexOf("/");
  return { filename: name.slice(slash + 1), subfolder: slash >= 0 ? name.slice(0, slash) : "", type };
}

/** /view URL (relative to the API base) of an image reference; `extra` adds query parameters. */
export function viewPath(ref, extra = {}) {
  const params = new URLSearchParams({ filename: ref.filename, type: ref.type ?? "input", subfolder: ref.subfolder ?? "" });
  for (const [k, v] of Object.entries(extra)) params.set(k, String(v));
  return `/view?${params.toString()}`;
}

/** The route behind the Auto button (nodes/editor_route.py). */
export const PROPOSE_ROUTE = "/cinemagraph/propose";

/**
 * The route's answer -> {arrows, doc, note} in the editor's W x H frame, or {error}. The answer's
 * arrows and polygons are in px of the width x height picture that was sent; doc is a painted-mask
 * document holding the proposed regions as polygons (null when nothing was proposed).
 */
export function proposalToEditor(answer, W, H) {
  if (!answer || typeof answer !== "object") return { error: "the server sent no proposal" };
  if (answer.error) return { error: String(answer.error) };
  if (!(isNum(answer.width) && isNum(answer.height) && answer.width > 0 && answer.height > 0)) {
    return { error: "the proposal has no picture size" };
  }
  const arrows = Array.isArray(answer.arrows) ? answer.arrows : [];
  const polygons = Array.isArray(answer.polygons) ? answer.polygons : [];
  const okArrow = (a) => Array.isArray(a) && a.length === 4 && a.every(isNum);
  const okPolygon = (p) => Array.isArray(p) && p.length >= 3 && p.every((q) => readPoint(q));
  if (!arrows.every(okArrow) || !polygons.every(okPolygon)) return { error: "the proposal is malformed" };
  const sx = W / answer.width;
  const sy = H / answer.height;
  const doc = polygons.length
    ? rescaleDoc({ width: answer.width, height: answer.height, strokes: [], polygons }, W, H)
    : null;
  return {
    arrows: arrows.map(([x0, y0, x1, y1]) => [x0 * sx, y0 * sy, x1 * sx, y1 * sy]),
    doc,
    note: typeof answer.note === "string" ? answer.note : "",
  };
}
