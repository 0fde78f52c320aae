"""The official networks and the stages they make learned: every per-network fact in one place.

``weights`` (files, state-dict entries, signatures, titles), ``model_files`` (building, finding,
checking, loading into ``models.Models``) and the nodes' model dropdowns (file keywords, the
weight-free choice) all read ``NETWORKS`` and ``STAGES``. Builders and loaders are named as
``'module:attribute'`` (relative to this package) and imported when used, so that naming a network
imports no network code.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence

import torch


def _attr(ref: str) -> Any:
    """The object a ``'module:attribute'`` reference names (``attribute`` may be dotted)."""
    module, _, name = ref.partition(":")
    obj = importlib.import_module(f".{module}", __package__)
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


@dataclass(frozen=True)
class Network:
    """One official network.

    name: short id used in code and on the command line.
    filename: the official file name.
    entry: top-level key holding the state dict inside the official file (None = the file is the
        state dict).
    title: what the network does, for messages.
    signature: keys only this network's state dict has (bare keys, without ``entry``).
    builder: ``'module:Class'`` of the network with the official parameter names (no arguments).
    keywords: words of a file name that list the file in this network's model dropdown.
    """

    name: str
    filename: str
    entry: Optional[str]
    title: str
    signature: tuple[str, ...]
    builder: str
    keywords: tuple[str, ...]

    def build(self) -> torch.nn.Module:
        """A fresh network (build it under a device context, e.g. ``torch.device('meta')``)."""
        return _attr(self.builder)()


@dataclass(frozen=True)
class Stage:
    """A pipeline stage that runs learned when its networks load.

    name: ``'depth'``, ``'motion'``, ``'inpaint'``, ``'features'`` or ``'decoder'`` (the last four are
        also the ``PipelineConfig`` fields that choose the path).
    field: the ``models.Models`` attribute holding what ``loader`` returns.
    networks: the networks it loads, all or none (a lone one is not used).
    loader: ``'module:function'`` taking the networks' files (in ``networks`` order), then a device.
    weight_free: the name of the weight-free path (the model dropdowns' second entry).
    fallback: what runs without the networks, for ``check-weights``.
    requires: further networks the stage needs to run learned (the decoder decodes learned features).
    """

    name: str
    field: str
    networks: tuple[str, ...]
    loader: str
    weight_free: str
    fallback: str
    requires: tuple[str, ...] = ()

    def load(self, paths: Sequence[Path], device: torch.device | str = "cpu") -> Any:
        """The stage's loaded networks (a ``models.Models`` field value) from the files ``paths``."""
        return _attr(self.loader)(*paths, device)


NETWORKS: dict[str, Network] = {n.name: n for n in (
    Network("dpt", "dpt_hybrid-midas-501f0c75.pt", None, "DPT-Hybrid depth network",
            ("pretrained.model.patch_embed.backbone.stem.conv.weight", "scratch.output_conv.4.weight"),
            "nets.dpt:DPTDepthModel", ("dpt", "midas")),
    Network("motion", "sceneflow_model.pth", "netG", "SPADE U-Net motion network",
            ("motion_predictor.conv1.weight_orig", "motion_predictor.dconv8.weight_orig"),
            "nets.spade_unet:SPADEUnetMaskMotion", ("sceneflow", "motion")),
    Network("feature_net", "model_150000.pth", "feature_net", "ResUNet feature network",
            ("conv1.weight", "layer3.5.conv2.weight", "out_conv.weight"),
            "nets.resunet:ResUNet", ("model_150000", "feature")),
    Network("img_decoder", "model_150000.pth", "img_decoder", "image decoder",
            ("alpha", "firstconv.weight", "outc.conv.weight"),
            "nets.img_decoder:ImgDecoder", ("model_150000", "decoder")),
    Network("inpaint_depth", "depth-model.pth", None, "3D-Photo depth inpainting network",
            ("enc_1.conv.input_conv.bias", "dec_1.conv.input_conv.weight"),
            "nets.inpaint_nets:InpaintDepthNet", ("depth-model",)),
    Network("inpaint_color", "color-model.pth", None, "3D-Photo colour inpainting network",
            ("enc_1.conv.input_conv.weight", "dec_1A.conv.input_conv.weight"),
            "nets.inpaint_nets:InpaintColorNet", ("color-model",)),
)}
"""The official networks by name, in the order ``check-weights`` reports them."""

STAGES: dict[str, Stage] = {s.name: s for s in (
    Stage("depth", "dpt", ("dpt",), "nets.dpt:load_dpt", "prior", "weight-free depth prior (or a depth map you pass)"),
    Stage("motion", "motion", ("motion",), "nets.spade_unet:load_motion_net", "hints",
          "motion from the flow hints alone"),
    Stage("inpaint", "inpainter", ("inpaint_depth", "inpaint_color"), "layers.inpaint:LearnedInpainter.from_files",
          "classical", "classical inpainting"),
    Stage("features", "feature_net", ("feature_net",), "nets.resunet:load_feature_net", "rgba",
          "RGBA point colours only"),
    Stage("decoder", "img_decoder", ("img_decoder",), "nets.img_decoder:load_img_decoder", "blend",
          "direct two-side blend", requires=("feature_net",)),
)}
"""The stages with a learned path, in pipeline order."""


def stage_of(network: str) -> Stage:
    """The stage that loads ``network`` (a key of ``NETWORKS``)."""
    return next(s for s in STAGES.values() if network in s.networks)


def stage_files(stage: str) -> str:
    """The files stage ``stage`` loads, for messages: ``'depth-model.pth (3D-Photo ...) and ...'``."""
    return " and ".join(f"{NETWORKS[n].filename} ({NETWORKS[n].title})" for n in STAGES[stage].networks)
