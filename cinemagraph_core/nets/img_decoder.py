"""The image decoder: blends the two rendered sides and decodes RGB with a U-Net (SPEC j).

State-dict layout of the official ``ImgDecoder`` (95 entries incl. the learned blending sharpness
``alpha``; ``model_150000.pth``, entry ``img_decoder``).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..weights import PathLike, load_into

ALPHA_CHANNEL = 3
"""Channel of a side map holding the rendered coverage (alpha)."""


def _conv_gn_prelu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect"),
                         nn.GroupNorm(cout // 32, cout), nn.PReLU())


def _up2(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)


class DoubleConv(nn.Module):
    """Two conv3x3(reflect) + GroupNorm(C/32) + PReLU steps; the second may take extra skip channels.

    ``forward`` returns both results ``(first, second)``.
    """

    def __init__(self, cin: int, cmid: int, cout: int, skip: int = 0) -> None:
        super().__init__()
        self.double_conv1 = _conv_gn_prelu(cin, cmid)
        self.double_conv2 = _conv_gn_prelu(cmid + skip, cout)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        first = self.double_conv1(x)
        return first, self.double_conv2(first)


class Down(nn.Module):
    """2x2 max-pool then ``DoubleConv``; returns both intermediate tensors."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.maxpool_conv = nn.Sequential(nn.MaxPool2d(2), DoubleConv(cin, cout, cout))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.maxpool_conv[1](self.maxpool_conv[0](x))


class Up(nn.Module):
    """x2 upsampling, reflect-pad (or crop, for negative differences) centrally to the skip size,
    ``[skip_a, up]`` -> conv -> ``[skip_b, .]`` -> conv."""

    def __init__(self, cin: int, cskip: int, cmid: int, cout: int) -> None:
        super().__init__()
        self.conv = DoubleConv(cin + cskip, cmid, cout, skip=cskip)

    def forward(self, x: torch.Tensor, skip_a: torch.Tensor, skip_b: torch.Tensor) -> torch.Tensor:
        x = _up2(x)
        dy, dx = skip_a.shape[-2] - x.shape[-2], skip_a.shape[-1] - x.shape[-1]
        x = F.pad(x, (dx // 2, dx - dx // 2, dy // 2, dy - dy // 2), mode="reflect")
        x = self.conv.double_conv1(torch.cat([skip_a, x], dim=1))
        return self.conv.double_conv2(torch.cat([skip_b, x], dim=1))


class OutConv(nn.Module):
    """x2 upsampling, ``[skip, up]``, conv3x3 (reflect), sigmoid."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, padding=1, padding_mode="reflect")

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.conv(torch.cat([skip, _up2(x)], dim=1)))


class ImgDecoder(nn.Module):
    """Two 37-channel side maps and the time -> RGB.

    ``forward(x0, x1 (N,C,H,W), time) -> (N,3,H,W)`` float32 in (0,1); channel 3 is the coverage and
    the last channel the normalised disparity of each side; H, W even. The sides are first blended
    with ``w_j = time_j * exp(alpha * disp_j) * coverage_j`` (time_0 = 1 - time, time_1 = time),
    normalised by ``max(w0 + w1, 1e-6)``; ``alpha`` is the learned scalar.

    Note (official quirk): ``up1`` upsamples the H/16 bottleneck to H/8 and crops its centre back to
    H/16, so the bottleneck path only sees the centre of its upsampled map.
    """

    def __init__(self, in_channels: int = 37, out_channels: int = 3) -> None:
        super().__init__()
        self.alpha = nn.Parameter(torch.tensor(1.0))
        self.firstconv = nn.Conv2d(in_channels, 32, 7, padding=3, bias=False)
        self.firstprelu = nn.PReLU()
        self.down1 = Down(32, 64)
        self.down2 = Down(64, 128)
        self.down3 = Down(128, 256)
        self.down4 = Down(256, 512)
        self.conv5 = DoubleConv(512, 512, 512)
        self.up1 = Up(512, 512, 512, 256)
        self.up2 = Up(256, 256, 256, 128)
        self.up3 = Up(128, 128, 128, 64)
        self.up4 = Up(64, 64, 64, 32)
        self.outc = OutConv(64, out_channels)

    def blend(self, x0: torch.Tensor, x1: torch.Tensor, time: float) -> torch.Tensor:
        """The time/disparity/coverage-weighted mix of the two sides ``(N,C,H,W)``."""
        w0 = (1 - time) * torch.exp(self.alpha * x0[:, -1:]) * x0[:, ALPHA_CHANNEL:ALPHA_CHANNEL + 1]
        w1 = time * torch.exp(self.alpha * x1[:, -1:]) * x1[:, ALPHA_CHANNEL:ALPHA_CHANNEL + 1]
        s = torch.clamp(w0 + w1, min=1e-6)
        return w0 / s * x0 + w1 / s * x1

    def forward(self, x0: torch.Tensor, x1: torch.Tensor, time: float) -> torch.Tensor:
        c = self.firstconv.in_channels
        if x0.dim() != 4 or x0.shape != x1.shape or x0.shape[1] != c:
            raise CinemagraphError(
                f"image decoder needs two (N,{c},H,W) side maps of equal shape, got {tuple(x0.shape)} and "
                f"{tuple(x1.shape)}")
        h, w = x0.shape[-2:]
        if h % 2 or w % 2 or min(h, w) < 32:
            raise CinemagraphError(
                f"image decoder input is {h}x{w}; height and width must be even and at least 32 "
                f"(multiples of 16 recommended) - resize or pad the image")
        f0 = self.firstprelu(self.firstconv(self.blend(x0, x1, float(time))))
        a1, f1 = self.down1(f0)
        a2, f2 = self.down2(f1)
        a3, f3 = self.down3(f2)
        a4, f4 = self.down4(f3)
        _, f5 = self.conv5(f4)
        y = self.up1(f5, f4, a4)
        y = self.up2(y, f3, a3)
        y = self.up3(y, f2, a2)
        y = self.up4(y, f1, a1)
        return self.outc(y, f0)


def load_img_decoder(path: PathLike, device: torch.device | str = "cpu") -> ImgDecoder:
    """Load the image decoder from ``model_150000.pth`` (entry ``img_decoder``; other entries are
    ignored) or a converted file; eval mode, on ``device``."""
    net = load_into(ImgDecoder(), path, "img_decoder")
    return net.eval().requires_grad_(False).to(device)
