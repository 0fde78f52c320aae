// Unit tests of the MaskHints editor's pure logic: run with `node --test web/tests/`
// (tests/test_web_editor.py runs them as part of the pytest suite).
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  arrowSpeed, clampToImage, clientToView, distanceToSegment, fitImage, formatHints, formatStrokes, hitTest,
  labelmeToEditor, lastBrushRadius, parseHints, parseImageWidgetValue, parseLabelme, parseStrokes, proposalToEditor, rescaleDoc,
  simplifyStroke, toImage, toView, viewPath,
} from "../cinemagraph_editor_logic.js";

const close = (a, b, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} != ${b}`);

describe("letterboxing", () => {
  it("fits a wide image into a tall view with bars above and below", () => {
    const fit = fitImage(512, 384, 300, 400);
    close(fit.scale, 300 / 512);
    close(fit.offsetX, 0);
    close(fit.offsetY, (400 - 384 * (300 / 512)) / 2);
    close(fit.width, 300);
  });

  it("fits a tall image into a wide view with bars left and right", () => {
    const fit = fitImage(100, 200, 400, 100);
    close(fit.scale, 0.5);
    close(fit.offsetX, (400 - 50) / 2);
    close(fit.offsetY, 0);
  });

  it("maps view <-> image px both ways, corners onto corners", () => {
    const fit = fitImage(512, 384, 333, 271);
    for (const [x, y] of [[0, 0], [512, 384], [271.3, 283.9], [-5, 400]]) {
      const [vx, vy] = toView(fit, x, y);
      const [ix, iy] = toImage(fit, vx, vy);
      close(ix, x, 1e-9);
      close(iy, y, 1e-9);
    }
    const [cx, cy] = toView(fit, 512, 384);
    close(cx, fit.offsetX + fit.width);
    close(cy, fit.offsetY + fit.height);
  });

  it("keeps arrows in image px when the preview size changes", () => {
    const small = fitImage(512, 384, 256, 192);
    const big = fitImage(512, 384, 1000, 700);
    const image = toImage(small, ...toView(small, 271, 283));
    close(image[0], toImage(big, ...toView(big, 271, 283))[0]);
    close(image[1], 283);
  });

  it("refuses empty sizes", () => {
    assert.throws(() => fitImage(0, 10, 10, 10), /positive/);
  });

  it("maps client px of a zoomed canvas to bitmap px", () => {
    const rect = { left: 100, top: 50, width: 150, height: 100 }; // a 300x200 canvas shown at zoom 0.5
    assert.deepEqual(clientToView(175, 100, rect, 300, 200), [150, 100]);
    assert.deepEqual(clientToView(100, 50, rect, 300, 200), [0, 0]);
  });

  it("clamps points into the image", () => {
    assert.deepEqual(clampToImage(-3, 500, 512, 384), [0, 384]);
    assert.deepEqual(clampToImage(10.5, 20, 512, 384), [10.5, 20]);
  });
});

describe("hit testing", () => {
  const arrows = [[10, 10, 50, 10], [100, 100, 100, 140]];

  it("finds endpoints before bodies", () => {
    assert.deepEqual(hitTest(arrows, 11, 12, 4), { index: 0, part: "start" });
    assert.deepEqual(hitTest(arrows, 49, 9, 4), { index: 0, part: "end" });
    assert.deepEqual(hitTest(arrows, 30, 13, 4), { index: 0, part: "body" });
    assert.deepEqual(hitTest(arrows, 102, 120, 4), { index: 1, part: "body" });
  });

  it("returns null away from every arrow and respects the tolerance", () => {
    assert.equal(hitTest(arrows, 30, 20, 4), null);
    assert.deepEqual(hitTest(arrows, 30, 20, 10), { index: 0, part: "body" });
    assert.equal(hitTest([], 0, 0, 100), null);
  });

  it("prefers the nearer endpoint and the later arrow on ties", () => {
    const crossing = [[0, 0, 10, 0], [12, 0, 20, 0]];
    assert.deepEqual(hitTest(crossing, 10.5, 0, 3), { index: 0, part: "end" });
    assert.deepEqual(hitTest(crossing, 11.5, 0, 3), { index: 1, part: "start" });
    const same = [[0, 0, 10, 0], [0, 0, 0, 10]];
    assert.equal(hitTest(same, 0, 0, 1).index, 1);
  });

  it("measures distances to segments and degenerate segments", () => {
    close(distanceToSegment(5, 3, 0, 0, 10, 0), 3);
    close(distanceToSegment(-4, 3, 0, 0, 10, 0), 5);
    close(distanceToSegment(3, 4, 0, 0, 0, 0), 5);
  });
});

describe("hints JSON", () => {
  it("reads every format the node accepts", () => {
    assert.deepEqual(parseHints("[[271, 283, 279, 309], [238, 316, 248, 350]]").arrows,
      [[271, 283, 279, 309], [238, 316, 248, 350]]);
    assert.deepEqual(parseHints("[1, 2, 3, 4]").arrows, [[1, 2, 3, 4]]);
    assert.deepEqual(parseHints("[[[1, 2], [3, 4]]]").arrows, [[1, 2, 3, 4]]);
    assert.deepEqual(parseHints('[{"start": [1, 2], "end": [3.5, 4]}]').arrows, [[1, 2, 3.5, 4]]);
    assert.deepEqual(parseHints("  ").arrows, []);
  });

  it("reports malformed text instead of throwing", () => {
    assert.match(parseHints("[[1, 2, 3").error, /invalid JSON/);
    assert.match(parseHints("[[1, 2, 3]]").error, /arrow 0/);
    assert.match(parseHints('[[1, "a", 3, 4]]').error, /arrow 0/);
    assert.match(parseHints("42").error, /list of arrows/);
    assert.equal(parseHints("[[1, 2, 3, 4]]").error, null);
  });

  it("round-trips arrows at 0.1 px in the node's format", () => {
    const arrows = [[271, 283, 279.44, 309.96], [0.05, 1, 2, 3]];
    const text = formatHints(arrows);
    assert.equal(text, "[[271, 283, 279.4, 310], [0.1, 1, 2, 3]]");
    assert.deepEqual(parseHints(text).arrows, [[271, 283, 279.4, 310], [0.1, 1, 2, 3]]);
    assert.equal(formatHints(parseHints(text).arrows), text);
    assert.equal(formatHints([]), "");
  });

  it("gives the official speed: length / 50 px per frame", () => {
    const s = arrowSpeed([0, 0, 30, 40]);
    close(s.length, 50);
    close(s.pxPerFrame, 1);
    close(s.dx, 0.6);
    close(s.dy, 0.8);
  });
});

describe("mask strokes JSON", () => {
  const doc = {
    width: 512, height: 384,
    strokes: [{ mode: "paint", radius: 12, points: [[10, 20], [30.04, 40]] }, { mode: "erase", radius: 3.25, points: [[15, 25]] }],
    polygons: [],
  };

  it("round-trips a document (0.1 px), omitting empty polygons", () => {
    const text = formatStrokes(doc);
    assert.equal(text, '{"width":512,"height":384,"strokes":[{"mode":"paint","radius":12,"points":[[10,20],[30,40]]},'
      + '{"mode":"erase","radius":3.3,"points":[[15,25]]}]}');
    const back = parseStrokes(text);
    assert.equal(back.error, null);
    assert.equal(formatStrokes(back.doc), text);
    assert.deepEqual(back.doc.polygons, []);
  });

  it("treats empty text and empty documents as no painted mask", () => {
    assert.deepEqual(parseStrokes(""), { doc: null, error: null });
    assert.equal(formatStrokes(null), "");
    assert.equal(formatStrokes({ width: 5, height: 5, strokes: [], polygons: [] }), "");
  });

  it("rejects what the node rejects", () => {
    const bad = [
      ["{", /invalid JSON/],
      ["[]", /JSON object/],
      ['{"width": 0, "height": 5, "strokes": [{"mode": "paint", "radius": 1, "points": [[1, 1]]}]}', /width/],
      ['{"width": 5, "height": 5, "strokes": []}', /no strokes/],
      ['{"width": 5, "height": 5, "strokes": [{"mode": "blur", "radius": 1, "points": [[1, 1]]}]}', /mode/],
      ['{"width": 5, "height": 5, "strokes": [{"mode": "paint", "radius": -1, "points": [[1, 1]]}]}', /radius/],
      ['{"width": 5, "height": 5, "strokes": [{"mode": "paint", "radius": 1, "points": []}]}', /at least 1/],
      ['{"width": 5, "height": 5, "strokes": [{"mode": "paint", "radius": 1, "points": [[1, null]]}]}', /\[x, y\]/],
      ['{"width": 5, "height": 5, "polygons": [[[0, 0], [1, 1]]]}', /polygon 0/],
    ];
    for (const [text, message] of bad) {
      const { doc, error } = parseStrokes(text);
      assert.equal(doc, null, text);
      assert.match(error, message, text);
      assert.match(error, /^mask_strokes: /);
    }
  });

  it("rescales a document drawn on another size like the node", () => {
    const half = rescaleDoc({ ...doc, polygons: [[[0, 0], [512, 0], [512, 384]]] }, 256, 192);
    assert.equal(half.width, 256);
    assert.deepEqual(half.strokes[0].points, [[5, 10], [15.02, 20]]);
    close(half.strokes[0].radius, 6);
    assert.deepEqual(half.polygons[0][2], [256, 192]);
    assert.equal(rescaleDoc(doc, 512, 384), doc);
  });

  it("simplifies strokes without moving them more than the tolerance", () => {
    const line = Array.from({ length: 50 }, (_, i) => [i, 10 + (i % 2) * 0.2]);
    const simple = simplifyStroke(line, 0.5);
    assert.deepEqual(simple, [[0, 10], [49, 10.2]]);
    const corner = [[0, 0], [5, 0.1], [10, 0], [10, 5], [10, 10]];
    assert.deepEqual(simplifyStroke(corner, 0.5), [[0, 0], [10, 0], [10, 10]]);
    for (const p of corner) {
      assert.ok(Math.min(distanceToSegment(...p, 0, 0, 10, 0), distanceToSegment(...p, 10, 0, 10, 10)) <= 0.5);
    }
    assert.deepEqual(simplifyStroke([[1, 1]], 1), [[1, 1]]);
  });
});

describe("labelme conversion", () => {
  const labelme = {
    imageWidth: 768, imageHeight: 512,
    shapes: [
      { label: "water", shape_type: "rectangle", points: [[0, 330], [767, 511]] },
      { label: "hint1", shape_type: "line", points: [[150, 400], [190, 404]] },
      { label: "pond", shape_type: "circle", points: [[100, 100], [110, 100]] },
      { label: "lake", shape_type: "polygon", points: [[1, 1], [5, 1], [5, 5]] },
      { label: "note", shape_type: "point", points: [[3, 3]] },
    ],
  };

  it("reads hint lines as arrows and regions as polygons", () => {
    const parsed = parseLabelme(labelme);
    assert.deepEqual(parsed.arrows, [[150, 400, 190, 404]]);
    assert.equal(parsed.polygons.length, 3);
    assert.deepEqual(parsed.polygons[0], [[0, 330], [767, 330], [767, 511], [0, 511]]);
    assert.equal(parsed.polygons[1].length, 48);
    for (const [x, y] of parsed.polygons[1]) close(Math.hypot(x - 100, y - 100), 10, 1e-9);
    assert.deepEqual(parseHints(JSON.stringify(labelme)).labelme, parsed);
  });

  it("converts to arrows in image px plus a polygon document the node rescales", () => {
    const { arrows, doc } = labelmeToEditor(parseLabelme(labelme), 384, 256);
    assert.deepEqual(arrows, [[75, 200, 95, 202]]);
    assert.equal(doc.width, 768);
    assert.equal(doc.height, 512);
    assert.deepEqual(doc.strokes, []);
    const text = formatStrokes(doc);
    assert.equal(parseStrokes(text).error, null);
    assert.deepEqual(parseStrokes(text).doc.polygons[0], [[0, 330], [767, 330], [767, 511], [0, 511]]);
    assert.equal(formatHints(arrows), "[[75, 200, 95, 202]]");
  });

  it("takes a labelme JSON without a size as drawn on the image, and one without regions as arrows only", () => {
    const plain = { shapes: [{ label: "hint", shape_type: "line", points: [[1, 2], [3, 4]] }] };
    const { arrows, doc } = labelmeToEditor(parseLabelme(plain), 100, 80);
    assert.deepEqual(arrows, [[1, 2, 3, 4]]);
    assert.equal(doc, null);
  });

  it("reports broken labelme JSON", () => {
    assert.match(parseHints('{"shapes": [{"label": "hint", "points": [[1, 2]]}]}').error, /2 points/);
    assert.match(parseHints('{"version": "5"}').error, /shapes/);
    assert.match(parseHints('{"shapes": [{"label": "x", "points": "no"}]}').error, /points/);
  });
});

describe("image URLs", () => {
  it("parses Load Image widget values", () => {
    assert.deepEqual(parseImageWidgetValue("cinemagraph_river.png"),
      { filename: "cinemagraph_river.png", subfolder: "", type: "input" });
    assert.deepEqual(parseImageWidgetValue("clipspace/mask 1.png [input]"),
      { filename: "mask 1.png", subfolder: "clipspace", type: "input" });
    assert.deepEqual(parseImageWidgetValue("a/b/c.webp [output]"), { filename: "c.webp", subfolder: "a/b", type: "output" });
    assert.equal(parseImageWidgetValue(""), null);
    assert.equal(parseImageWidgetValue(undefined), null);
  });

  it("builds /view paths with escaped names and extra parameters", () => {
    assert.equal(viewPath({ filename: "mask 1.png", subfolder: "clipspace", type: "input" }, { channel: "rgb" }),
      "/view?filename=mask+1.png&type=input&subfolder=clipspace&channel=rgb");
    assert.equal(viewPath({ filename: "x.png" }), "/view?filename=x.png&type=input&subfolder=");
  });
});

describe("the Auto button's proposal", () => {
  const answer = {
    width: 256, height: 192, note: "proposed river (16%)",
    arrows: [[10, 100, 60, 100], [128.5, 120, 178.5, 121]],
    polygons: [[[0, 90], [255, 90], [255, 140], [0, 140]]],
    regions: [{ kind: "river", confidence: 0.99, area: 0.16 }],
  };

  it("scales arrows and polygons from the picture sent to the source image", () => {
    const { arrows, doc, note } = proposalToEditor(answer, 512, 384);
    assert.deepEqual(arrows, [[20, 200, 120, 200], [257, 240, 357, 242]]);
    assert.deepEqual(doc, { width: 512, height: 384, strokes: [], polygons: [[[0, 180], [510, 180], [510, 280], [0, 280]]] });
    assert.equal(note, "proposed river (16%)");
  });

  it("gives widget texts the node reads back", () => {
    const { arrows, doc } = proposalToEditor(answer, 256, 192);
    assert.equal(formatHints(arrows), "[[10, 100, 60, 100], [128.5, 120, 178.5, 121]]");
    const again = parseStrokes(formatStrokes(doc));
    assert.equal(again.error, null);
    assert.deepEqual(again.doc.polygons, answer.polygons);
    assert.deepEqual(again.doc.strokes, []);
  });

  it("says when nothing was proposed, and passes server errors on", () => {
    const empty = proposalToEditor({ width: 64, height: 64, arrows: [], polygons: [], note: "nothing to animate" }, 64, 64);
    assert.deepEqual(empty, { arrows: [], doc: null, note: "nothing to animate" });
    assert.deepEqual(proposalToEditor({ error: "not a PNG" }, 64, 64), { error: "not a PNG" });
  });

  it("refuses malformed answers", () => {
    for (const bad of [null, "x", { width: 0, height: 5 }, { width: 5, height: 5, arrows: [[1, 2, 3]] },
      { width: 5, height: 5, polygons: [[[1, 2], [3, 4]]] }, { width: 5, height: 5, arrows: [[1, 2, 3, NaN]] }]) {
      assert.ok(proposalToEditor(bad, 10, 10).error, JSON.stringify(bad));
    }
  });
});

describe("brush radius of a reloaded drawing", () => {
  it("is the last stroke's, rounded and kept within the slider's range", () => {
    const doc = { width: 10, height: 10, polygons: [], strokes: [
      { mode: "paint", radius: 8, points: [[1, 1]] }, { mode: "erase", radius: 22.4, points: [[2, 2]] }] };
    assert.equal(lastBrushRadius(doc, 16), 22);
    assert.equal(lastBrushRadius({ ...doc, strokes: [{ mode: "paint", radius: 900, points: [[1, 1]] }] }, 16), 200);
  });

  it("keeps the current radius when nothing was painted", () => {
    assert.equal(lastBrushRadius({ width: 10, height: 10, strokes: [], polygons: [[[0, 0], [1, 0], [1, 1]]] }, 16), 16);
    assert.equal(lastBrushRadius(null, 16), 16);
  });
});
