"""The ComfyUI nodes called directly (no ComfyUI needed): shapes, ranges, determinism, batches, errors."""
from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import cv2
import pytest
import torch

import nodes
from cinemagraph_core.errors import CinemagraphError
from nodes import common
from nodes.depth_nodes import DepthDPT
from nodes.motion_nodes import EMPTY_MASK, EulerianMotion, MaskHints
from nodes.render_nodes import CameraPath, Decode, SplatRender, SymmetricAnimate
from nodes.scene_nodes import FeaturePointCloud, LDIBuild
from nodes.shortcut import Cinemagraph3D

from nodes_fixtures import COLS, H, ROWS, W, arrows_json, depth_image, image, mask

REPO = Path(__file__).resolve().parents[1]
STAGE_IDS = ("CinemagraphDepthDPT", "CinemagraphEulerianMotion", "CinemagraphMaskHints", "CinemagraphLDIBuild",
             "CinemagraphFeaturePointCloud", "CinemagraphSymmetricAnimate", "CinemagraphSplatRender", "CinemagraphDecode")
FRAMES = 3


def chain(img, msk, dep, frames: int = FRAMES, preset: str = "circle", amplitude: float = 1.0):
    """Every stage node in order; returns a dict of all outputs."""
    out = {}
    out["depth"], out["depth_preview"] = DepthDPT().run(img, "auto", depth_image=dep)
    out["hints"], out["mask"] = MaskHints().run(img, arrows_json(), 0.0, mask=msk)
    out["motion"], out["motion_preview"] = EulerianMotion().run(img, out["hints"], "auto", 1.0)
    out["ldi"], out["layers_preview"], out["hole_mask"] = LDIBuild().run(img, out["depth"], "auto", True)
    (out["points"],) = FeaturePointCloud().run(out["ldi"], out["depth"], "auto")
    (out["animation"],) = SymmetricAnimate().run(out["points"], out["motion"], frames, True)
    (out["camera"],) = CameraPath().run(preset, amplitude)
    (out["frames"],) = SplatRender().run(out["animation"], out["camera"])
    out["images"], out["fps"], out["n"] = Decode().run(out["frames"], "auto")
    return out


@pytest.fixture(scope="module")
def single():
    return chain(image(), mask(), depth_image())


def test_registration_ids_category_tooltips():
    ids = set(nodes.NODE_CLASS_MAPPINGS)
    assert set(STAGE_IDS) <= ids and {"CinemagraphCameraPath", "Cinemagraph3D"} <= ids
    current = {i for i in ids if not getattr(nodes.NODE_CLASS_MAPPINGS[i], "DEPRECATED", False)}
    assert all(i.startswith("Cinemagraph") for i in current), "every node the search shows carries the prefix"
    assert set(nodes.NODE_DISPLAY_NAME_MAPPINGS) == ids
    for name, cls in nodes.NODE_CLASS_MAPPINGS.items():
        assert cls.CATEGORY == common.CATEGORY, name
        assert callable(getattr(cls(), cls.FUNCTION)), name
        assert len(cls.RETURN_TYPES) == len(cls.RETURN_NAMES) == len(cls.OUTPUT_TOOLTIPS), name
        spec = cls.INPUT_TYPES()
        for section in spec.values():
            for inp, entry in section.items():
                assert isinstance(entry[1].get("tooltip"), str) and entry[1]["tooltip"], f"{name}.{inp}"


def test_old_ids_are_deprecated_aliases_of_the_prefixed_nodes():
    """Workflows saved before the prefix name DepthDPT, MaskHints, ...: still registered, flagged deprecated
    (ComfyUI hides them from the search), the same inputs, outputs and behaviour as the prefixed node."""
    assert set(nodes.LEGACY_IDS) == {i[len("Cinemagraph"):] for i in STAGE_IDS} | {"CameraPath"}
    for old, new in nodes.LEGACY_IDS.items():
        alias, cls = nodes.NODE_CLASS_MAPPINGS[old], nodes.NODE_CLASS_MAPPINGS[new]
        assert alias.DEPRECATED is True and not getattr(cls, "DEPRECATED", False)
        assert issubclass(alias, cls) and alias.INPUT_TYPES() == cls.INPUT_TYPES()
        assert (alias.RETURN_TYPES, alias.FUNCTION, alias.CATEGORY) == (cls.RETURN_TYPES, cls.FUNCTION, cls.CATEGORY)
        assert "old ID" in nodes.NODE_DISPLAY_NAME_MAPPINGS[old]
    img = image()
    old = nodes.NODE_CLASS_MAPPINGS["MaskHints"]().run(img, arrows_json(), 0.0, mask=mask())
    new = MaskHints().run(img, arrows_json(), 0.0, mask=mask())
    assert torch.equal(old[0][0].mask, new[0][0].mask) and old[0][0].arrows == new[0][0].arrows


def test_root_package_loads_like_comfyui(monkeypatch, tmp_path):
    """ComfyUI imports the repository folder by path; the root __init__ must register nodes and the models folder."""
    fake = type(sys)("folder_paths")
    fake.models_dir = str(tmp_path)
    fake.folder_names_and_paths = {}
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    name = str(REPO).replace(".", "_x_")
    spec = importlib.util.spec_from_file_location(name, REPO / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    assert set(module.NODE_CLASS_MAPPINGS) == set(nodes.NODE_CLASS_MAPPINGS)
    paths, exts = fake.folder_names_and_paths["cinemagraph"]
    assert paths == [str(tmp_path / "cinemagraph")] and ".pth" in exts and ".safetensors" in exts


def test_stage_chain_shapes_and_ranges(single):
    imgs = single["images"]
    assert imgs.shape == (FRAMES, H, W, 3) and imgs.dtype == torch.float32
    assert float(imgs.min()) >= 0.0 and float(imgs.max()) <= 1.0
    assert single["fps"] == 25.0 and single["n"] == FRAMES
    assert single["depth_preview"].shape == (1, H, W, 3)
    assert single["motion_preview"].shape == (1, H, W, 3)
    layers = single["ldi"][0].num_layers
    assert layers >= 2 and single["layers_preview"].shape == (layers, H, W, 3)
    assert single["hole_mask"].shape == (1, H, W) and float(single["hole_mask"].sum()) > 0
    assert single["mask"].shape == (1, H, W) and torch.equal(single["mask"], mask())
    flow = single["motion"][0].flow
    assert float(flow[:, :ROWS.start].abs().max()) == 0.0 and float(flow[0, ROWS, COLS].mean()) > 0


def test_stage_chain_is_deterministic(single):
    again = chain(image(), mask(), depth_image())
    for key in ("images", "depth_preview", "motion_preview", "layers_preview", "hole_mask"):
        assert torch.equal(single[key], again[key]), key


def test_depth_preview_round_trips_into_depth_dpt(single):
    """The preview is grey disparity (near = bright), the format DepthDPT reads from depth nodes."""
    (depth2,), _ = DepthDPT().run(image(), "auto", depth_image=single["depth_preview"])
    diff = (depth2.disparity - single["depth"][0].disparity).abs()
    assert float((diff > 0.01).float().mean()) < 0.01, "all but the 5x5-median-rounded corners agree"


def test_shortcut_equals_stage_chain(single):
    images, fps, n = Cinemagraph3D().run(image(), arrows_json(), frames=FRAMES, camera="circle", models="auto",
                                         mask=mask(), depth_image=depth_image())
    assert (fps, n) == (25.0, FRAMES)
    assert torch.equal(images, single["images"])


def test_batch_gives_cinemagraphs_in_order(single):
    two = chain(torch.cat([image(), image(seed=5)]), mask(2), depth_image())
    assert two["images"].shape == (2 * FRAMES, H, W, 3) and two["n"] == FRAMES
    assert torch.equal(two["images"][:FRAMES], single["images"])
    assert not torch.equal(two["images"][FRAMES:], single["images"])
    assert len(two["depth"]) == 2 and two["depth_preview"].shape[0] == 2


def test_camera_change_reuses_the_animation(single):
    """A new camera needs only SplatRender + Decode on the cached animation."""
    (cam,) = CameraPath().run("static", 1.0)
    (frames,) = SplatRender().run(single["animation"], cam)
    images, _, _ = Decode().run(frames, "auto")
    assert images.shape == single["images"].shape
    assert not torch.equal(images, single["images"])


def test_keyframed_camera_and_render_settings(single):
    keys = json.dumps({"keyframes": [{"t": 0.0, "xyz": [0, 0, 0]}, {"t": 0.5, "xyz": [0.05, 0, -0.05]}]})
    (cam,) = CameraPath().run(common.KEYFRAMES, 1.0, keys)
    (frames,) = SplatRender().run(single["animation"], cam, 12.0, 2.0, 4, 5, False, "pytorch3d")
    images, fps, n = Decode().run(frames, "blend")
    assert images.shape == (FRAMES, H - 10, W - 10, 3) and fps == 12.0 and n == FRAMES


@pytest.mark.parametrize("call, message", [
    (lambda: MaskHints().run(image(), "   ", 0.0, mask=mask()), "hints are empty"),
    (lambda: MaskHints().run(image(), "[[1, 2, 3", 0.0, mask=mask()), "invalid JSON"),
    (lambda: MaskHints().run(image(), '{"shapes": []}', 0.0), "no hint line"),
    (lambda: MaskHints().run(image(), arrows_json(), 0.0, mask=torch.zeros(1, 64, 64)), EMPTY_MASK[:30]),
    (lambda: MaskHints().run(image(), arrows_json(), 0.0, mask=torch.ones(1, 10, 40)), "another aspect ratio"),
    (lambda: MaskHints().run(image(), arrows_json(), -1.0, mask=mask()), "sigma must be >= 0"),
    (lambda: MaskHints().run(image(2), arrows_json(), 0.0, mask=mask(3)), "batch sizes differ"),
    (lambda: MaskHints().run(image(), "[[500, 2, 510, 4]]", 0.0), "outside the"),
    (lambda: DepthDPT().run(torch.rand(1, 1, 1, 3), "prior"), "at least 32"),
    (lambda: DepthDPT().run(torch.rand(H, W, 3), "prior"), "(B,H,W,C)"),
    (lambda: DepthDPT().run(torch.rand(1, H, W, 5), "prior"), "1, 3 or 4 channels"),
    (lambda: DepthDPT().run(image().double() * float("nan"), "prior"), "NaN"),
    (lambda: DepthDPT().run(image().numpy(), "prior"), "IMAGE tensor"),
    (lambda: DepthDPT().run(image(), "auto", depth_image=depth_image() * float("nan")), "NaN"),
    (lambda: DepthDPT().run(image(), "no_such_file.pth"), "not found in models/cinemagraph"),
    (lambda: DepthDPT().run(image(), "auto", depth_image=depth_image(), depth_kind="metric"), "depth_kind"),
    (lambda: LDIBuild().run(image(), "not a depth", "auto", True), "expected the output of a 3D Cinemagraph"),
    (lambda: LDIBuild().run(image(), DepthDPT().run(image(), "auto", depth_image=depth_image())[0], "magic", True),
     "inpainter must be one of"),
    (lambda: CameraPath().run("keyframes", 1.0, ""), "keyframes text is empty"),
    (lambda: CameraPath().run("keyframes", 1.0, "{not json"), "JSON"),
    (lambda: CameraPath().run("loop-de-loop", 1.0), "unknown camera preset"),
    (lambda: CameraPath().run("circle", -1.0), "amplitude must be >= 0"),
    (lambda: SplatRender().run((), common.CameraSpec("circle")), "expected the output of a 3D Cinemagraph"),
    (lambda: Cinemagraph3D().run(image(), arrows_json(), frames=2, crop=40, mask=mask(), depth_image=depth_image()),
     "crop must be"),
    (lambda: Cinemagraph3D().run(image(), arrows_json(), frames=2, camera="orbit", mask=mask(),
                                 depth_image=depth_image()), "unknown camera preset"),
    (lambda: Cinemagraph3D().run(image(), arrows_json(), frames=0, mask=mask(), depth_image=depth_image()),
     "num_frames must be at least 1"),
    (lambda: Cinemagraph3D().run(image(), arrows_json(), frames=2, models="cloud", mask=mask(),
                                 depth_image=depth_image()), "models must be one of"),
])
def test_bad_inputs_give_clear_errors(call, message):
    with pytest.raises(CinemagraphError) as err:
        call()
    assert message in str(err.value)


def test_stage_mismatches_are_caught(single):
    other = torch.rand(1, 2 * H, 2 * W, 3)
    with pytest.raises(CinemagraphError, match="connect the same image"):
        LDIBuild().run(other, single["depth"], "auto", True)
    with pytest.raises(CinemagraphError, match="connect the same image"):
        EulerianMotion().run(other, single["hints"], "auto", 1.0)
    with pytest.raises(CinemagraphError, match="frames must be"):
        SymmetricAnimate().run(single["points"], single["motion"], 0, True)
    (crop_frames,) = SplatRender().run(single["animation"], single["camera"])
    with pytest.raises(CinemagraphError, match="crop must be"):
        SplatRender().run(single["animation"], single["camera"], 25.0, 1.5, 8, H // 2)
    assert crop_frames[0].settings.crop == 0


def test_mask_resizing_and_labelme_polygons():
    big = torch.nn.functional.interpolate(mask()[None], size=(2 * H, 2 * W), mode="nearest")[0]
    (hint,), used = MaskHints().run(image(), arrows_json(), 0.0, mask=big)
    assert torch.equal(used, mask())
    labelme = json.dumps({"imageHeight": H, "imageWidth": W, "shapes": [
        {"label": "water", "shape_type": "rectangle", "points": [[COLS.start, ROWS.start], [COLS.stop - 1, ROWS.stop - 1]]},
        {"label": "hint1", "shape_type": "line", "points": [[70, 50], [80, 52]]}]})
    (poly,), poly_mask = MaskHints().run(image(), labelme, 0.0)
    assert poly.arrows == ((70.0, 50.0, 80.0, 52.0),)
    assert torch.equal(poly_mask[0], mask()[0])
    (fallback,), _ = MaskHints().run(image(), labelme, 0.0, mask=torch.zeros(1, 64, 64))
    assert torch.equal(fallback.mask, mask()[0])
    (everything,), whole = MaskHints().run(image(), arrows_json(), 0.0)
    assert float(whole.min()) == 1.0


def test_progress_bar_and_interruption(monkeypatch, single):
    """Inside ComfyUI the nodes drive comfy.utils.ProgressBar, stop on comfy.model_management's interrupt and render
    on its device."""
    updates = []

    class Bar:
        def __init__(self, total):
            self.total = total

        def update_absolute(self, value, total=None, preview=None):
            updates.append((value, self.total))

    class Stop(Exception):
        pass

    calls = {"n": 0}

    def throw():
        calls["n"] += 1
        if calls["n"] > calls.get("limit", 10 ** 9):
            raise Stop()

    comfy_pkg, utils, mm = type(sys)("comfy"), type(sys)("comfy.utils"), type(sys)("comfy.model_management")
    utils.ProgressBar = Bar
    mm.throw_exception_if_processing_interrupted = throw
    asked = []
    mm.get_torch_device = lambda: asked.append(1) or torch.device("cpu")
    comfy_pkg.utils, comfy_pkg.model_management = utils, mm
    for name, mod in (("comfy", comfy_pkg), ("comfy.utils", utils), ("comfy.model_management", mm)):
        monkeypatch.setitem(sys.modules, name, mod)
    Decode().run(single["frames"], "auto")
    assert asked, "Decode renders on ComfyUI's device"
    assert updates and updates[-1][0] == updates[-1][1] and all(a <= b for a, b in zip(updates, updates[1:]))
    calls.update(n=0, limit=2)
    with pytest.raises(Stop):
        Decode().run(single["frames"], "auto")


@pytest.fixture
def models_folder(monkeypatch, tmp_path):
    """A stand-in for ComfyUI's folder_paths with a ``cinemagraph`` models folder at tmp_path/models/cinemagraph."""
    fake = type(sys)("folder_paths")
    fake.models_dir = str(tmp_path / "models")
    fake.folder_names_and_paths = {"custom_nodes": ([str(tmp_path / "custom_nodes")], set())}
    fake.get_folder_paths = lambda name: list(fake.folder_names_and_paths[name][0])

    def filename_list(name):
        paths, exts = fake.folder_names_and_paths[name]
        return sorted(str(p.relative_to(d)) for d in map(Path, paths) if d.is_dir() for p in d.rglob("*")
                      if p.is_file() and p.suffix in exts)

    def full_path(name, filename):
        hits = [Path(d) / filename for d in fake.folder_names_and_paths[name][0] if (Path(d) / filename).is_file()]
        return str(hits[0]) if hits else None

    fake.get_filename_list, fake.get_full_path = filename_list, full_path
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    from nodes.comfy import register_models_folder

    register_models_folder()
    folder = tmp_path / "models" / "cinemagraph"
    folder.mkdir(parents=True)
    return folder


def test_model_dropdowns_list_the_models_folder(models_folder):
    from nodes import models

    before = DepthDPT.IS_CHANGED(model="auto"), Cinemagraph3D.IS_CHANGED(models="auto")
    assert before == (DepthDPT.IS_CHANGED(model="auto"), Cinemagraph3D.IS_CHANGED(models="auto"))
    for name in ("dpt_hybrid-midas-501f0c75.pt", "sceneflow_model.pth", "my_weights.safetensors", "notes.txt"):
        (models_folder / name).write_bytes(b"")
    assert models.choices("dpt") == ["auto", "prior", "dpt_hybrid-midas-501f0c75.pt", "my_weights.safetensors"]
    assert models.choices("motion") == ["auto", "hints", "my_weights.safetensors", "sceneflow_model.pth"]
    assert models.choices("img_decoder") == ["auto", "blend", "my_weights.safetensors"]
    with pytest.raises(CinemagraphError, match="empty"):
        EulerianMotion().run(image(), MaskHints().run(image(), arrows_json(), 0.0, mask=mask())[0], "auto", 1.0)
    assert DepthDPT.INPUT_TYPES()["required"]["model"][0] == models.choices("dpt")
    assert DepthDPT.IS_CHANGED(model="auto") != before[0] and Cinemagraph3D.IS_CHANGED(models="auto") != before[1]
    assert DepthDPT.IS_CHANGED(model="gone.pth").startswith("missing")


@pytest.mark.slow
def test_learned_models_from_the_models_folder(models_folder):
    """With the official files in models/cinemagraph, 'auto' runs every learned stage (recipe weights)."""
    import golden

    src = golden.recipe_weights(golden.weights_seed("pipeline_setup"))
    for f in src.glob("*.p*"):
        (models_folder / f.name).symlink_to(f)
    img = torch.nn.functional.interpolate(image().permute(0, 3, 1, 2), size=(96, 128)).permute(0, 2, 3, 1)
    msk = torch.nn.functional.interpolate(mask()[:, None], size=(96, 128))[:, 0]
    out = chain(img, msk, None, frames=2)
    assert out["depth"][0].source == "dpt" and out["motion"][0].source == "learned"
    assert out["ldi"][0].inpainter != "classical" and out["points"][0].channels > 4
    assert out["images"].shape == (2, 96, 128, 3) and bool(torch.isfinite(out["images"]).all())


# ---- MaskHints' painted mask (mask_strokes, written by the editor in web/) ------------------------------

def strokes_json(strokes, polygons=(), size=(W, H)) -> str:
    doc = {"width": size[0], "height": size[1], "strokes": list(strokes)}
    if polygons:
        doc["polygons"] = list(polygons)
    return json.dumps(doc)


def brush_area(points, radius: float, size=(H, W)) -> torch.Tensor:
    """Pixels whose centre lies within ``radius`` of the polyline (the ideal round brush), (H,W) bool."""
    ys, xs = torch.meshgrid(torch.arange(size[0]).double(), torch.arange(size[1]).double(), indexing="ij")
    best = torch.full(size, float("inf"), dtype=torch.float64)
    pts = [torch.tensor(p, dtype=torch.float64) for p in points]
    for a, b in zip(pts, pts[1:] or pts):
        d = b - a
        den = float(d @ d) or 1.0
        t = (((xs - a[0]) * d[0] + (ys - a[1]) * d[1]) / den).clamp(0, 1)
        best = torch.minimum(best, torch.hypot(xs - (a[0] + t * d[0]), ys - (a[1] + t * d[1])))
    return best <= radius


def test_editor_widgets_are_appended_optional_inputs():
    """Old workflows (two or three widget values) keep their order: mask_strokes, then auto, come after every
    other input."""
    spec = MaskHints.INPUT_TYPES()
    assert list(spec["required"]) == ["image", "hints", "sigma"]
    assert list(spec["optional"]) == ["mask", "mask_strokes", "auto"]
    kind, opts = spec["optional"]["mask_strokes"]
    assert kind == "STRING" and opts["default"] == "" and "MASK input wins" in opts["tooltip"]
    kind, opts = spec["optional"]["auto"]
    assert kind == "BOOLEAN" and opts["default"] is True and "proposed" in opts["tooltip"]
    (hint,), _ = MaskHints().run(image(), arrows_json(), 0.0)
    assert float(hint.mask.min()) == 1.0


def test_painted_strokes_are_rasterised_in_order():
    paint = {"mode": "paint", "radius": 9, "points": [[60, 50], [100, 60], [100, 75]]}
    erase = {"mode": "erase", "radius": 4, "points": [[80, 55]]}
    (hint,), used = MaskHints().run(image(), arrows_json(), 0.0, mask_strokes=strokes_json([paint, erase]))
    ideal = brush_area(paint["points"], 9) & ~brush_area(erase["points"], 4)
    got = used[0] > 0.5
    assert torch.equal(used[0], hint.mask) and set(used.unique().tolist()) == {0.0, 1.0}
    assert int((got ^ ideal).sum()) <= 0.05 * int(ideal.sum())
    assert bool(got[50, 60]) and bool(got[75, 100]) and not bool(got[55, 80]) and not bool(got[10, 10])
    dot = {"mode": "paint", "radius": 3, "points": [[20, 20]]}
    (_,), one = MaskHints().run(image(), arrows_json(), 0.0, mask_strokes=strokes_json([dot]))
    assert int((one[0] > 0.5).sum()) == int(brush_area([[20, 20]], 3).sum())


def test_painted_strokes_scale_with_the_image_they_were_drawn_on():
    paint = {"mode": "paint", "radius": 9, "points": [[60, 50], [100, 60]]}
    doubled = {"mode": "paint", "radius": 18, "points": [[120, 100], [200, 120]]}
    (_,), same = MaskHints().run(image(), arrows_json(), 0.0, mask_strokes=strokes_json([paint]))
    (_,), scaled = MaskHints().run(image(), arrows_json(), 0.0,
                                   mask_strokes=strokes_json([doubled], size=(2 * W, 2 * H)))
    assert int((same != scaled).sum()) <= 0.03 * int(same.sum())


def test_mask_precedence_input_then_strokes_then_polygons():
    stroke = strokes_json([{"mode": "paint", "radius": 6, "points": [[20, 20], [40, 20]]}])
    painted = MaskHints().run(image(), arrows_json(), 0.0, mask_strokes=stroke)[1]
    assert torch.equal(MaskHints().run(image(), arrows_json(), 0.0, mask=mask(), mask_strokes=stroke)[1], mask())
    assert torch.equal(MaskHints().run(image(), arrows_json(), 0.0, mask=torch.zeros(1, 64, 64),
                                       mask_strokes=stroke)[1], painted)
    water = [[COLS.start, ROWS.start], [COLS.stop - 1, ROWS.stop - 1]]
    labelme = json.dumps({"imageHeight": H, "imageWidth": W, "shapes": [
        {"label": "water", "shape_type": "rectangle", "points": water},
        {"label": "hint1", "shape_type": "line", "points": [[70, 50], [80, 52]]}]})
    assert torch.equal(MaskHints().run(image(), labelme, 0.0, mask_strokes=stroke)[1], painted)
    assert torch.equal(MaskHints().run(image(), labelme, 0.0)[1], mask())


def test_labelme_polygons_converted_by_the_editor_give_the_same_mask():
    """The editor turns a pasted labelme JSON into arrows + a polygons document (web/tests: labelme conversion)."""
    labelme = json.dumps({"imageHeight": 2 * H, "imageWidth": 2 * W, "shapes": [
        {"label": "lake", "shape_type": "polygon", "points": [[20, 30], [180, 40], [150, 150], [30, 140]]},
        {"label": "hint1", "shape_type": "line", "points": [[140, 100], [160, 104]]}]})
    converted = ('{"width":224,"height":160,"strokes":[],'
                 '"polygons":[[[20,30],[180,40],[150,150],[30,140]]]}')
    (direct,), direct_mask = MaskHints().run(image(), labelme, 0.0)
    (edited,), edited_mask = MaskHints().run(image(), "[[70, 50, 80, 52]]", 0.0, mask_strokes=converted)
    assert torch.equal(direct_mask, edited_mask) and float(edited_mask.sum()) > 0
    assert direct.arrows == edited.arrows


@pytest.mark.parametrize("text, message", [
    ("{", "invalid JSON"),
    ("[]", "expected a JSON object"),
    ('{"width": 0, "height": 80, "strokes": [{"mode": "paint", "radius": 3, "points": [[1, 1]]}]}', "'width'"),
    ('{"width": 112, "height": 80, "strokes": []}', "no strokes and no polygons"),
    ('{"width": 112, "height": 80, "strokes": {"mode": "paint"}}', "must be lists"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "blur", "radius": 3, "points": [[1, 1]]}]}', "mode 'blur'"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": NaN, "points": [[1, 1]]}]}', "radius nan"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": 0, "points": [[1, 1]]}]}', "radius 0"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": 3, "points": [[1, NaN]]}]}', "finite"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": 3, "points": []}]}', "at least 1"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": 3}]}', "at least 1"),
    ('{"width": 112, "height": 80, "polygons": [[[1, 1], [5, 5]]]}', "polygon 0 needs"),
    ('{"width": 112, "height": 80, "strokes": [{"mode": "paint", "radius": 3, "points": [[10, 10]]}, '
     '{"mode": "erase", "radius": 9, "points": [[10, 10]]}]}', "everything painted was erased"),
])
def test_bad_mask_strokes_give_clear_errors(text, message):
    with pytest.raises(CinemagraphError, match=re.escape(message)) as err:
        MaskHints().run(image(), arrows_json(), 0.0, mask_strokes=text)
    assert "mask_strokes" in str(err.value)


def test_editor_preview_is_a_ui_output_inside_comfyui(monkeypatch, tmp_path):
    """In ComfyUI the node also returns the picture and the mask it used for the editor (temp PNGs)."""
    fake = type(sys)("folder_paths")
    fake.get_temp_directory = lambda: str(tmp_path)
    monkeypatch.setitem(sys.modules, "folder_paths", fake)
    stroke = strokes_json([{"mode": "paint", "radius": 6, "points": [[20, 20], [40, 30]]}])
    big = torch.nn.functional.interpolate(image().permute(0, 3, 1, 2), size=(2 * H, 2 * W)).permute(0, 2, 3, 1)
    out = MaskHints().run(big, "[[140, 100, 160, 104]]", 0.0, mask_strokes=stroke)
    (hint,), used = out["result"]
    (entry,) = out["ui"]["cinemagraph_editor"]
    assert (entry["width"], entry["height"], entry["type"], entry["mask_source"]) == (2 * W, 2 * H, "temp", "strokes")
    picture = cv2.imread(str(tmp_path / entry["filename"]), cv2.IMREAD_UNCHANGED)
    overlay = cv2.imread(str(tmp_path / entry["mask_filename"]), cv2.IMREAD_UNCHANGED)
    assert picture.shape == (2 * H, 2 * W, 3) and overlay.shape == (2 * H, 2 * W, 4)
    expected = (big[0].numpy() * 255 + 0.5).astype("uint8")[..., ::-1]
    assert abs(picture.astype(int) - expected.astype(int)).max() <= 1
    assert torch.equal(torch.from_numpy(overlay[..., 3] > 127), used[0] > 0.5)
    again = MaskHints().run(big, "[[140, 100, 160, 104]]", 0.0, mask=torch.ones(1, 2 * H, 2 * W), mask_strokes=stroke)
    assert again["ui"]["cinemagraph_editor"][0]["mask_source"] == "input"
    assert len(list(tmp_path.iterdir())) == 3, "same picture -> same file (named by content)"
