"""DPT-Hybrid (``DPTDepthModel``, backbone ``vitb_rn50_384``): monocular relative disparity.

Written from SPEC b. The ResNet-50 + ViT-B/16 hybrid backbone is timm's ``vit_base_r50_s16_384``
(built with ``pretrained=False``: timm never downloads anything here); the readout, reassembly,
fusion blocks and head are this module's own. Parameter names equal the official state dict
(``pretrained.model.*`` = the timm model, ``pretrained.act_postprocess{3,4}``, ``scratch.*``;
368 entries incl. the unused ImageNet head), so ``dpt_hybrid-midas-501f0c75.pt`` loads strictly.

Weight standardisation of the ResNet convolutions is timm's: ``(w - mean) / sqrt(var + 1e-8)``
for timm >= 0.9 (the golden files use it; DPT's pinned timm 0.4.5 divided by ``std + 1e-5``).
"""
from __future__ import annotations

import os
from typing import Optional, Union

import timm
import torch
import torch.nn.functional as F
from torch import nn

from .. import weights
from ..errors import CinemagraphError

TIMM_NAME = "vit_base_r50_s16_384"
PATCH = 16
FEATURES = 256
MULTIPLE = 32
"""Input height and width must be multiples of this (the deepest map is at 1/32 resolution)."""


def resize_pos_embed(pos_embed: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Position embeddings ``(1,1+G*G,C)`` (cls + square grid) -> ``(1,1+gh*gw,C)``.

    The grid part is resized bilinearly (align_corners False); the cls entry is kept.
    """
    cls_pos, grid_pos = pos_embed[:, :1], pos_embed[0, 1:]
    old = int(round(grid_pos.shape[0] ** 0.5))
    grid_pos = grid_pos.reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid_pos = F.interpolate(grid_pos, size=grid, mode="bilinear", align_corners=False)
    grid_pos = grid_pos.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)
    return torch.cat([cls_pos, grid_pos], dim=1)


class ProjectReadout(nn.Module):
    """Readout 'project': each patch token concatenated with the cls token -> Linear(2C, C) + GELU.

    ``(B,1+N,C)`` -> ``(B,N,C)``.
    """

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.project = nn.Sequential(nn.Linear(2 * dim, dim), nn.GELU())

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        patches = tokens[:, 1:]
        cls = tokens[:, :1].expand_as(patches)
        return self.project(torch.cat([patches, cls], dim=-1))


class Reassemble(nn.Sequential):
    """ViT tokens -> feature map: readout, tokens laid out on the patch grid, 1x1 conv, [3x3 s2 conv].

    Indices 1 and 2 hold no parameters (the official transpose/unflatten); they are kept as
    ``Identity`` so the state-dict indices (``.0.project.0``, ``.3``, ``.4``) match the checkpoint.
    """

    def __init__(self, dim: int, downsample: bool) -> None:
        layers = [ProjectReadout(dim), nn.Identity(), nn.Identity(), nn.Conv2d(dim, dim, 1)]
        if downsample:
            layers.append(nn.Conv2d(dim, dim, 3, stride=2, padding=1))
        super().__init__(*layers)

    def forward(self, tokens: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:  # type: ignore[override]
        """``(B,1+gh*gw,C)`` -> ``(B,C,gh,gw)`` (or ``(B,C,gh/2,gw/2)`` with the downsampling conv)."""
        x = self[0](tokens)
        x = x.transpose(1, 2).reshape(x.shape[0], x.shape[2], grid[0], grid[1])
        for layer in list(self)[3:]:
            x = layer(x)
        return x


class HybridViTEncoder(nn.Module):
    """timm's R50+ViT-B/16 with DPT's four taps: ResNet stages 0/1 and ViT blocks 8/11.

    ``(B,3,H,W)`` in [-1,1] -> maps ``(B,256,H/4,W/4)``, ``(B,512,H/8,W/8)``,
    ``(B,768,H/16,W/16)``, ``(B,768,H/32,W/32)``.
    """

    taps = (8, 11)

    def __init__(self) -> None:
        super().__init__()
        self.model = timm.create_model(TIMM_NAME, pretrained=False)
        dim = self.model.embed_dim
        self.act_postprocess3 = Reassemble(dim, downsample=False)
        self.act_postprocess4 = Reassemble(dim, downsample=True)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        vit = self.model
        resnet = vit.patch_embed.backbone
        grid = (x.shape[2] // PATCH, x.shape[3] // PATCH)
        y = resnet.stem(x)
        layer1 = resnet.stages[0](y)
        layer2 = resnet.stages[1](layer1)
        y = resnet.norm(resnet.stages[2](layer2))
        tokens = vit.patch_embed.proj(y).flatten(2).transpose(1, 2)
        tokens = torch.cat([vit.cls_token.expand(x.shape[0], -1, -1), tokens], dim=1)
        tokens = tokens + resize_pos_embed(vit.pos_embed, grid)
        taps = []
        for i, block in enumerate(vit.blocks[: self.taps[-1] + 1]):
            tokens = block(tokens)
            if i in self.taps:
                taps.append(tokens)
        layer3 = self.act_postprocess3(taps[0], grid)
        layer4 = self.act_postprocess4(taps[1], grid)
        return layer1, layer2, layer3, layer4


class ResidualConvUnit(nn.Module):
    """``x + conv2(relu(conv1(relu(x))))`` with 3x3 convs (bias, no BN). ``(B,C,h,w)`` -> same."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(F.relu(x))))


class FusionBlock(nn.Module):
    """Feature fusion: ``x [+ rcu1(skip)]`` -> rcu2 -> x2 bilinear (align_corners True) -> 1x1 conv.

    ``(B,C,h,w)`` (and a skip of the same size) -> ``(B,C,2h,2w)``.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.out_conv = nn.Conv2d(channels, channels, 1)
        self.resConfUnit1 = ResidualConvUnit(channels)
        self.resConfUnit2 = ResidualConvUnit(channels)

    def forward(self, x: torch.Tensor, skip: Optional[torch.Tensor] = None) -> torch.Tensor:
        if skip is not None:
            x = x + self.resConfUnit1(skip)
        x = self.resConfUnit2(x)
        x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
        return self.out_conv(x)


class FusionDecoder(nn.Module):
    """DPT's 'scratch': 3x3 projections to 256 channels, four fusion blocks, the depth head.

    Four encoder maps (1/4 .. 1/32 resolution) -> ``(B,1,H,W)`` non-negative disparity.
    """

    def __init__(self, in_channels: tuple[int, ...] = (256, 512, 768, 768), features: int = FEATURES) -> None:
        super().__init__()
        for i, c in enumerate(in_channels, start=1):
            setattr(self, f"layer{i}_rn", nn.Conv2d(c, features, 3, padding=1, bias=False))
        for i in range(1, len(in_channels) + 1):
            setattr(self, f"refinenet{i}", FusionBlock(features))
        self.output_conv = nn.Sequential(
            nn.Conv2d(features, features // 2, 3, padding=1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
            nn.Conv2d(features // 2, 32, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 1, 1),
            nn.ReLU(),
        )

    def forward(self, *layers: torch.Tensor) -> torch.Tensor:
        maps = [getattr(self, f"layer{i}_rn")(x) for i, x in enumerate(layers, start=1)]
        path = self.refinenet4(maps[3])
        path = self.refinenet3(path, maps[2])
        path = self.refinenet2(path, maps[1])
        path = self.refinenet1(path, maps[0])
        return self.output_conv(path)


class DPTDepthModel(nn.Module):
    """DPT-Hybrid depth network (MiDaS weights): image -> relative inverse depth.

    forward: ``(B,3,H,W)`` float32, RGB normalised to [-1,1] ((x - 0.5) / 0.5), H and W multiples
    of 32 -> ``(B,H,W)`` float32 relative disparity >= 0 (larger = nearer; no scale/shift).
    """

    def __init__(self) -> None:
        super().__init__()
        self.pretrained = HybridViTEncoder()
        self.scratch = FusionDecoder()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3 or x.shape[2] % MULTIPLE or x.shape[3] % MULTIPLE:
            raise CinemagraphError(
                f"DPT input must be (B,3,H,W) with H and W multiples of {MULTIPLE}; got {tuple(x.shape)}. "
                f"Use cinemagraph_core.depth.dpt.dpt_input to prepare an image")
        return self.scratch(*self.pretrained(x)).squeeze(1)


def load_dpt(path: Union[str, os.PathLike], device: Union[str, torch.device] = "cpu") -> DPTDepthModel:
    """Build the network and load ``dpt_hybrid-midas-501f0c75.pt`` (or its ``.safetensors``) strictly.

    The net is built on the 'meta' device (no memory, no random init) and takes the file's tensors;
    a training checkpoint (``optimizer`` key) uses its ``model`` entry. Returns the model in eval
    mode, float32, on ``device``. Raises CheckpointError for a wrong, truncated or unsafe file.
    """
    with torch.device("meta"):
        model = DPTDepthModel()
    weights.load_into(model, path, "dpt", assign=True)
    return model.to(device=device, dtype=torch.float32).eval().requires_grad_(False)
