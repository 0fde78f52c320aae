"""The batch command: bad items fail with their reason and never stop the good ones, a stopped run
resumes without redoing finished items and leaves no partial file, every engine makes the same bytes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cinemagraph_core.batch import REPORT_NAME, BatchOptions, run_batch
from cinemagraph_core.batch.engines import LocalEngine
from cinemagraph_core.batch.items import BatchItem, list_items
from cinemagraph_core.batch.work import RunOptions, WorkOrder, WorkResult
from cinemagraph_core.cli import main
from cinemagraph_core.demo_scene import make_demo_scene
from cinemagraph_core.errors import Interrupted
from cinemagraph_core.video import read_video

REPO = Path(__file__).resolve().parents[1]
SIZE = 64
FAST = ["--frames", "2", "--size", str(SIZE), "-q"]


def _scene_files(folder: Path, name: str, scene) -> None:
    """NAME.png, NAME.mask.png and NAME.hints.json of the demo scene."""
    Image.fromarray((scene.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(folder / f"{name}.png")
    Image.fromarray((scene.mask.numpy() * 255).astype(np.uint8)).save(folder / f"{name}.mask.png")
    (folder / f"{name}.hints.json").write_text(json.dumps([list(a) for a in scene.arrows]))


def _labelme(scene) -> dict:
    h, w = scene.mask.shape
    shapes = [{"label": f"hint{i}", "shape_type": "line", "points": [[x0, y0], [x1, y1]]}
              for i, (x0, y0, x1, y1) in enumerate(scene.arrows)]
    shapes.append({"label": "water", "shape_type": "rectangle", "points": [[0, h // 2], [w - 1, h - 1]]})
    return {"shapes": shapes, "imageHeight": h, "imageWidth": w}


def _depth_png(path: Path, scene) -> None:
    disp = 1.0 / scene.depth.depth
    disp = (disp - disp.min()) / (disp.max() - disp.min())
    Image.fromarray((disp.numpy() * 65535).astype(np.uint16)).save(path)


@pytest.fixture(scope="module")
def scene():
    return make_demo_scene(SIZE)


@pytest.fixture
def folder(tmp_path, scene):
    """5 good items (hints; labelme; hints + depth; a second image; nothing drawn: motion proposed) and 4 bad
    ones: a corrupt image, an unreadable sidecar, a duplicate name, a blank image without arrows."""
    d = tmp_path / "images"
    d.mkdir()
    for name in ("river", "lake", "pond", "sea"):
        _scene_files(d, name, scene)
    (d / "lake.hints.json").unlink()
    (d / "lake.json").write_text(json.dumps(_labelme(scene)))
    _depth_png(d / "pond.depth.png", scene)
    (d / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not an image")
    _scene_files(d, "badside", scene)
    (d / "badside.hints.json").write_text("[[10, 20, 30")
    (d / "river.webp").write_bytes((d / "river.png").read_bytes())
    (d / "proposed.png").write_bytes((d / "river.png").read_bytes())
    Image.new("RGB", (SIZE, SIZE), (128, 128, 128)).save(d / "nohints.png")
    return d


def _report(out: Path) -> tuple[dict, dict]:
    lines = [json.loads(line) for line in (out / REPORT_NAME).read_text().splitlines()]
    assert "summary" in lines[-1] and all("summary" not in r for r in lines[:-1])
    return {r["item"]: r for r in lines[:-1]}, lines[-1]["summary"]


def _stamps(out: Path) -> dict:
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.glob("*.mp4")}


def test_good_items_are_done_bad_ones_fail_with_their_reason_and_a_rerun_redoes_nothing(tmp_path, folder, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "sea.mp4").write_bytes(b"precious: not made by a batch")
    assert main(["batch", str(folder), "--out", str(out), "--workers", "1", *FAST]) == 1
    records, summary = _report(out)
    assert {k: r["status"] for k, r in records.items()} == {
        "river.png": "done", "lake.png": "done", "pond.png": "done", "river.webp": "failed", "sea.png": "failed",
        "corrupt.png": "failed", "badside.png": "failed", "nohints.png": "failed",
        "proposed.png": "done"}
    reasons = {k: r["reason"] for k, r in records.items()}
    assert "cannot read" in reasons["corrupt.png"] and "corrupt.png" in reasons["corrupt.png"]
    assert "badside.hints.json" in reasons["badside.png"] and "JSON" in reasons["badside.png"]
    assert "duplicate name" in reasons["river.webp"] and "river.png" in reasons["river.webp"]
    assert "nothing to animate" in reasons["nohints.png"] and "draw the motion yourself" in reasons["nohints.png"]
    assert records["proposed.png"]["stages"]["motion"] == "proposed"
    assert "exists" in reasons["sea.png"] and records["sea.png"]["output"] is None
    assert (out / "sea.mp4").read_bytes() == b"precious: not made by a batch"
    assert records["lake.png"]["stages"]["motion"] == "hints"
    assert records["pond.png"]["stages"]["depth"] != records["river.png"]["stages"]["depth"]
    assert summary["done"] == 4 and summary["failed"] == 5 and summary["skipped"] == 0 and not summary["interrupted"]
    for name in ("river", "lake", "pond"):
        video = read_video(out / f"{name}.mp4")
        assert video.shape[0] == 2 and max(video.shape[1:3]) <= SIZE
        assert records[f"{name}.png"]["frames"] == 2 and len(records[f"{name}.png"]["input_digest"]) == 64
    assert sorted(p.name for p in out.iterdir()) == ["batch_report.jsonl", "lake.mp4", "pond.mp4", "proposed.mp4",
                                                    "river.mp4", "sea.mp4"]
    assert "4 done, 5 failed" in capsys.readouterr().out

    stamps = _stamps(out)
    (folder / "nohints.png").unlink()
    (folder / "pond.hints.json").write_text(json.dumps([[10, 40, 20, 44]]))
    assert main(["batch", str(folder), "--out", str(out), "--workers", "1", *FAST]) == 1
    records, summary = _report(out)
    assert summary["done"] == 1 and summary["skipped"] == 3 and "nohints.png" not in records
    assert records["pond.png"]["status"] == "done", "changed inputs must make the item again"
    assert {k: v for k, v in _stamps(out).items() if k != "pond.mp4"} == {k: v for k, v in stamps.items()
                                                                          if k != "pond.mp4"}
    assert _stamps(out)["pond.mp4"] != stamps["pond.mp4"]


def test_a_stopped_run_leaves_no_partial_file_and_the_rerun_finishes_only_the_rest(tmp_path, folder):
    for bad in ("corrupt.png", "badside.png", "badside.hints.json", "river.webp", "nohints.png", "proposed.png"):
        (folder / bad).unlink()
    out = tmp_path / "out"
    options = BatchOptions(out=out, settings={"frames": 4, "size": SIZE}, workers=2)

    def stop_after_first(done: int, total: int) -> None:
        if done == 1:
            os.kill(os.getpid(), signal.SIGTERM)  # what `kill` or a scheduler sends

    summary = run_batch(folder, options, progress=stop_after_first)
    assert summary.interrupted and summary.done >= 1 and summary.not_run >= 1
    assert summary.done + summary.not_run == 4 and summary.failed == 0
    records, _ = _report(out)
    finished = {p.name for p in out.glob("*.mp4")}
    assert {r["output"] for r in records.values()} == finished
    assert all(r["status"] == "done" for r in records.values())
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    stamps = _stamps(out)

    def refuse_to_stop(done: int, total: int) -> None:
        if done == total:
            raise Interrupted("too late: every item is finished")

    summary = run_batch(folder, replace(options, workers=1), progress=refuse_to_stop)
    assert not summary.interrupted, "a stop after the last item interrupts nothing"
    assert summary.done == 4 - len(finished) and summary.skipped == len(finished) and summary.not_run == 0
    assert {k: v for k, v in _stamps(out).items() if k in stamps} == stamps, "finished items were made again"
    assert len(list(out.glob("*.mp4"))) == 4
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []


def _manifest(tmp_path: Path, scene) -> Path:
    d = tmp_path / "inputs"
    d.mkdir()
    for name in ("river", "pond"):
        _scene_files(d, name, scene)
    _depth_png(d / "pond.depth.png", scene)
    lines = [
        {"image": "river.png", "mask": "river.mask.png", "hints": [list(a) for a in scene.arrows], "frames": 3},
        {"image": str(d / "river.png"), "labelme": _labelme(scene), "camera": "swing", "out": "lake"},
        {"image": "pond.png", "hints": "pond.hints.json", "depth": "pond.depth.png", "size": 48,
         "depth-kind": "disparity"},
    ]
    path = d / "list.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n")
    return path


def _ray_or_skip():
    try:
        import ray  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("ray is not installed: .ci/run installs requirements-distributed.txt")
        pytest.skip("ray is not installed (pip install -r requirements-distributed.txt)")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, scene):
    """A manifest of 3 items with their own settings, made with --workers 1."""
    tmp = tmp_path_factory.mktemp("engines")
    manifest = _manifest(tmp, scene)
    assert main(["batch", str(manifest), "--out", str(tmp / "workers1"), "--workers", "1", *FAST]) == 0
    return manifest, tmp / "workers1"


def test_a_manifest_gives_each_item_its_files_and_settings(reference):
    _, out = reference
    assert sorted(p.name for p in out.glob("*.mp4")) == ["lake.mp4", "pond.mp4", "river.mp4"]
    assert read_video(out / "river.mp4").shape[0] == 3 and read_video(out / "lake.mp4").shape[0] == 2
    assert max(read_video(out / "pond.mp4").shape[1:3]) <= 48 < max(read_video(out / "lake.mp4").shape[1:3])
    records, summary = _report(out)
    assert records["list.jsonl:2"]["output"] == "lake.mp4" and summary["done"] == 3
    assert records["list.jsonl:3"]["stages"]["depth"] == "external-disparity"


@pytest.mark.parametrize("engine", ["workers2", "ray"])
def test_every_engine_makes_the_same_bytes_as_one_worker(tmp_path, reference, engine):
    manifest, reference_out = reference
    if engine == "ray":
        _ray_or_skip()
    args = {"workers2": ["--workers", "2"], "ray": ["--ray", "local", "--ray-cpus", "2"]}[engine]
    out = tmp_path / engine
    assert main(["batch", str(manifest), "--out", str(out), *args, *FAST]) == 0
    videos = {p.name: p.read_bytes() for p in out.glob("*.mp4")}
    assert videos == {p.name: p.read_bytes() for p in reference_out.glob("*.mp4")}


def test_manifest_problems_are_reported_per_line(tmp_path, scene):
    d = tmp_path / "m"
    d.mkdir()
    _scene_files(d, "river", scene)
    lines = ['{"image": "river.png", "hints": "river.hints.json"}', "not json", '{"mask": "river.mask.png"}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "frames": "many"}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "wobble": 1}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "out": "../escape"}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "labelme": "x.json"}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "camera": "nowhere.json"}',
             '{"image": "river.png", "hints": [[1, 2, 3, 4]], "out": "RIVER.mp4"}']
    (d / "list.jsonl").write_text("\n".join(lines))
    items = list_items(d / "list.jsonl", {"frames": 2}, ".mp4")
    errors = {i.source.split(":")[1]: i.error for i in items}
    assert errors["1"] is None and items[0].output == "river.mp4" and items[0].settings["frames"] == 2
    for line, message in {"2": "not a JSON line", "3": '"image"', "4": "'frames' must be int",
                          "5": "unknown setting 'wobble'", "6": '"out" must be a file name',
                          "7": "not both", "8": "camera keyframe file not found",
                          "9": "duplicate name"}.items():
        assert errors[line] is not None and message in errors[line], (line, errors[line])


def test_a_worker_that_dies_is_retried_then_reported_and_the_others_go_on(tmp_path):
    orders = [WorkOrder(BatchItem(name, name + ".mp4"), tmp_path / name, RunOptions()) for name in ("a", "boom", "b")]
    results = {r.item: r for r in LocalEngine(workers=1, retries=1).run(_die_on_boom, orders)}
    assert results["a"].ok and results["b"].ok
    assert not results["boom"].ok and "died 2 time(s)" in results["boom"].reason


def _die_on_boom(order: WorkOrder) -> WorkResult:
    if order.item.source == "boom":
        os._exit(9)
    return WorkResult(order.item.source, True)


def test_ray_is_optional(tmp_path, folder, monkeypatch, capsys):
    code = ("import sys; sys.modules['ray'] = None; import cinemagraph_core.batch, cinemagraph_core.cli, nodes; "
            "print('imported')")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.stdout.strip() == "imported", done.stderr
    monkeypatch.setitem(sys.modules, "ray", None)
    assert main(["batch", str(folder), "--out", str(tmp_path / "out"), "--ray", "local", *FAST]) == 2
    assert "pip install -r requirements-distributed.txt" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, message", [
    (["--out", "{folder}"], "another folder"),
    (["--workers", "0"], "--workers must be at least 1"),
    (["--camera", "spiral"], "spiral"),
])
def test_usage_errors_stop_before_any_work(tmp_path, folder, capsys, args, message):
    args = [a.format(folder=folder) for a in args]
    out = [] if "--out" in args else ["--out", str(tmp_path / "out")]
    assert main(["batch", str(folder), *out, *args, *FAST]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists() and not (folder / REPORT_NAME).exists()
