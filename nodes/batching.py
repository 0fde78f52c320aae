"""Batches in the nodes: B images, each input holding B items or one used for all, and the frames out.

Custom-type inputs (``CINE_*``) are tuples of core objects, one per image.
"""
from __future__ import annotations

from typing import Sequence, TypeVar

import torch

from cinemagraph_core.errors import CinemagraphError

T = TypeVar("T")


def batch_size(**counts: int) -> int:
    """The common batch size B of several inputs; inputs with 1 item are used for every image."""
    sizes = {n: int(c) for n, c in counts.items() if c is not None}
    big = {c for c in sizes.values() if c != 1}
    if len(big) > 1:
        listing = ", ".join(f"{n}: {c}" for n, c in sizes.items())
        raise CinemagraphError(
            f"batch sizes differ ({listing}); every input must hold the same number of items, or 1 (used for all)")
    return big.pop() if big else 1


def pick(items: Sequence[T], b: int) -> T:
    """Item b of a batch, or the single item of a batch of one."""
    return items[0] if len(items) == 1 else items[b]


def items_of(value, cls: type, what: str) -> tuple:
    """A custom-type input (tuple of core objects, one per image) checked for its element type."""
    if isinstance(value, cls):
        return (value,)
    if not isinstance(value, (tuple, list)) or not value or not all(isinstance(v, cls) for v in value):
        got = type(value).__name__ if not isinstance(value, (tuple, list)) else \
            f"{type(value).__name__} of {', '.join(sorted({type(v).__name__ for v in value})) or 'nothing'}"
        raise CinemagraphError(f"{what}: expected the output of a 3D Cinemagraph node ({cls.__name__} per image), "
                               f"got {got}; connect the matching output")
    return tuple(value)


class FrameBatch:
    """The output IMAGE ``(B*N,H,W,3)`` float32 of B cinemagraphs of N frames, filled one frame at a time
    (image b's frame t goes to row ``b*N + t``), so nothing but the output itself is held."""

    def __init__(self, items: int, frames: int):
        self.items, self.frames = int(items), int(frames)
        self.image = None

    def put(self, b: int, t: int, rgb: torch.Tensor) -> None:
        """Store frame t ``(3,H,W)`` float 0..1 of image b."""
        if self.image is None:
            self.image = torch.empty((self.items * self.frames, int(rgb.shape[1]), int(rgb.shape[2]), 3))
        self.image[b * self.frames + t] = rgb.permute(1, 2, 0)
