"""Finding, checking and loading the five official model files.

Where files are looked for (first hit wins, official name before ``.safetensors``):

* every folder the caller names (e.g. ``--models DIR``), in order;
* inside each of them, ``models/cinemagraph/`` (so a ComfyUI root folder works as well);
* for DPT only, also ``custom_nodes/comfyui_controlnet_aux/ckpts/lllyasviel/Annotators/`` inside
  each folder (controlnet_aux keeps the same ``dpt_hybrid-midas-501f0c75.pt`` there).

A ComfyUI node builds a :class:`SearchPath` from its own folders (e.g. ComfyUI's
``models/cinemagraph`` and the controlnet_aux folder); this module never imports ComfyUI.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Optional, Union

import torch

from . import weights
from .errors import CheckpointError
from .models import Models
from .weights import KINDS, PathLike

log = logging.getLogger("cinemagraph")

COMFY_MODELS_SUBDIR = Path("models") / "cinemagraph"
CONTROLNET_AUX_SUBDIR = Path("custom_nodes") / "comfyui_controlnet_aux" / "ckpts" / "lllyasviel" / "Annotators"


@dataclass(frozen=True)
class SearchPath:
    """Folders to search: ``dirs`` for every network, then ``dpt_dirs`` for DPT only."""

    dirs: tuple[Path, ...]
    dpt_dirs: tuple[Path, ...] = ()

    @classmethod
    def of(cls, where: Union["SearchPath", PathLike, Iterable[PathLike]]) -> "SearchPath":
        """A SearchPath as is; a folder or list of folders -> each folder, its ``models/cinemagraph``,
        and (DPT) its controlnet_aux annotator folder."""
        if isinstance(where, SearchPath):
            return where
        roots = [Path(where)] if isinstance(where, (str, os.PathLike)) else [Path(d) for d in where]
        dirs = tuple(p for r in roots for p in (r, r / COMFY_MODELS_SUBDIR))
        return cls(dirs, tuple(r / CONTROLNET_AUX_SUBDIR for r in roots))

    def folders(self, kind: str) -> tuple[Path, ...]:
        """The folders searched for network ``kind``, in order."""
        return self.dirs + (self.dpt_dirs if kind == "dpt" else ())


Where = Union[SearchPath, PathLike, Iterable[PathLike]]


def find_model(kind: str, where: Where) -> Optional[Path]:
    """Path of the file for network ``kind`` (a key of ``weights.KINDS``), or None."""
    return weights.find(kind, SearchPath.of(where).folders(kind))


@dataclass(frozen=True)
class Stage:
    """A pipeline stage that runs learned when all its networks are valid, weight-free otherwise."""

    name: str
    kinds: tuple[str, ...]
    learned: str
    fallback: str


STAGES = (
    Stage("depth", ("dpt",), "DPT-Hybrid", "weight-free depth prior (or a depth map you pass)"),
    Stage("motion", ("motion",), "SPADE U-Net motion net", "motion from the flow hints alone"),
    Stage("inpaint", ("inpaint_depth", "inpaint_color"), "3D-Photo inpainting nets", "classical inpainting"),
    Stage("features", ("feature_net",), "ResUNet features", "RGBA point colours only"),
    Stage("decoder", ("feature_net", "img_decoder"), "learned image decoder", "direct two-side blend"),
)


@dataclass(frozen=True)
class ModelStatus:
    """One network: ``state`` is ``'ok'`` (loads strictly), ``'missing'`` or ``'invalid'`` (wrong,
    broken or unsafe file; ``detail`` says why)."""

    kind: str
    path: Optional[Path]
    state: str
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(frozen=True)
class ModelReport:
    """What ``check_models`` found; ``str(report)`` is a printable table."""

    models: tuple[ModelStatus, ...]
    searched: tuple[Path, ...]

    def status(self, kind: str) -> ModelStatus:
        return next(m for m in self.models if m.kind == kind)

    def learned(self, stage: Stage) -> bool:
        """True when every network of ``stage`` is present and valid."""
        return all(self.status(k).ok for k in stage.kinds)

    def __str__(self) -> str:
        rows = [("network", "file", "state", "where / why")]
        for m in self.models:
            spec = KINDS[m.kind]
            where = str(m.path) if m.path else "not found"
            rows.append((spec.title, spec.filename, m.state, where + (f" -- {m.detail}" if m.detail else "")))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(wd) for c, wd in zip(r[:3], widths)) + "  " + r[3] for r in rows]
        lines += ["", "stage     runs"]
        for st in STAGES:
            how = f"learned ({st.learned})" if self.learned(st) else f"weight-free ({st.fallback})"
            lines.append(f"{st.name.ljust(9)} {how}")
        lines += ["", "searched: " + (", ".join(str(p) for p in self.searched if p.is_dir()) or "no existing folder")]
        return "\n".join(lines)


def _network(kind: str) -> torch.nn.Module:
    """A fresh network of ``kind`` with the official parameter names (build it under a device context)."""
    if kind == "dpt":
        from .nets.dpt import DPTDepthModel

        return DPTDepthModel()
    if kind == "motion":
        from .nets.spade_unet import SPADEUnetMaskMotion

        return SPADEUnetMaskMotion()
    if kind == "feature_net":
        from .nets.resunet import ResUNet

        return ResUNet()
    if kind == "img_decoder":
        from .nets.img_decoder import ImgDecoder

        return ImgDecoder()
    from .nets import inpaint_nets

    return inpaint_nets.InpaintDepthNet() if kind == "inpaint_depth" else inpaint_nets.InpaintColorNet()


@lru_cache(maxsize=None)
def expected_shapes(kind: str) -> dict[str, torch.Size]:
    """State-dict keys and shapes of network ``kind``, from a net built on the 'meta' device (no memory).

    A constructor that computes with its weights (e.g. reads a value with ``float()``) cannot run
    on 'meta'; that network is built on the CPU instead.
    """
    try:
        with torch.device("meta"):
            net = _network(kind)
    except RuntimeError as e:
        log.debug("%s cannot be built on the meta device (%s); building it on the CPU", kind, e)
        net = _network(kind)
    return {k: v.shape for k, v in net.state_dict().items()}


def _validate(kind: str, path: Path, loaded: dict) -> ModelStatus:
    try:
        if path not in loaded:
            loaded[path] = weights.load_file(path, mmap=True)
        sd = weights.state_dict_for(loaded[path], kind, path)
        weights.check_keys(expected_shapes(kind), sd, kind, path)
    except CheckpointError as e:
        return ModelStatus(kind, path, "invalid", str(e))
    return ModelStatus(kind, path, "ok")


def check_models(where: Where) -> ModelReport:
    """For each official network: found or missing, and whether the file loads strictly.

    Keys and shapes are compared with a network built on the 'meta' device; zip-format files are
    memory-mapped, so checking costs neither the networks' nor the files' memory.
    """
    search = SearchPath.of(where)
    loaded: dict[Path, dict] = {}
    found = []
    for kind in KINDS:
        path = find_model(kind, search)
        found.append(ModelStatus(kind, None, "missing") if path is None else _validate(kind, path, loaded))
    searched = tuple(dict.fromkeys(search.dirs + search.dpt_dirs))
    return ModelReport(tuple(found), searched)


def load_models(where: Where, device: Union[str, torch.device] = "cpu") -> Models:
    """Load every official network found in ``where``; the missing ones stay None (weight-free stage).

    A file that is found but does not load raises CheckpointError (a broken file is never skipped
    silently). The two inpainting nets are used only together (``LearnedInpainter``). Every net goes
    to ``device``; the stages move their inputs there and bring results back to the CPU.
    """
    search = SearchPath.of(where)
    paths = {kind: find_model(kind, search) for kind in KINDS}
    for kind, path in paths.items():
        log.info("%s: %s", KINDS[kind].title, path or "not found, the stage runs weight-free")
    models = Models()
    if paths["dpt"]:
        from .nets.dpt import load_dpt

        models.dpt = load_dpt(paths["dpt"], device)
    if paths["motion"]:
        from .nets.spade_unet import load_motion_net

        models.motion = load_motion_net(paths["motion"], device)
    if paths["feature_net"]:
        from .nets.resunet import load_feature_net

        models.feature_net = load_feature_net(paths["feature_net"], device)
    if paths["img_decoder"]:
        from .nets.img_decoder import load_img_decoder

        models.img_decoder = load_img_decoder(paths["img_decoder"], device)
    depth_net, color_net = paths["inpaint_depth"], paths["inpaint_color"]
    if depth_net and color_net:
        from .layers.inpaint import LearnedInpainter

        models.inpainter = LearnedInpainter.from_files(depth_net, color_net, device)
    elif depth_net or color_net:
        log.warning("only one of the two inpainting nets was found (%s); using classical inpainting",
                    depth_net or color_net)
    return models
