"""The feature network: a ResNet-34-style U-Net giving 32-channel quarter-resolution features (SPEC g).

State-dict layout of the official ``ResUNet`` (105 entries; ``model_150000.pth``, entry
``feature_net``). Every BatchNorm is built without running statistics, so it always normalises with
the statistics of the batch it is given — also in eval mode. The features of one LDI layer therefore
depend on the other layers passed in the same call (the official code passes all layers at once).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..weights import PathLike, load_into


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, track_running_stats=False)


def _conv3x3(cin: int, cout: int, stride: int = 1, bias: bool = False) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, 3, stride, padding=1, padding_mode="reflect", bias=bias)


class BasicBlock(nn.Module):
    """Residual block: two reflect-padded 3x3 convs with BN; 1x1 conv + BN shortcut when the shape changes."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv3x3(cin, cout, stride)
        self.bn1 = _bn(cout)
        self.conv2 = _conv3x3(cout, cout)
        self.bn2 = _bn(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), _bn(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        return F.relu(y + (x if self.downsample is None else self.downsample(x)))


class ConvBNELU(nn.Module):
    """Reflect-padded 3x3 conv (with bias) + BN + ELU."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = _conv3x3(cin, cout, bias=True)
        self.bn = _bn(cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.elu(self.bn(self.conv(x)))


class UpConv(nn.Module):
    """Bilinear x2 upsampling (align_corners True) followed by ``ConvBNELU``."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvBNELU(cin, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True))


def _skip(up: torch.Tensor, enc: torch.Tensor) -> torch.Tensor:
    """``[up, enc]`` along channels, ``enc`` zero-padded (or cropped) centrally to the size of ``up``."""
    dy, dx = up.shape[-2] - enc.shape[-2], up.shape[-1] - enc.shape[-1]
    if dy or dx:
        enc = F.pad(enc, (dx // 2, dx - dx // 2, dy // 2, dy - dy // 2))
    return torch.cat([up, enc], dim=1)


class ResUNet(nn.Module):
    """``(N,4,H,W)`` RGBA layers -> ``(N,32,H/4,W/4)`` float32 features (``4*ceil(H/16)`` in general).

    Encoder: 7x7 s2 conv + BN + ReLU, 3x3 s2 max-pool, 3/4/6 BasicBlocks (64/128/256 channels, the last
    two stages with stride 2). Decoder: two ``UpConv`` + skip + ``ConvBNELU`` steps and a 1x1 output
    conv. H, W multiples of 16 keep encoder and decoder aligned (otherwise encoder tensors are
    zero-padded, as the official code does).
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 32) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, 64, 7, 2, padding=3, padding_mode="reflect", bias=False)
        self.bn1 = _bn(64)
        self.layer1 = self._stage(64, 64, 3, 1)
        self.layer2 = self._stage(64, 128, 4, 2)
        self.layer3 = self._stage(128, 256, 6, 2)
        self.upconv3 = UpConv(256, 128)
        self.iconv3 = ConvBNELU(256, 128)
        self.upconv2 = UpConv(128, 64)
        self.iconv2 = ConvBNELU(128, out_channels)
        self.out_conv = nn.Conv2d(out_channels, out_channels, 1)

    @staticmethod
    def _stage(cin: int, cout: int, blocks: int, stride: int) -> nn.Sequential:
        return nn.Sequential(BasicBlock(cin, cout, stride), *(BasicBlock(cout, cout) for _ in range(blocks - 1)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.conv1.in_channels:
            raise CinemagraphError(
                f"feature net input must be (N,{self.conv1.in_channels},H,W) RGBA layers, got {tuple(x.shape)}")
        if min(x.shape[-2:]) < 32:
            raise CinemagraphError(f"feature net input {tuple(x.shape[-2:])} is too small; use at least 32x32 px")
        x1 = self.layer1(F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1))
        x2 = self.layer2(x1)
        x3 = self.layer3(x2)
        y = self.iconv3(_skip(self.upconv3(x3), x2))
        y = self.iconv2(_skip(self.upconv2(y), x1))
        return self.out_conv(y)


def load_feature_net(path: PathLike, device: torch.device | str = "cpu") -> ResUNet:
    """Load the feature net from ``model_150000.pth`` (entry ``feature_net``; the optimizer,
    scheduler, img_decoder and netD entries are ignored) or a converted file; eval mode, on ``device``."""
    net = load_into(ResUNet(), path, "feature_net")
    return net.eval().requires_grad_(False).to(device)
