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
from .networks import NETWORKS, STAGES, Stage, stage_files
from .weights import PathLike

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
    """Path of the file for network ``kind`` (a key of ``networks.NETWORKS``), or None."""
    return weights.find(kind, SearchPath.of(where).folders(kind))


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
        """True when every network ``stage`` loads or requires is present and valid."""
        return all(self.status(k).ok for k in stage.networks + stage.requires)

    def __str__(self) -> str:
        rows = [("network", "file", "state", "where / why")]
        for m in self.models:
            spec = NETWORKS[m.kind]
            where = str(m.path) if m.path else "not found"
            rows.append((spec.title, spec.filename, m.state, where + (f" -- {m.detail}" if m.detail else "")))
        widths = [max(len(r[i]) for r in rows) for i in range(3)]
        lines = ["  ".join(c.ljust(wd) for c, wd in zip(r[:3], widths)) + "  " + r[3] for r in rows]
        lines += ["", "stage     runs"]
        for st in STAGES.values():
            titles = " + ".join(NETWORKS[k].title for k in st.requires + st.networks)
            how = f"learned ({titles})" if self.learned(st) else f"weight-free ({st.fallback})"
            lines.append(f"{st.name.ljust(9)} {how}")
        lines += ["", "searched: " + (", ".join(str(p) for p in self.searched if p.is_dir()) or "no existing folder")]
        return "\n".join(lines)


@lru_cache(maxsize=None)
def expected_shapes(kind: str) -> dict[str, torch.Size]:
    """State-dict keys and shapes of network ``kind``, from a net built on the 'meta' device (no memory).

    A constructor that computes with its weights (e.g. reads a value with ``float()``) cannot run
    on 'meta'; that network is built on the CPU instead.
    """
    try:
        with torch.device("meta"):
            net = NETWORKS[kind].build()
    except RuntimeError as e:
        log.debug("%s cannot be built on the meta device (%s); building it on the CPU", kind, e)
        net = NETWORKS[kind].build()
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
    for kind in NETWORKS:
        path = find_model(kind, search)
        found.append(ModelStatus(kind, None, "missing") if path is None else _validate(kind, path, loaded))
    searched = tuple(dict.fromkeys(search.dirs + search.dpt_dirs))
    return ModelReport(tuple(found), searched)


def load_models(where: Where, device: Union[str, torch.device] = "cpu") -> Models:
    """Load every official network found in ``where``; the missing ones stay None (weight-free stage).

    A file that is found but does not load raises CheckpointError (a broken file is never skipped
    silently). A stage's networks are used only together (the two inpainting nets). Every net goes
    to ``device``; the stages move their inputs there and bring results back to the CPU.
    """
    search = SearchPath.of(where)
    models = Models()
    for stage in STAGES.values():
        paths = [find_model(kind, search) for kind in stage.networks]
        for kind, path in zip(stage.networks, paths):
            log.info("%s: %s", NETWORKS[kind].title, path or "not found, the stage runs weight-free")
        found = [p for p in paths if p is not None]
        if len(found) == len(paths):
            setattr(models, stage.field, stage.load(paths, device))
        elif found:
            log.warning("the %s stage needs %s; only %s was found, so it runs weight-free (%s)", stage.name,
                        stage_files(stage.name), ", ".join(map(str, found)), stage.fallback)
    return models
