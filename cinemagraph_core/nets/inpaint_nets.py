"""The two 3D-Photo partial-convolution inpainting U-Nets (official ``depth-model.pth``, ``color-model.pth``).

Architecture (SPEC l): seven partial-conv encoder blocks (k 7/5/5/3/3/3/3, stride 2, channels
64, 128, 256, 512 x 4; BatchNorm except the first; ReLU), seven decoder blocks (nearest x2 upsampling
of features and masks, concatenation with the encoder level below, partial conv k3 s1, BatchNorm,
LeakyReLU 0.2; the last block has no BatchNorm and no activation). BatchNorm always uses its running
statistics (eval). State-dict names, shapes and order equal the official ones.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import CinemagraphError
from ..weights import PathLike, load_into

UNIT = 128
"""Inputs are zero padded to multiples of 128 (7 stride-2 levels)."""
ENCODER = ((64, 7), (128, 5), (256, 5), (512, 3), (512, 3), (512, 3), (512, 3))
"""(out channels, kernel) of enc_1 .. enc_7."""


class PartialConv(nn.Module):
    """Partial convolution: ``input_conv`` on masked input, renormalised by window size / valid count.

    forward(x ``(B,Cin,H,W)``, mask ``(B,Cin,H,W)`` or ``(B,1,H,W)`` 0/1, broadcast over channels)
    -> (y ``(B,Cout,h,w)``, new mask ``(B,1,h,w)``, or ``(B,Cout,h,w)`` for a non-constant mask kernel).
    Where no input entry of a window is valid, y = 0 and the new mask is 0; elsewhere the new mask
    is 1 and ``y = (conv(x * mask) - bias) * window / valid + bias`` with ``window = Cin * k * k``
    and ``valid = mask_conv(mask)``. The official files store an all-ones ``mask_conv`` kernel; then
    ``valid`` is computed as one single-channel box sum (same integers, far less work).
    """

    def __init__(self, cin: int, cout: int, k: int, stride: int, bias: bool) -> None:
        super().__init__()
        self.input_conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=bias)
        self.mask_conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        nn.init.ones_(self.mask_conv.weight)
        self.mask_conv.weight.requires_grad_(False)
        self._ones_key: tuple[int, int] | None = None

    def _mask_kernel_is_ones(self) -> bool:
        w = self.mask_conv.weight
        key = (w.data_ptr(), w._version)
        if self._ones_key != key:
            self._ones_key = key if bool((w == 1).all()) else None
        return self._ones_key == key

    def _valid_count(self, mask: torch.Tensor, cin: int) -> torch.Tensor:
        if not self._mask_kernel_is_ones():
            return self.mask_conv(mask.expand(-1, cin, -1, -1))
        per_pixel = mask.sum(1, keepdim=True) if mask.shape[1] == cin else mask * cin
        k, s, p = self.mask_conv.kernel_size, self.mask_conv.stride, self.mask_conv.padding
        return F.avg_pool2d(per_pixel, k, s, p, count_include_pad=True, divisor_override=1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        conv = self.input_conv
        cin = x.shape[1]
        y = conv(x * mask)
        valid = self._valid_count(mask, cin)
        holes = valid == 0
        window = float(cin * conv.weight.shape[2] * conv.weight.shape[3])
        scale = window / valid.masked_fill(holes, 1.0)
        if conv.bias is not None:
            b = conv.bias.view(1, -1, 1, 1)
            y = (y - b) * scale + b
        else:
            y = y * scale
        y = y.masked_fill(holes, 0.0)
        return y, (~holes).to(y.dtype)


class PartialConvBlock(nn.Module):
    """Partial conv -> optional BatchNorm2d -> activation (``'relu'``, ``'leaky'`` or ``None``)."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, bias: bool, bn: bool,
                 activation: str | None) -> None:
        super().__init__()
        self.conv = PartialConv(cin, cout, k, stride, bias)
        if bn:
            self.bn = nn.BatchNorm2d(cout)
        self.activation = activation

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        y, m = self.conv(x, mask)
        if hasattr(self, "bn"):
            y = F.batch_norm(y, self.bn.running_mean, self.bn.running_var, self.bn.weight, self.bn.bias,
                             False, 0.0, self.bn.eps)
        if self.activation == "relu":
            y = F.relu(y)
        elif self.activation == "leaky":
            y = F.leaky_relu(y, 0.2)
        return y, m


class PartialConvUNet(nn.Module):
    """Shared body of the two nets.

    in_channels: channels of the concatenated input; out_channels: of the last decoder;
    decoder_names: level (7..1) -> module name; decoder_order: registration order of those levels
    (fixes the state-dict order); enc1_bias / enc2_bias: conv biases of enc_1 / enc_2.
    """

    out_activation: str | None = None

    def __init__(self, in_channels: int, out_channels: int, decoder_names: dict[int, str],
                 decoder_order: tuple[int, ...], enc1_bias: bool, enc2_bias: bool) -> None:
        super().__init__()
        self.in_channels = in_channels
        cins = (in_channels,) + tuple(c for c, _ in ENCODER[:-1])
        for i, ((cout, k), cin) in enumerate(zip(ENCODER, cins), start=1):
            bias = (i == 1 and enc1_bias) or (i == 2 and enc2_bias)
            self.add_module(f"enc_{i}", PartialConvBlock(cin, cout, k, 2, bias, bn=i > 1, activation="relu"))
        self.decoder_names = decoder_names
        for level in decoder_order:
            up = ENCODER[level - 1][0]
            skip = in_channels if level == 1 else ENCODER[level - 2][0]
            cout = out_channels if level == 1 else ENCODER[level - 2][0]
            last = level == 1
            self.add_module(decoder_names[level], PartialConvBlock(
                up + skip, cout, 3, 1, bias=last, bn=not last, activation=None if last else "leaky"))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x: ``(B,in_channels,H,W)``, H and W multiples of 128; mask: same shape or ``(B,1,H,W)``, 0/1.

        Returns ``(B,out,H,W)`` before the output activation.
        """
        feats, masks = [x], [mask]
        for i in range(1, len(ENCODER) + 1):
            h, m = getattr(self, f"enc_{i}")(feats[-1], masks[-1])
            feats.append(h)
            masks.append(m)
        h, m = feats.pop(), masks.pop()
        for level in range(len(ENCODER), 0, -1):
            skip, skip_m = feats.pop(), masks.pop()
            m = torch.cat([F.interpolate(m, scale_factor=2.0, mode="nearest").expand(-1, h.shape[1], -1, -1),
                           skip_m.expand(-1, skip.shape[1], -1, -1)], 1)
            h = torch.cat([F.interpolate(h, scale_factor=2.0, mode="nearest"), skip], 1)
            h, m = getattr(self, self.decoder_names[level])(h, m)
        return h

    @torch.no_grad()
    def forward_padded(self, values: torch.Tensor, edge: torch.Tensor, context: torch.Tensor,
                       holes: torch.Tensor) -> torch.Tensor:
        """Official ``forward_3P``: concatenate, pad, run, crop.

        values: ``(1,Cv,H,W)`` (zero-mean log depth or context RGB); edge, context, holes: ``(1,1,H,W)``.
        The input ``[values, edge, context, holes]`` is zero padded to multiples of 128, centred
        (offset pad // 2 top/left); the partial-conv mask is ``clamp(context + holes, 0, 1)`` on
        every channel. Returns ``(1,out,H,W)`` after the output activation.
        """
        x = torch.cat([values, edge, context, holes], 1).float()
        if x.shape[1] != self.in_channels:
            raise CinemagraphError(
                f"{type(self).__name__} expects {self.in_channels} input channels, got {x.shape[1]}")
        h, w = x.shape[2:]
        ph, pw = -h % UNIT, -w % UNIT
        top, left = ph // 2, pw // 2
        x = F.pad(x, (left, pw - left, top, ph - top))
        m = torch.clamp(x[:, -2:-1] + x[:, -1:], 0, 1)
        y = self(x, m)[:, :, top:top + h, left:left + w]
        if self.out_activation == "sigmoid":
            y = torch.sigmoid(y)
        return y


class InpaintDepthNet(PartialConvUNet):
    """Official ``Inpaint_Depth_Net``: [log depth, edge, context, holes] (4 ch) -> log depth (1 ch, linear)."""

    def __init__(self) -> None:
        names = {i: f"dec_{i}" for i in range(1, 8)}
        super().__init__(4, 1, names, (5, 6, 7, 4, 3, 2, 1), enc1_bias=True, enc2_bias=True)


class InpaintColorNet(PartialConvUNet):
    """Official ``Inpaint_Color_Net``: input [rgb, edge, context, holes] (6 ch) -> RGB (3 ch, sigmoid)."""

    out_activation = "sigmoid"

    def __init__(self) -> None:
        names = {7: "dec_7", 6: "dec_6", 5: "dec_5A", 4: "dec_4A", 3: "dec_3A", 2: "dec_2A", 1: "dec_1A"}
        super().__init__(6, 3, names, (7, 6, 5, 4, 3, 2, 1), enc1_bias=False, enc2_bias=False)


def _load(net_class: type, path: PathLike, kind: str) -> PartialConvUNet:
    with torch.device("meta"):
        net = net_class()
    return load_into(net, path, kind, assign=True).eval()


def load_depth_net(path: PathLike) -> InpaintDepthNet:
    """``InpaintDepthNet`` loaded strictly from ``depth-model.pth`` (or its .safetensors), eval mode."""
    return _load(InpaintDepthNet, path, "inpaint_depth")


def load_color_net(path: PathLike) -> InpaintColorNet:
    """``InpaintColorNet`` loaded strictly from ``color-model.pth`` (or its .safetensors), eval mode."""
    return _load(InpaintColorNet, path, "inpaint_color")
