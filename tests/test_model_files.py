"""Model-file discovery, the strict check report (meta-device key lists) and loading what is found."""
import json
import logging
from dataclasses import fields

import pytest
import torch

import golden
from cinemagraph_core import model_files
from cinemagraph_core.choices import DECODERS, FEATURES, INPAINTS, MOTIONS
from cinemagraph_core.errors import CheckpointError
from cinemagraph_core.model_files import (CONTROLNET_AUX_SUBDIR, COMFY_MODELS_SUBDIR, SearchPath, check_models,
                                          expected_shapes, find_model, load_models)
from cinemagraph_core.models import Models
from cinemagraph_core.networks import NETWORKS, STAGES, stage_of

MANIFESTS = {"dpt": "DPT_hybrid_DPTDepthModel", "motion": "netG_SPADEUnetMaskMotion",
             "feature_net": "feature_net_ResUNet", "img_decoder": "img_decoder_ImgDecoder",
             "inpaint_depth": "Inpaint_Depth_Net", "inpaint_color": "Inpaint_Color_Net"}


def tiny(kind: str) -> dict:
    """A state dict of ``kind`` with every official key and shape, stored as stride-0 zeros (a few kB)."""
    return {k: torch.zeros(()).expand(s) for k, s in expected_shapes(kind).items()}


def write_official_files(folder, skip=()) -> None:
    """All five files in the official layouts (plain dicts, ``netG`` entry, the model_150000 entries)."""
    folder.mkdir(parents=True, exist_ok=True)
    content = {
        "dpt": tiny("dpt"),
        "motion": {"netG": tiny("motion")},
        "feature_net": {"feature_net": tiny("feature_net"), "img_decoder": tiny("img_decoder")},
        "inpaint_depth": tiny("inpaint_depth"),
        "inpaint_color": tiny("inpaint_color"),
    }
    for kind, obj in content.items():
        if kind not in skip:
            torch.save(obj, folder / NETWORKS[kind].filename)


def test_one_registry_for_the_networks_the_stages_and_models():
    """Every network belongs to exactly one stage, each stage fills one Models field, and a stage's weight-free
    name is its pipeline choice."""
    assert sorted(n for s in STAGES.values() for n in s.networks) == sorted(NETWORKS)
    assert all(stage_of(n).name in STAGES for n in NETWORKS)
    assert [f.name for f in fields(Models)] == [s.field for s in STAGES.values()] + ["precision"]
    for name, allowed in (("motion", MOTIONS), ("inpaint", INPAINTS), ("features", FEATURES), ("decoder", DECODERS)):
        assert STAGES[name].weight_free in allowed
    assert all(set(s.requires) <= set(NETWORKS) for s in STAGES.values())


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


@pytest.mark.parametrize("kind", list(NETWORKS))
def test_meta_key_lists_equal_the_manifests(kind):
    path = golden._reference_dir() / "manifests" / f"{MANIFESTS[kind]}.json"
    manifest = {k: tuple(s) for k, s, _ in json.loads(path.read_text())["state_dict"]}
    assert {k: tuple(s) for k, s in expected_shapes(kind).items()} == manifest


def test_search_order_user_folder_then_comfy_then_controlnet_aux(tmp_path):
    user, root = tmp_path / "mine", tmp_path / "ComfyUI"
    name = NETWORKS["dpt"].filename
    aux = touch(root / CONTROLNET_AUX_SUBDIR / name)
    assert find_model("dpt", [user, root]) == aux
    comfy = touch(root / COMFY_MODELS_SUBDIR / name)
    assert find_model("dpt", [user, root]) == comfy
    mine = touch(user / name)
    assert find_model("dpt", [user, root]) == mine
    assert find_model("dpt", SearchPath((root,), (root / CONTROLNET_AUX_SUBDIR,))) == aux


def test_controlnet_aux_folder_only_serves_dpt(tmp_path):
    touch(tmp_path / CONTROLNET_AUX_SUBDIR / NETWORKS["motion"].filename)
    assert find_model("motion", tmp_path) is None


def test_converted_file_is_found(tmp_path):
    converted = touch(tmp_path / "sceneflow_model.safetensors")
    assert find_model("motion", str(tmp_path)) == converted


def test_report_all_valid_and_every_stage_learned(tmp_path):
    write_official_files(tmp_path / COMFY_MODELS_SUBDIR)
    report = check_models([tmp_path])
    assert [m.state for m in report.models] == ["ok"] * len(NETWORKS)
    assert all(report.learned(st) for st in STAGES.values())
    text = str(report)
    assert text.count(" ok ") == len(NETWORKS) and "weight-free" not in text


def test_report_names_missing_and_wrong_files(tmp_path):
    write_official_files(tmp_path, skip=("motion", "inpaint_color"))
    torch.save(tiny("inpaint_depth"), tmp_path / NETWORKS["inpaint_color"].filename)
    report = check_models(tmp_path)
    assert report.status("motion").state == "missing"
    wrong = report.status("inpaint_color")
    assert wrong.state == "invalid" and "depth inpainting network" in wrong.detail
    assert report.status("inpaint_depth").ok and report.status("dpt").ok
    runs = {st.name: report.learned(st) for st in STAGES.values()}
    assert runs == {"depth": True, "motion": False, "inpaint": False, "features": True, "decoder": True}
    text = str(report)
    assert "weight-free (motion from the flow hints alone)" in text
    assert "weight-free (classical inpainting)" in text and "learned (DPT-Hybrid depth network)" in text


def test_report_catches_missing_key_and_unsafe_file(tmp_path):
    write_official_files(tmp_path)
    sd = tiny("dpt")
    del sd["scratch.output_conv.4.bias"]
    torch.save(sd, tmp_path / NETWORKS["dpt"].filename)
    motion_file = tmp_path / NETWORKS["motion"].filename
    torch.save({"netG": tiny("motion"), "code": logging.getLogger("cinemagraph")}, motion_file)
    report = check_models(tmp_path)
    assert report.status("dpt").state == "invalid" and "scratch.output_conv.4.bias" in report.status("dpt").detail
    assert report.status("motion").state == "invalid" and "refused" in report.status("motion").detail


def test_report_on_the_recipe_checkpoints():
    folder = golden.recipe_weights(golden.weights_seed("input_data"))
    report = check_models(folder)
    assert all(m.ok and m.path.parent == folder for m in report.models), str(report)


def test_load_models_loads_what_is_there(tmp_path, caplog):
    torch.save(tiny("dpt"), tmp_path / NETWORKS["dpt"].filename)
    torch.save(tiny("inpaint_depth"), tmp_path / NETWORKS["inpaint_depth"].filename)
    with caplog.at_level(logging.WARNING, logger="cinemagraph"):
        models = load_models([tmp_path])
    assert models.dpt is not None and not models.dpt.training
    assert models.motion is None and models.feature_net is None and models.img_decoder is None
    assert models.inpainter is None and "the inpaint stage needs depth-model.pth" in caplog.text
    assert "only " + str(tmp_path / NETWORKS["inpaint_depth"].filename) + " was found" in caplog.text


def test_load_models_refuses_a_broken_file(tmp_path):
    (tmp_path / NETWORKS["dpt"].filename).write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=NETWORKS["dpt"].filename):
        load_models(tmp_path)


def test_search_path_of_a_comfy_root(tmp_path):
    search = SearchPath.of(tmp_path)
    assert search.folders("motion") == (tmp_path, tmp_path / COMFY_MODELS_SUBDIR)
    assert search.folders("dpt")[-1] == tmp_path / CONTROLNET_AUX_SUBDIR
    assert SearchPath.of(search) is search
    assert model_files.SearchPath.of([tmp_path, tmp_path / "b"]).dirs[2] == tmp_path / "b"
