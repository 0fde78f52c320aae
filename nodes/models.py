"""Model dropdowns and loading for the nodes.

Every learned stage has a dropdown: ``auto`` (the official file when it is in ``models/cinemagraph``,
else the weight-free path), the weight-free choice by name, and the files found in the models
folder. Loaded networks are kept (one per kind) so re-running a node does not reload its file.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.model_files import find_model
from cinemagraph_core.models import Models
from cinemagraph_core.pipeline import PipelineConfig, resolve_inpainter
from cinemagraph_core.weights import KINDS

from . import comfy

log = logging.getLogger("cinemagraph")

AUTO = "auto"
WEIGHT_FREE = {"dpt": "prior", "motion": "hints", "feature_net": "rgba", "img_decoder": "blend"}
"""The weight-free choice of each learned stage."""
INPAINT_CHOICES = (AUTO, "classical", "learned", "none")
"""Inpainting needs two files (depth-model.pth + color-model.pth), so it is chosen by name."""
CONTROLNET_AUX = "controlnet_aux/"
"""Prefix of DPT files found in controlnet_aux's annotator folder."""
_KEYWORDS = {"dpt": ("dpt", "midas"), "motion": ("sceneflow", "motion"),
             "feature_net": ("model_150000", "feature"), "img_decoder": ("model_150000", "decoder"),
             "inpaint_depth": ("depth-model",), "inpaint_color": ("color-model",)}
_cache: dict[str, tuple[tuple, Any]] = {}


def _loader(kind: str) -> Callable[[Path], Any]:
    if kind == "dpt":
        from cinemagraph_core.nets.dpt import load_dpt

        return load_dpt
    if kind == "motion":
        from cinemagraph_core.nets.spade_unet import load_motion_net

        return load_motion_net
    if kind == "feature_net":
        from cinemagraph_core.nets.resunet import load_feature_net

        return load_feature_net
    from cinemagraph_core.nets.img_decoder import load_img_decoder

    return load_img_decoder


def _matches(name: str, kind: str) -> bool:
    low = Path(name).name.lower()
    if any(k in low for k in _KEYWORDS[kind]):
        return True
    return not any(k in low for words in _KEYWORDS.values() for k in words)


def choices(kind: str) -> list[str]:
    """Dropdown entries for network ``kind``: auto, the weight-free choice, then matching files."""
    files = [f for f in comfy.model_files() if _matches(f, kind)]
    if kind == "dpt":
        name = KINDS["dpt"].filename
        files += [CONTROLNET_AUX + name for d in comfy.dpt_folders() if (d / name).is_file()][:1]
    return [AUTO, WEIGHT_FREE[kind], *files]


def _path(kind: str, choice: str) -> Optional[Path]:
    """The file a dropdown choice names; None for the weight-free path."""
    if choice == WEIGHT_FREE[kind]:
        return None
    if choice == AUTO:
        return find_model(kind, comfy.search_path())
    if kind == "dpt" and choice.startswith(CONTROLNET_AUX):
        name = choice[len(CONTROLNET_AUX):]
        path = next((d / name for d in comfy.dpt_folders() if (d / name).is_file()), None)
    else:
        path = comfy.model_file_path(choice)
    if path is None:
        raise CinemagraphError(
            f"model file '{choice}' not found in models/{comfy.MODELS_FOLDER}/; pick another entry "
            f"('{AUTO}' or '{WEIGHT_FREE[kind]}' need no file) or put the file there and refresh")
    return path


def _cached(key: str, ident: tuple, load: Callable[[], Any]) -> Any:
    held = _cache.get(key)
    if held is not None and held[0] == ident:
        return held[1]
    _cache.pop(key, None)
    value = load()
    _cache[key] = (ident, value)
    return value


def _ident(path: Path) -> tuple:
    st = path.stat()
    return str(path.resolve()), st.st_mtime_ns, st.st_size


def network(kind: str, choice: str) -> Optional[Any]:
    """The loaded network a dropdown choice names, or None for the weight-free path."""
    if not isinstance(choice, str):
        raise CinemagraphError(f"model choice must be a name, got {type(choice).__name__}")
    path = _path(kind, choice)
    if path is None:
        if choice == AUTO:
            log.info("%s: no %s in models/%s; running weight-free (%s)", KINDS[kind].title, KINDS[kind].filename,
                     comfy.MODELS_FOLDER, WEIGHT_FREE[kind])
        return None
    device = comfy.torch_device()
    log.info("%s: %s on %s", KINDS[kind].title, path, device)
    return _cached(kind, _ident(path) + (str(device),), lambda: _loader(kind)(path, device))


def learned_inpainter():
    """The 3D-Photo inpainter when both of its files are in the models folder, else None."""
    search = comfy.search_path()
    depth_net, color_net = find_model("inpaint_depth", search), find_model("inpaint_color", search)
    if depth_net is None or color_net is None:
        return None
    from cinemagraph_core.layers.inpaint import LearnedInpainter

    device = comfy.torch_device()
    return _cached("inpaint", _ident(depth_net) + _ident(color_net) + (str(device),),
                   lambda: LearnedInpainter.from_files(depth_net, color_net, device))


def inpainter(choice: str):
    """The Inpainter for an ``INPAINT_CHOICES`` entry ('auto' = learned when both files are there)."""
    if choice not in INPAINT_CHOICES:
        raise CinemagraphError(f"inpainter must be one of {', '.join(INPAINT_CHOICES)}, got {choice!r}")
    learned = learned_inpainter() if choice in (AUTO, "learned") else None
    return resolve_inpainter(PipelineConfig(inpaint=choice), Models(inpainter=learned))


def found_networks() -> Models:
    """Every network whose official file is in the models folders (the others stay None: weight-free)."""
    return Models(dpt=network("dpt", AUTO), motion=network("motion", AUTO),
                  feature_net=network("feature_net", AUTO), img_decoder=network("img_decoder", AUTO),
                  inpainter=learned_inpainter())


def fingerprint(kind: str, choice: str = AUTO) -> str:
    """What a dropdown choice resolves to right now (file path, mtime, size), for ComfyUI's IS_CHANGED:
    a model file added, replaced or removed re-runs the node although its inputs did not change.
    kind: a network kind or ``'inpaint'`` (the pair of inpainting nets)."""
    if not isinstance(choice, str):
        return repr(choice)
    try:
        if kind == "inpaint":
            search = comfy.search_path()
            learned = choice in (AUTO, "learned")
            paths = [find_model(k, search) for k in ("inpaint_depth", "inpaint_color")] if learned else []
        else:
            paths = [_path(kind, choice)]
    except CinemagraphError:
        return f"missing:{choice}"
    return "|".join(str(_ident(p)) if p is not None else "none" for p in paths) or choice
