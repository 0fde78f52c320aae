"""Static checks of the shipped UI-format workflows, without ComfyUI.

Every node type must exist in this pack or in ComfyUI core (tests/data/comfy_core_nodes.json, dumped
from a real ComfyUI's /object_info), every link must join an output and an input of the same type,
widget values must fit their inputs, and (when ../shared/tools/comfy_run.py is there) the workflow
must convert to an API prompt that names every required input.
"""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

import nodes

REPO = Path(__file__).resolve().parents[1]
WORKFLOWS = sorted((REPO / "workflows").glob("*.json"))
CORE = json.loads((REPO / "tests" / "data" / "comfy_core_nodes.json").read_text())
FRONTEND_ONLY = {"Note", "MarkdownNote", "Reroute"}
WIDGET_TYPES = {"INT", "FLOAT", "STRING", "BOOLEAN", "COMBO"}
COMFY_RUN = REPO.parent / "shared" / "tools" / "comfy_run.py"
NO_MODEL_FILES = ("cinemagraph_oneclick.json", "cinemagraph_stages.json", "cinemagraph_external_depth.json",
                  "cinemagraph_zero_click.json")
WEIGHT_FREE_OR_AUTO = {"auto", "prior", "hints", "rgba", "blend", "classical", "none", "weight-free"}


def pack_object_info() -> dict:
    """/object_info entries for this pack's nodes, built from the classes as ComfyUI does."""
    info = {}
    for name, cls in nodes.NODE_CLASS_MAPPINGS.items():
        spec = cls.INPUT_TYPES()
        info[name] = {"input": {sec: {k: list(v) for k, v in entries.items()} for sec, entries in spec.items()},
                      "input_order": {sec: list(entries) for sec, entries in spec.items()},
                      "output": list(cls.RETURN_TYPES), "output_name": list(cls.RETURN_NAMES), "name": name,
                      "display_name": nodes.NODE_DISPLAY_NAME_MAPPINGS[name], "category": cls.CATEGORY,
                      "output_node": False}
    return info


OBJECT_INFO = {**CORE["object_info"], **pack_object_info()}


def input_spec(ntype: str, name: str):
    for section in ("required", "optional"):
        entry = OBJECT_INFO[ntype]["input"].get(section, {}).get(name)
        if entry is not None:
            return entry
    return None


def kind_of(entry) -> str:
    return "COMBO" if isinstance(entry[0], list) or entry[0] == "COMBO" else entry[0]


def load(path: Path) -> dict:
    wf = json.loads(path.read_text())
    assert isinstance(wf.get("nodes"), list) and isinstance(wf.get("links"), list), f"{path.name}: not UI format"
    return wf


def executable(wf: dict) -> list[dict]:
    return [n for n in wf["nodes"] if n["type"] not in FRONTEND_ONLY]


def api_prompt(wf: dict) -> dict:
    spec = importlib.util.spec_from_file_location("comfy_run", COMFY_RUN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    api, _ui, warnings = module.to_api_prompt(wf, OBJECT_INFO)
    assert not warnings, warnings
    return api


def test_all_workflows_are_shipped():
    names = {p.name for p in WORKFLOWS}
    assert set(NO_MODEL_FILES) | {"cinemagraph_txt2img.json"} <= names
    readme = (REPO / "workflows" / "README.md").read_text()
    for name in names:
        assert name in readme, f"workflows/README.md does not describe {name}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_node_types_exist(path):
    for node in load(path)["nodes"]:
        assert node["type"] in OBJECT_INFO or node["type"] in FRONTEND_ONLY, f"{path.name}: unknown {node['type']}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_links_join_matching_types(path):
    wf = load(path)
    by_id = {n["id"]: n for n in wf["nodes"]}
    ids = [link[0] for link in wf["links"]]
    assert len(ids) == len(set(ids)) and wf["last_link_id"] >= max(ids) and wf["last_node_id"] >= max(by_id)
    for lid, origin, oslot, target, tslot, ltype in wf["links"]:
        src, dst = by_id[origin], by_id[target]
        out = src["outputs"][oslot]
        assert out["type"] == ltype and lid in out["links"], f"{path.name}: link {lid} source slot"
        assert OBJECT_INFO[src["type"]]["output"][oslot] == ltype, f"{path.name}: link {lid} from {src['type']}"
        inp = dst["inputs"][tslot]
        assert inp["link"] == lid and inp["type"] == ltype, f"{path.name}: link {lid} target slot"
        name = inp.get("widget", {}).get("name", inp["name"])
        entry = input_spec(dst["type"], name)
        assert entry is not None, f"{path.name}: {dst['type']} has no input {name}"
        assert kind_of(entry) == ltype, f"{path.name}: link {lid} {ltype} into {dst['type']}.{name} ({entry[0]})"
    linked = {(inp["link"]) for n in wf["nodes"] for inp in n.get("inputs", []) if inp.get("link") is not None}
    assert linked == set(ids), f"{path.name}: inputs name links that do not exist"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_widget_values_fit_their_inputs(path):
    if not COMFY_RUN.is_file():
        pytest.skip(f"{COMFY_RUN} not found (it lives in the shared folder beside the repository)")
    wf = load(path)
    api = api_prompt(wf)
    assert {v["class_type"] for v in api.values()} == {n["type"] for n in executable(wf)}
    assert any(OBJECT_INFO[v["class_type"]]["output_node"] for v in api.values()), f"{path.name}: no output node"
    for node_id, node in api.items():
        info = OBJECT_INFO[node["class_type"]]
        for name in info["input"].get("required", {}):
            assert name in node["inputs"], f"{path.name}: node {node_id} ({node['class_type']}) lacks {name}"
        for name, value in node["inputs"].items():
            entry = input_spec(node["class_type"], name)
            assert entry is not None, f"{path.name}: {node['class_type']} has no input {name}"
            if isinstance(value, list):
                continue
            opts = entry[1] if len(entry) > 1 else {}
            kind = kind_of(entry)
            if kind == "COMBO":
                options = entry[0] if isinstance(entry[0], list) else opts.get("options", [])
                if options and not opts.get("image_upload") and node["class_type"] != "CheckpointLoaderSimple":
                    assert value in options, f"{path.name}: {node['class_type']}.{name} = {value!r} not in {options}"
            elif kind in ("INT", "FLOAT"):
                assert isinstance(value, (int, float)) and not isinstance(value, bool)
                assert opts.get("min", value) <= value <= opts.get("max", value), f"{node['class_type']}.{name}"
            elif kind in ("STRING", "BOOLEAN"):
                assert isinstance(value, str if kind == "STRING" else bool), f"{node['class_type']}.{name}"


@pytest.mark.parametrize("name", NO_MODEL_FILES)
def test_cpu_workflows_need_no_model_files(name):
    wf = load(REPO / "workflows" / name)
    inputs = {p.name for p in (REPO / "workflows" / "inputs").iterdir()} | {"example.png"}
    for node in executable(wf):
        assert not node["type"].startswith("CheckpointLoader"), name
        if node["type"] in nodes.NODE_CLASS_MAPPINGS:
            spec = node["type"]
            for key in ("model", "features", "decoder", "inpainter", "models"):
                entry = input_spec(spec, key)
                if entry is not None and isinstance(entry[0], list):
                    value = widget_value(node, key)
                    assert value in WEIGHT_FREE_OR_AUTO, f"{name}: {spec}.{key} = {value}"
        if node["type"] == "LoadImage":
            assert node["widgets_values"][0] in inputs, f"{name}: input file {node['widgets_values'][0]} not shipped"


def widget_index(node: dict, key: str) -> int:
    """Position of widget ``key`` of a pack node in its widgets_values (they follow the INPUT_TYPES order)."""
    spec = nodes.NODE_CLASS_MAPPINGS[node["type"]].INPUT_TYPES()
    names = [k for sec in ("required", "optional") for k, v in spec.get(sec, {}).items()
             if isinstance(v[0], list) or v[0] in WIDGET_TYPES]
    return names.index(key)


def widget_value(node: dict, key: str):
    """Value of widget ``key`` of a pack node."""
    return node["widgets_values"][widget_index(node, key)]


def downstream(wf: dict, start: int) -> set[str]:
    """Types of the nodes that re-run when node ``start`` changes (itself and everything fed by it)."""
    edges = {}
    for _lid, origin, _os, target, _ts, _t in wf["links"]:
        edges.setdefault(origin, set()).add(target)
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    types = {n["id"]: n["type"] for n in wf["nodes"]}
    return {types[i] for i in seen}


def test_camera_and_frame_count_rerun_only_the_render():
    """In the stage workflow a new camera or frame count re-runs rendering only (ComfyUI caches the rest)."""
    wf = load(REPO / "workflows" / "cinemagraph_stages.json")
    ids = {n["type"]: n["id"] for n in wf["nodes"]}
    c = "Cinemagraph"
    render_only = {c + "SplatRender", c + "Decode", "CreateVideo", "SaveVideo", "SaveAnimatedWEBP"}
    assert downstream(wf, ids[c + "CameraPath"]) - render_only == {c + "CameraPath"}
    assert downstream(wf, ids[c + "SymmetricAnimate"]) - render_only == {c + "SymmetricAnimate"}
    upstream = {c + "DepthDPT", c + "LDIBuild", c + "EulerianMotion"}
    assert upstream.isdisjoint(downstream(wf, ids[c + "SymmetricAnimate"]))


def test_zero_click_workflow_draws_nothing():
    """Load Image -> the one node with no arrows, no mask and auto on: the motion is proposed from the picture."""
    wf = load(REPO / "workflows" / "cinemagraph_zero_click.json")
    node = next(n for n in executable(wf) if n["type"] == "Cinemagraph3D")
    assert widget_value(node, "hints") == "" and widget_value(node, "auto") is True
    assert {i["name"] for i in node["inputs"] if i["link"] is not None} == {"image"}
    assert {n["type"] for n in executable(wf)} == {"LoadImage", "Cinemagraph3D", "CreateVideo", "SaveVideo"}


def test_txt2img_workflow_names_its_checkpoint():
    wf = load(REPO / "workflows" / "cinemagraph_txt2img.json")
    ckpt = next(n for n in wf["nodes"] if n["type"] == "CheckpointLoaderSimple")["widgets_values"][0]
    readme = (REPO / "workflows" / "README.md").read_text()
    assert re.search(re.escape(ckpt), readme), "the README must say which SD checkpoint workflow 3 needs"


TITLE_HEIGHT = 30
"""px of a node's title bar, drawn above its saved position."""


def editor_size() -> tuple[int, int]:
    """The size the MaskHints editor gives its node at least (NODE_SIZE in web/cinemagraph_editor.js)."""
    found = re.search(r"const NODE_SIZE = \[(\d+), (\d+)\]", (REPO / "web" / "cinemagraph_editor.js").read_text())
    return int(found.group(1)), int(found.group(2))


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_node_covers_another(path):
    """At their saved sizes, title bars included (MaskHints at least as large as its editor makes it),
    no two nodes overlap on the canvas."""
    wf = load(path)
    boxes = []
    for n in wf["nodes"]:
        (x, y), (w, h) = n["pos"], n["size"]
        if n["type"] in ("CinemagraphMaskHints", "MaskHints"):
            w, h = max(w, editor_size()[0]), max(h, editor_size()[1])
        boxes.append((n["id"], n["type"], x, y - TITLE_HEIGHT, x + w, y + h))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            overlap = a[2] < b[4] and b[2] < a[4] and a[3] < b[5] and b[3] < a[5]
            assert not overlap, f"{path.name}: {a[:2]} covers {b[:2]}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_arrows_lie_inside_their_picture(path):
    """Every arrow (start and end) of a pack node lies inside the picture its image input loads."""
    from PIL import Image

    from cinemagraph_core.motion.hints import parse_arrows

    wf = load(path)
    by_id = {n["id"]: n for n in wf["nodes"]}
    origin = {link[0]: link[1] for link in wf["links"]}
    for node in executable(wf):
        entry = input_spec(node["type"], "hints") if node["type"] in nodes.NODE_CLASS_MAPPINGS else None
        if entry is None or kind_of(entry) != "STRING":
            continue
        text = widget_value(node, "hints")
        if not text.strip() or text.lstrip().startswith("{"):
            continue  # nothing drawn, or labelme (its own imageWidth x imageHeight, checked by its parser)
        link = next(i["link"] for i in node["inputs"] if i["name"] == "image")
        source = by_id[origin[link]]
        assert source["type"] == "LoadImage", f"{path.name}: arrows drawn on a picture no file gives"
        w, h = Image.open(REPO / "workflows" / "inputs" / source["widgets_values"][0]).size
        for x0, y0, x1, y1 in parse_arrows(text):
            assert 0 <= min(x0, x1) and max(x0, x1) < w and 0 <= min(y0, y1) and max(y0, y1) < h, \
                f"{path.name}: arrow {(x0, y0, x1, y1)} leaves the {w}x{h} picture"
