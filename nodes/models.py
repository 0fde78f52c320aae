"""Model dropdowns and loading for the nodes.

Every learned stage has a dropdown: ``auto`` (the official file when it is in ``models/cinemagraph``,
else the weight-free path), the weight-free choice by name, and the files found in the models
folder (names, keywords and loaders from ``cinemagraph_core.networks``). Loaded networks are kept
(one per kind) so re-running a node does not reload its file.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Optional

from cinemagraph_core.choices import INPAINTS, Inpaint, check
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.model_files import find_model
from cinemagraph_core.models import Models
from cinemagraph_core.networks import NETWORKS, STAGES, Stage, stage_of
from cinemagraph_core.pipeline import resolve_inpainter

from . import comfy

log = logging.getLogger("cinemagraph")

AUTO = "auto"
INPAINT_STAGE = "inpaint"
"""Inpainting needs two files (depth-model.pth + color-model.pth), so it is chosen by name (``choices.INPAINTS``)."""
CONTROLNET_AUX = "controlnet_aux/"
"""Prefix of DPT files found in controlnet_aux's annotator folder."""
_cache: dict[str, tuple[tuple, Any]] = {}


def weight_free(kind: str) -> str:
    """The dropdown's weight-free choice for network ``kind`` (its stage's, e.g. 'prior' for DPT)."""
    return stage_of(kind).weight_free


def _matches(name: str, kind: str) -> bool:
    low = Path(name).name.lower()
    if any(k in low for k in NETWORKS[kind].keywords):
        return True
    return not any(k in low for net in NETWORKS.values() for k in net.keywords)


def choices(kind: str) -> list[str]:
    """Dropdown entries for network ``kind``: auto, the weight-free choice, then matching files."""
    files = [f for f in comfy.model_files() if _matches(f, kind)]
    if kind == "dpt":
        name = NETWORKS["dpt"].filename
        files += [CONTROLNET_AUX + name for d in comfy.dpt_folders() if (d / name).is_file()][:1]
    return [AUTO, weight_free(kind), *files]


def _path(kind: str, choice: str) -> Optional[Path]:
    """The file a dropdown choice names; None for the weight-free path."""
    if choice == weight_free(kind):
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
            f"('{AUTO}' or '{weight_free(kind)}' need no file) or put the file there and refresh")
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
            log.info("%s: no %s in models/%s; running weight-free (%s)", NETWORKS[kind].title,
                     NETWORKS[kind].filename, comfy.MODELS_FOLDER, weight_free(kind))
        return None
    device = comfy.torch_device()
    log.info("%s: %s on %s", NETWORKS[kind].title, path, device)
    return _cached(kind, _ident(path) + (str(device),), lambda: stage_of(kind).load([path], device))


def learned_inpainter():
    """The 3D-Photo inpainter when both of its files are in the models folder, else None."""
    stage = STAGES[INPAINT_STAGE]
    search = comfy.search_path()
    paths = [find_model(kind, search) for kind in stage.networks]
    if None in paths:
        return None
    device = comfy.torch_device()
    return _cached(INPAINT_STAGE, sum((_ident(p) for p in paths), ()) + (str(device),),
                   lambda: stage.load(paths, device))


def inpainter(choice: Inpaint):
    """The Inpainter for a ``choices.INPAINTS`` entry ('auto' = learned when both files are there)."""
    check("inpainter", choice, INPAINTS)
    return resolve_inpainter(choice, learned_inpainter() if choice in (AUTO, "learned") else None)


def _kind(stage: Stage) -> str:
    """What a stage's dropdown is keyed by: its network, or the stage for the inpainting pair."""
    return stage.networks[0] if len(stage.networks) == 1 else stage.name


def found_networks() -> Models:
    """Every network whose official file is in the models folders (the others stay None: weight-free)."""
    models = Models()
    for stage in STAGES.values():
        kind = _kind(stage)
        setattr(models, stage.field, learned_inpainter() if kind == INPAINT_STAGE else network(kind, AUTO))
    return models


def found_fingerprint() -> str:
    """``fingerprint`` of every stage's ``auto`` (what ``found_networks`` would load), joined."""
    return "|".join(fingerprint(_kind(stage)) for stage in STAGES.values())


def fingerprint(kind: str, choice: str = AUTO) -> str:
    """What a dropdown choice resolves to right now (file path, mtime, size), for ComfyUI's IS_CHANGED:
    a model file added, replaced or removed re-runs the node although its inputs did not change.
    kind: a network kind or ``'inpaint'`` (the pair of inpainting nets)."""
    if not isinstance(choice, str):
        return repr(choice)
    try:
        if kind == INPAINT_STAGE:
            search = comfy.search_path()
            learned = choice in (AUTO, "learned")
            paths = [find_model(k, search) for k in STAGES[INPAINT_STAGE].networks] if learned else []
        else:
            paths = [_path(kind, choice)]
    except CinemagraphError:
        return f"missing:{choice}"
    return "|".join(str(_ident(p)) if p is not None else "none" for p in paths) or choice
