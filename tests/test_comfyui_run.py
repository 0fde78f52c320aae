"""The shipped workflows, and one saved with the node IDs of the first releases, run in a real ComfyUI.

Needs a ComfyUI install (``../shared/tools/install_comfyui.sh``): set ``COMFY_HOME`` to the folder
holding ``ComfyUI/`` and ``venv/``. Each run starts a CPU-only server through
``../shared/tools/comfy_run.py`` with this pack linked in, with the frame count lowered to keep it
short. Marked slow (``--runslow``) and skipped without ``COMFY_HOME``.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nodes
from test_workflows import executable, load, widget_index

REPO = Path(__file__).resolve().parents[1]
RUNNER = Path(os.environ.get("COMFY_RUN", REPO.parent / "shared" / "tools" / "comfy_run.py"))
HOME = os.environ.get("COMFY_HOME")
FRAMES = 3
NO_MODEL_FILES = ("cinemagraph_oneclick.json", "cinemagraph_stages.json", "cinemagraph_external_depth.json",
                  "cinemagraph_zero_click.json")

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not HOME or not RUNNER.is_file(), reason="set COMFY_HOME to a ComfyUI install "
                                 "(../shared/tools/install_comfyui.sh) and keep ../shared/tools/comfy_run.py")]


def short(wf: dict) -> dict:
    """``wf`` with every pack node's ``frames`` widget set to FRAMES."""
    for node in executable(wf):
        cls = nodes.NODE_CLASS_MAPPINGS.get(node["type"])
        if cls is not None and cls.INPUT_TYPES()["required"].get("frames", ("",))[0] == "INT":
            node["widgets_values"][widget_index(node, "frames")] = FRAMES
    return wf


def old_ids(wf: dict) -> dict:
    """``wf`` as the first releases saved it: the node IDs without the pack prefix."""
    current = {new: old for old, new in nodes.LEGACY_IDS.items()}
    for node in wf["nodes"]:
        node["type"] = current.get(node["type"], node["type"])
        if "Node name for S&R" in node.get("properties", {}):
            node["properties"]["Node name for S&R"] = node["type"]
    return wf


def run(wf: dict, tmp_path: Path) -> dict:
    path = tmp_path / "workflow.json"
    path.write_text(json.dumps(wf))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, str(RUNNER), "--comfy", str(Path(HOME) / "ComfyUI"), "--python",
                           str(Path(HOME) / "venv" / "bin" / "python"), "--nodes", str(REPO), "--workflow", str(path),
                           "--inputs", str(REPO / "workflows" / "inputs"), "--out", str(out), "--timeout", "900"],
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads((out / "summary.json").read_text())


@pytest.mark.parametrize("name", NO_MODEL_FILES)
def test_shipped_workflow_runs(name, tmp_path):
    summary = run(short(load(REPO / "workflows" / name)), tmp_path)
    assert any(Path(f).suffix in (".mp4", ".webp") for f in json.dumps(summary).split('"')), summary


def test_a_workflow_saved_with_the_old_ids_still_runs(tmp_path):
    wf = old_ids(short(load(REPO / "workflows" / "cinemagraph_stages.json")))
    assert {"MaskHints", "DepthDPT", "Decode"} <= {n["type"] for n in wf["nodes"]}
    summary = run(wf, tmp_path)
    assert any(Path(f).suffix == ".mp4" for f in json.dumps(summary).split('"')), summary
