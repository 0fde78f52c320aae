"""The one place that touches ComfyUI, lazily: progress bars, cancellation, model folders, the server.

Every function works without ComfyUI (unit tests, CI, scripts): the progress bar and the
cancellation check become no-ops and no model folders are known.
"""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Optional

from cinemagraph_core.model_files import CONTROLNET_AUX_SUBDIR, SearchPath
from cinemagraph_core.progress import ProgressFn

MODELS_FOLDER = "cinemagraph"
"""ComfyUI models folder (``models/cinemagraph/``) that holds the official network files."""
MODEL_EXTENSIONS = {".pt", ".pth", ".safetensors"}
STEPS_PER_ITEM = 100
"""Progress-bar resolution of one batch item."""


def _module(name: str):
    """A ComfyUI module, or None outside ComfyUI (or when that module failed to import)."""
    try:
        return importlib.import_module(name)
    except Exception:  # noqa: BLE001 - ComfyUI modules may fail in many ways outside a ComfyUI process
        return None


def folder_paths():
    """ComfyUI's ``folder_paths`` module, or None."""
    return _module("folder_paths")


def prompt_server():
    """ComfyUI's running ``PromptServer`` (routes are added to its ``routes``), or None."""
    server = _module("server")
    cls = getattr(server, "PromptServer", None) if server is not None else None
    return getattr(cls, "instance", None) if cls is not None else None


def register_models_folder() -> None:
    """Register ``models/cinemagraph`` (official .pt/.pth/.safetensors files) with ComfyUI, if present.

    Paths a user added in extra_model_paths.yaml are kept; the default folder is appended.
    """
    fp = folder_paths()
    if fp is None:
        return
    default = str(Path(fp.models_dir) / MODELS_FOLDER)
    if MODELS_FOLDER in fp.folder_names_and_paths:
        paths, exts = fp.folder_names_and_paths[MODELS_FOLDER]
        if default not in paths:
            paths.append(default)
        fp.folder_names_and_paths[MODELS_FOLDER] = (paths, set(exts) | MODEL_EXTENSIONS)
    else:
        fp.folder_names_and_paths[MODELS_FOLDER] = ([default], set(MODEL_EXTENSIONS))


def model_folders() -> list[Path]:
    """The registered ``cinemagraph`` model folders (empty outside ComfyUI)."""
    fp = folder_paths()
    if fp is None or MODELS_FOLDER not in fp.folder_names_and_paths:
        return []
    return [Path(p) for p in fp.get_folder_paths(MODELS_FOLDER)]


def dpt_folders() -> list[Path]:
    """controlnet_aux's annotator folders, where its DPT file (same name as the official one) lives."""
    fp = folder_paths()
    if fp is None or "custom_nodes" not in fp.folder_names_and_paths:
        return []
    sub = Path(*CONTROLNET_AUX_SUBDIR.parts[1:])
    return [Path(p) / sub for p in fp.get_folder_paths("custom_nodes")]


def search_path() -> SearchPath:
    """Where ``auto`` looks for network files."""
    return SearchPath(tuple(model_folders()), tuple(dpt_folders()))


def model_files() -> list[str]:
    """File names (relative to the ``cinemagraph`` folders) of every model file there."""
    fp = folder_paths()
    if fp is None or MODELS_FOLDER not in fp.folder_names_and_paths:
        return []
    return list(fp.get_filename_list(MODELS_FOLDER))


def model_file_path(name: str) -> Optional[Path]:
    """Full path of ``name`` from ``model_files()``, or None when it is not there (any more)."""
    fp = folder_paths()
    if fp is None or MODELS_FOLDER not in fp.folder_names_and_paths:
        return None
    full = fp.get_full_path(MODELS_FOLDER, name)
    return Path(full) if full else None


def torch_device():
    """ComfyUI's device for networks (its GPU when it has one), or the CPU outside ComfyUI."""
    import torch

    mm = _module("comfy.model_management")
    return mm.get_torch_device() if mm is not None else torch.device("cpu")


def check_interrupt() -> None:
    """Raise ComfyUI's interruption exception when the user pressed Cancel (no-op outside ComfyUI)."""
    mm = _module("comfy.model_management")
    if mm is not None:
        mm.throw_exception_if_processing_interrupted()


class NodeProgress:
    """Progress of one node run over ``items`` batch items, shown on the node's bar in ComfyUI.

    ``item(b)`` gives the ProgressFn for item b: it maps that item's ``(done, total)`` onto the bar
    and checks for cancellation on every call, so core loops stop between units of work.
    """

    def __init__(self, items: int):
        self.items = max(int(items), 1)
        utils = _module("comfy.utils")
        self._bar = utils.ProgressBar(self.items * STEPS_PER_ITEM) if utils is not None else None

    def item(self, b: int) -> ProgressFn:
        def report(done: int, total: int) -> None:
            check_interrupt()
            if self._bar is not None:
                self._bar.update_absolute(b * STEPS_PER_ITEM + (STEPS_PER_ITEM * done) // max(total, 1))

        return report
