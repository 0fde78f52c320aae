"""The motion network: a SPADE-modulated U-Net predicting an Eulerian flow (SPEC d).

State-dict layout of the official ``SPADEUnetMaskMotion`` (``motion_predictor.*``, 142 entries; the
file ``sceneflow_model.pth``, entry ``netG``). Spectral-normalised convolutions are stored as
``weight_orig``, ``weight_u``, ``weight_v``, ``bias``; the normalised weight ``weight_orig / sigma`` is
computed once (at load) and then kept fixed, so inference is deterministic.
"""
from __future__ import annotations

from typing import Literal

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..weights import PathLike, load_into

SpectralMode = Literal["train", "eval"]
SIZE_MULTIPLE = 256
"""Height and width of the motion net input must be multiples of this (8 stride-2 convolutions)."""


def mixed_resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(N,C,H,W)``, C >= 4, to ``size``: channel 3 nearest, all other channels bilinear
    (align_corners False) — the official treatment of [RGB, mask, hint] inputs, which its decoder
    also applies to feature maps."""
    smooth = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
    sharp = F.interpolate(x[:, 3:4], size=size, mode="nearest")
    return torch.cat([smooth[:, :3], sharp, smooth[:, 4:]], dim=1)


def _up2(x: torch.Tensor) -> torch.Tensor:
    return mixed_resize(x, (2 * x.shape[-2], 2 * x.shape[-1]))


class SpectralConv2d(nn.Module):
    """Conv2d with spectral normalisation frozen to one sigma.

    Parameters/buffers as the official checkpoint: ``weight_orig`` ``(out,in,k,k)``, ``bias``
    ``(out,)``, ``weight_u`` ``(out,)``, ``weight_v`` ``(in*k*k,)``. ``freeze`` sets the weight used
    by ``forward`` to ``weight_orig / sigma``.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int, padding: int) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding
        self.bias = nn.Parameter(torch.zeros(cout))
        self.weight_orig = nn.Parameter(torch.empty(cout, cin, kernel, kernel))
        nn.init.kaiming_uniform_(self.weight_orig, a=5**0.5)
        self.register_buffer("weight_u", F.normalize(torch.randn(cout), dim=0))
        self.register_buffer("weight_v", F.normalize(torch.randn(cin * kernel * kernel), dim=0))
        self.register_buffer("weight", torch.empty(0), persistent=False)
        self.register_buffer("sigma", torch.ones(()), persistent=False)
        self.freeze("eval")

    @torch.no_grad()
    def freeze(self, mode: SpectralMode) -> torch.Tensor:
        """Compute sigma and fix ``weight = weight_orig / sigma``; returns sigma (0-d tensor).

        ``'train'``: one power iteration first (v <- normalise(W^T u), u <- normalise(W v), eps 1e-12,
        W = weight_orig as ``(out, -1)``), storing the new u, v — what the official net does on its
        first call in train mode. ``'eval'``: sigma = u^T W v from the stored u, v.
        """
        w = self.weight_orig.reshape(self.weight_orig.shape[0], -1)
        u, v = self.weight_u, self.weight_v
        if mode == "train":
            v = F.normalize(torch.mv(w.t(), u), dim=0, eps=1e-12)
            u = F.normalize(torch.mv(w, v), dim=0, eps=1e-12)
            self.weight_u.copy_(u)
            self.weight_v.copy_(v)
        elif mode != "eval":
            raise CinemagraphError(f"spectral-norm mode must be 'train' or 'eval', got {mode!r}")
        self.sigma = torch.dot(u, torch.mv(w, v))
        self.weight = self.weight_orig.detach() / self.sigma
        return self.sigma

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding)


class SPADE(nn.Module):
    """Parameter-free instance norm (eps 1e-5) modulated by the 6-channel input:
    ``IN(x) * (1 + gamma(c)) + beta(c)`` with c resized to the size of x (see ``mixed_resize``)."""

    def __init__(self, channels: int, cond_channels: int = 6, hidden: int = 128) -> None:
        super().__init__()
        self.mlp_shared = nn.Sequential(nn.Conv2d(cond_channels, hidden, 3, padding=1), nn.ReLU())
        self.mlp_gamma = nn.Conv2d(hidden, channels, 3, padding=1)
        self.mlp_beta = nn.Conv2d(hidden, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        h = self.mlp_shared(mixed_resize(cond, (x.shape[-2], x.shape[-1])))
        return F.instance_norm(x, eps=1e-5) * (1 + self.mlp_gamma(h)) + self.mlp_beta(h)


class SPADEUnet4MaskMotion(nn.Module):
    """8-level U-Net: ``(N,6,H,W)`` -> ``(N,2,H,W)``; H, W multiples of 256.

    Encoder convs k4 s2 p1 (conv1..conv8), decoder convs k3 s1 p1 (dconv1..dconv8), SPADE after
    conv2..conv7 and dconv1..dconv7. Every decoder upsampling (features and skip tensors) is
    ``mixed_resize`` to twice the size.
    """

    ENCODER = (32, 64, 128, 256, 256, 256, 256, 256)
    DECODER = (256, 256, 256, 256, 128, 64, 32, 2)
    SPADE_NAMES = ("spade_layer2_0", "spade_layer4_0", "spade_layer8_0", "spade_layer8_1", "spade_layer8_2",
                   "spade_layer8_3", "spade_layer8_4", "spade_layer8_5", "spade_layer8_6", "spade_layer8_7",
                   "spade_layer4_1", "spade_layer2_1", "spade_layer")

    def __init__(self, in_channels: int = 6) -> None:
        super().__init__()
        cin = in_channels
        for i, c in enumerate(self.ENCODER, 1):
            setattr(self, f"conv{i}", SpectralConv2d(cin, c, 4, 2, 1))
            cin = c
        skips = self.ENCODER[::-1][1:] + (0,)
        for i, c in enumerate(self.DECODER, 1):
            setattr(self, f"dconv{i}", SpectralConv2d(cin, c, 3, 1, 1))
            cin = c + skips[i - 1]
        spade_channels = dict(zip(self.SPADE_NAMES, self.ENCODER[1:7] + self.DECODER[:7]))
        for name in sorted(spade_channels):  # alphabetical = the official state-dict order
            setattr(self, name, SPADE(spade_channels[name], in_channels))

    def spectral_convs(self) -> dict[str, SpectralConv2d]:
        """The 16 spectral-normalised convs in order conv1..conv8, dconv1..dconv8."""
        return {f"{p}{i}": getattr(self, f"{p}{i}") for p in ("conv", "dconv") for i in range(1, 9)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spades = [getattr(self, n) for n in self.SPADE_NAMES]
        e = [self.conv1(x)]
        for i in range(2, 8):
            e.append(spades[i - 2](getattr(self, f"conv{i}")(F.leaky_relu(e[-1], 0.2)), x))
        d = _up2(F.relu(self.conv8(F.leaky_relu(e[-1], 0.2))))
        for i in range(1, 8):
            d = spades[5 + i](getattr(self, f"dconv{i}")(d), x)
            d = F.relu(torch.cat([_up2(d), _up2(e[7 - i])], dim=1))
        return self.dconv8(d)


class SPADEUnetMaskMotion(nn.Module):
    """The official wrapper: predicts the flow from image, mask and hint (SPEC d, div_flow 1).

    ``forward(image (N,3,H,W) in [-1,1], mask (N,1,H,W) 0..1, hint (N,2,H,W) px) -> (N,2,H,W)``
    float32 flow in px of the input grid; H, W multiples of 256 (the demo uses 768).
    """

    def __init__(self) -> None:
        super().__init__()
        self.motion_predictor = SPADEUnet4MaskMotion(6)

    def freeze_spectral_norm(self, mode: SpectralMode = "train") -> dict[str, float]:
        """Fix every spectral-norm sigma (see ``SpectralConv2d.freeze``); returns {conv name: sigma}."""
        return {n: float(c.freeze(mode)) for n, c in self.motion_predictor.spectral_convs().items()}

    def spectral_sigmas(self) -> dict[str, float]:
        """The sigma each spectral-normalised conv currently divides by."""
        return {n: float(c.sigma) for n, c in self.motion_predictor.spectral_convs().items()}

    def forward(self, image: torch.Tensor, mask: torch.Tensor, hint: torch.Tensor) -> torch.Tensor:
        n, h, w = image.shape[0], image.shape[-2], image.shape[-1]
        if (tuple(image.shape), tuple(mask.shape), tuple(hint.shape)) != ((n, 3, h, w), (n, 1, h, w), (n, 2, h, w)):
            raise CinemagraphError(
                f"motion net inputs disagree: image {tuple(image.shape)}, mask {tuple(mask.shape)}, hint "
                f"{tuple(hint.shape)}; expected (N,3,H,W), (N,1,H,W), (N,2,H,W)")
        if h % SIZE_MULTIPLE or w % SIZE_MULTIPLE or h == 0 or w == 0:
            raise CinemagraphError(
                f"motion net input is {h}x{w}; height and width must be positive multiples of {SIZE_MULTIPLE} "
                f"(the official size is 768x768)")
        return self.motion_predictor(torch.cat([image, mask, hint], dim=1))


def load_motion_net(path: PathLike, device: torch.device | str = "cpu",
                    spectral_norm: SpectralMode = "train") -> SPADEUnetMaskMotion:
    """Load the motion net from ``sceneflow_model.pth`` (entry ``netG``) or a converted file.

    spectral_norm: ``'train'`` (default; what the official demo computes: one power iteration at
    load, then frozen) or ``'eval'`` (sigma from the stored u, v). Returns the net in eval mode on
    ``device``. Raises CheckpointError for a wrong, truncated or mismatching file.
    """
    net = load_into(SPADEUnetMaskMotion(), path, "motion")
    net.freeze_spectral_norm(spectral_norm)
    return net.eval().requires_grad_(False).to(device)
