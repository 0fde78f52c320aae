"""The command line: demo and render write videos and frames; bad input ends in a clear error, exit 2."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from cinemagraph_core.cli import main
from cinemagraph_core.demo_scene import make_demo_scene
from cinemagraph_core.video import read_video

FAST = ["--frames", "4", "--size", "96", "-q"]


@pytest.fixture(scope="module")
def scene_files(tmp_path_factory):
    """An image, a disparity PNG, a mask PNG and arrows JSON made from the demo scene."""
    d = tmp_path_factory.mktemp("scene")
    scene = make_demo_scene(96)
    Image.fromarray((scene.image.permute(1, 2, 0).numpy() * 255).astype(np.uint8)).save(d / "image.png")
    disp = 1.0 / scene.depth.depth
    disp = (disp - disp.min()) / (disp.max() - disp.min())
    Image.fromarray((disp.numpy() * 65535).astype(np.uint16)).save(d / "depth.png")
    Image.fromarray((scene.mask.numpy() * 255).astype(np.uint8)).save(d / "mask.png")
    (d / "arrows.json").write_text(json.dumps([list(a) for a in scene.arrows]))
    return d, scene


@pytest.mark.parametrize("scene", ["photo", "procedural"])
def test_demo_writes_a_video_and_frames_without_empty_pixels(tmp_path, caplog, scene):
    out, frames = tmp_path / "demo.mp4", tmp_path / "frames"
    with caplog.at_level("INFO", logger="cinemagraph"):
        assert main(["demo", "--scene", scene, "--out", str(out), "--frames-dir", str(frames), *FAST]) == 0
    video = read_video(out)
    assert video.shape[0] == 4 and video.shape[3] == 3
    pngs = sorted(frames.glob("frame_*.png"))
    assert len(pngs) == 4
    for p in pngs:
        img = np.asarray(Image.open(p))
        assert img.max(axis=2).min() > 0, f"{p.name} has black pixels"
    motion = "motion=proposed" if scene == "photo" else "motion=hints"
    assert motion in caplog.text


@pytest.fixture(scope="module")
def photo_file(tmp_path_factory):
    """scikit-learn's china.jpg at 240x160 as a PNG."""
    from cinemagraph_core.demo_scene import demo_photo

    path = tmp_path_factory.mktemp("photo") / "photo.png"
    small = torch.nn.functional.interpolate(demo_photo()[None], size=(160, 240), mode="area")[0]
    Image.fromarray((small.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)).save(path)
    return path


def test_propose_motion_output_renders(tmp_path, photo_file, capsys, caplog):
    """propose-motion writes the mask and arrows render reads; with neither, render proposes the same."""
    mask, hints, picture = tmp_path / "mask.png", tmp_path / "hints.json", tmp_path / "proposal.png"
    assert main(["propose-motion", str(photo_file), "--mask-out", str(mask), "--hints-out", str(hints),
                 "--picture-out", str(picture)]) == 0
    printed = capsys.readouterr().out
    assert "clouds" in printed and "proposed clouds" in printed
    arrows = json.loads(hints.read_text())
    assert arrows and all(len(a) == 4 for a in arrows)
    m = np.asarray(Image.open(mask))
    assert m.shape == (160, 240) and set(np.unique(m)) == {0, 255} and 0.2 < (m > 0).mean() < 0.7
    assert Image.open(picture).size == (240, 160)
    out = tmp_path / "drawn.mp4"
    assert main(["render", str(photo_file), "--out", str(out), "--mask", str(mask), "--hints", str(hints), *FAST]) == 0
    with caplog.at_level("INFO", logger="cinemagraph"):
        assert main(["render", str(photo_file), "--out", str(tmp_path / "auto.mp4"), *FAST]) == 0
    assert "motion=proposed" in caplog.text
    assert read_video(out).shape == read_video(tmp_path / "auto.mp4").shape


def test_nothing_to_animate_exits_2_instead_of_a_still(tmp_path, capsys):
    flat = tmp_path / "flat.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 120, dtype=np.uint8)[None, :, None], (80, 1, 3))).save(flat)
    assert main(["propose-motion", str(flat), "--mask-out", str(tmp_path / "m.png")]) == 2
    assert "nothing to animate" in capsys.readouterr().err and not (tmp_path / "m.png").exists()
    out = tmp_path / "still.mp4"
    assert main(["render", str(flat), "--out", str(out), *FAST]) == 2
    assert "nothing to animate" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("suffix", [".gif", ".webp"])
def test_render_from_files_in_every_format(tmp_path, scene_files, suffix):
    d, scene = scene_files
    out = tmp_path / f"out{suffix}"
    code = main(["render", str(d / "image.png"), "--out", str(out), "--depth", str(d / "depth.png"),
                 "--mask", str(d / "mask.png"), "--hints", str(d / "arrows.json"), "--camera", "swing",
                 "--crop", "8", *FAST])
    assert code == 0
    video = read_video(out)
    h, w = scene.mask.shape
    assert video.shape == (4, h - 16, w - 16, 3)


def test_a_mask_painted_in_the_editor_is_read_from_its_json(tmp_path, scene_files, capsys):
    """--mask takes MaskHints' mask_strokes JSON too (drawn on a 2x copy: scaled), rasterised as the node does."""
    from cinemagraph_core.job import JobInputs, load_job
    from cinemagraph_core.settings import config_from_settings

    d, scene = scene_files
    h, w = scene.mask.shape
    strokes = tmp_path / "strokes.json"
    strokes.write_text(json.dumps({"width": 2 * w, "height": 2 * h, "strokes": [], "polygons": [
        [[0, h], [2 * w - 1, h], [2 * w - 1, 2 * h - 1], [0, 2 * h - 1]]]}))
    job = load_job(JobInputs(image=d / "image.png", mask=strokes, hints=d / "arrows.json"),
                   config_from_settings({"size": max(h, w)}))
    rows = job.hints.mask.sum(dim=1)
    assert float(rows[: h // 2 - 1].sum()) == 0.0 and bool((rows[h // 2 + 1:] == w).all())
    out = tmp_path / "painted.mp4"
    assert main(["render", str(d / "image.png"), "--out", str(out), "--mask", str(strokes), "--hints",
                 str(d / "arrows.json"), *FAST]) == 0
    strokes.write_text('{"width": 10, "height": 10, "strokes": [{"mode": "paint"}]}')
    assert main(["render", str(d / "image.png"), "--out", str(out), "--mask", str(strokes), *FAST]) == 2
    assert "strokes.json" in capsys.readouterr().err


def test_render_an_official_demo_folder(tmp_path, scene_files):
    d, scene = scene_files
    folder = tmp_path / "demo0"
    (folder / "image_json").mkdir(parents=True)
    (folder / "image.png").write_bytes((d / "image.png").read_bytes())
    (folder / "image_json" / "mask.png").write_bytes((d / "mask.png").read_bytes())
    h, w = scene.mask.shape
    shapes = [{"label": f"hint{i}", "shape_type": "line", "points": [[x0, y0], [x1, y1]]}
              for i, (x0, y0, x1, y1) in enumerate(scene.arrows)]
    (folder / "image.json").write_text(json.dumps({"shapes": shapes, "imageHeight": h, "imageWidth": w}))
    out = tmp_path / "folder.mp4"
    assert main(["render", str(folder), "--out", str(out), "--depth", str(d / "depth.png"), *FAST]) == 0
    assert read_video(out).shape[0] == 4


@pytest.mark.parametrize("args, message", [
    (["render", "missing.png"], "not found|No such|missing"),
    (["render", "{image}", "--hints", "[[1, 2, 3"], "JSON|json"),
    (["render", "{image}", "--hints", "[[1, 2, 3, 4]]", "--camera", "spiral"], "spiral"),
    (["render", "{image}", "--hints", "[[-50, 2, 3, 4]]"], "outside|image"),
    (["render", "{image}", "--hints", "[]"], "arrow|motion"),
    (["demo", "--frames", "0"], "num_frames|frames"),
])
def test_bad_input_exits_2_with_a_clear_message(tmp_path, scene_files, capsys, args, message):
    d, _ = scene_files
    args = [a.format(image=d / "image.png") for a in args]
    out = tmp_path / "never.mp4"
    extra = [] if "--frames" in args else ["--frames", "2"]
    assert main([*args, "--out", str(out), "--size", "96", "-q", *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and __import__("re").search(message, err), err
    assert not out.exists()


@pytest.fixture
def nothing_loads(monkeypatch):
    """Loading an image, a model folder or the demo scene fails the test."""
    from cinemagraph_core import demo_scene, image_io, model_files

    def refuse(*args, **kwargs):
        raise AssertionError("loaded something before checking the output")

    for module, name in ((image_io, "load_image"), (model_files, "load_models"), (demo_scene, "make_demo_scene")):
        monkeypatch.setattr(module, name, refuse)


@pytest.mark.parametrize("command", ["demo", "render"])
def test_unknown_video_suffix_is_refused_before_any_work(tmp_path, scene_files, capsys, nothing_loads, command):
    d, _ = scene_files
    source = [str(d / "image.png"), "--hints", str(d / "arrows.json")] if command == "render" else []
    assert main([command, *source, "--out", str(tmp_path / "x.avi"), "--models", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert "unknown video format '.avi'" in err and ".mp4" in err


@pytest.mark.parametrize("where", ["out", "frames-dir"])
def test_an_output_folder_that_cannot_be_written_is_refused_before_any_work(tmp_path, scene_files, capsys,
                                                                             nothing_loads, where):
    d, _ = scene_files
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    out = blocker / "x.mp4" if where == "out" else tmp_path / "x.mp4"
    frames = ["--frames-dir", str(blocker / "frames")] if where == "frames-dir" else []
    assert main(["render", str(d / "image.png"), "--hints", str(d / "arrows.json"), "--out", str(out), *frames,
                 "--models", str(tmp_path), *FAST]) == 2
    err = capsys.readouterr().err
    assert f"cannot write into the output folder {blocker}" in err
    assert not out.exists() and list(tmp_path.iterdir()) == [blocker]


def test_a_failed_run_keeps_the_existing_output(tmp_path, scene_files):
    d, _ = scene_files
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"precious")
    assert main(["render", str(d / "image.png"), "--out", str(out), "--hints", "[[1,2,3", *FAST]) == 2
    assert out.read_bytes() == b"precious"
    assert list(tmp_path.glob(".*partial*")) == []


def test_check_and_convert_weights(tmp_path, capsys):
    assert main(["check-weights", str(tmp_path)]) == 0
    assert "missing" in capsys.readouterr().out
    src = tmp_path / "color-model.pth"
    torch.save({"enc_1.conv.input_conv.weight": torch.ones(2, 2),
                "dec_1A.conv.input_conv.weight": torch.zeros(3)}, src)
    dst = tmp_path / "color-model.safetensors"
    assert main(["convert-weights", str(src), str(dst)]) == 0
    assert "2 tensors (inpaint_color)" in capsys.readouterr().out
    assert main(["convert-weights", str(src), str(dst)]) == 2
    assert main(["convert-weights", str(src), str(tmp_path / "x.bin")]) == 2


def test_list_cameras(capsys):
    assert main(["list-cameras"]) == 0
    out = capsys.readouterr().out
    for name in ("circle", "up-down-loop", "swing", "dolly-zoom", "static"):
        assert name in out


def test_the_summary_names_the_renderer_and_the_splatter(tmp_path, scene_files, caplog):
    """Default: renderer=warp. --renderer splat with --backend numpy / torch: the same frames, and the
    summary names the splatter."""
    d, _ = scene_files
    args = ["render", str(d / "image.png"), "--depth", str(d / "depth.png"), "--mask", str(d / "mask.png"),
            "--hints", str(d / "arrows.json"), "--frames", "3", "--size", "96", "--device", "cpu"]
    frames = {}
    for extra in ([], ["--renderer", "splat", "--backend", "numpy"], ["--renderer", "splat", "--backend", "torch"]):
        name = "-".join(extra[1::2]) or "default"
        caplog.clear()
        with caplog.at_level("INFO", logger="cinemagraph"):
            assert main([*args, "--out", str(tmp_path / f"{name}.gif"), "--frames-dir", str(tmp_path / name),
                         *extra]) == 0
        summary = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("wrote "))
        frames[name] = np.stack([np.asarray(Image.open(p)) for p in sorted((tmp_path / name).glob("*.png"))])
        if not extra:
            assert "renderer=warp" in summary and "splatter" not in summary
        else:
            assert "renderer=splat" in summary and f"splatter={extra[-1]}" in summary
    assert np.abs(frames["splat-numpy"].astype(int) - frames["splat-torch"].astype(int)).max() <= 1
