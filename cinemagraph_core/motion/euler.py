"""Euler integration of the Eulerian motion field, bit-exact with the official code (SPEC e).

With c the integer pixel grid (x, y), p = c, acc = c and nothing invalid, each step does

    p <- p + M[round(p.y), round(p.x)]          nearest lookup, rounding half to even
    invalid <- invalid | p outside [0, W-1] x [0, H-1]        (sticky)
    p <- c where invalid                         (restart from the source pixel)
    acc <- acc + M[round(p.y), round(p.x)]       (motion at the NEW position: a one-step look-ahead)

displacement = acc - c, visible = not invalid. All arithmetic is float32 in this order.

A video of N frames needs, for frame t, Euler(M, t) (forward) and Euler(-M, N - t) (backward).
``symmetric_displacements`` produces them in increasing t with O(N) steps in total and O(sqrt N)
stored maps: the backward integrator is run once to N - t_min keeping a checkpoint every
ceil(sqrt N) steps, then each segment between checkpoints is re-run from its checkpoint, last
segment first.
"""
from __future__ import annotations

import math
import operator
from typing import Iterable, Iterator, Optional, Protocol, TypeVar

import torch

from ..errors import CinemagraphError
from ..ops.sampling import pixel_grid


class EulerIntegrator:
    """Step-by-step Euler integration of ``flow`` ``(2,H,W)`` (x, y) px/frame.

    ``steps`` counts the steps taken; ``displacement`` ``(2,H,W)`` float32 px and ``visible``
    ``(H,W)`` bool are those after ``steps`` steps. Each step makes new tensors (never in place),
    so ``copy()`` is cheap and copies never share mutable state.
    """

    def __init__(self, flow: torch.Tensor):
        flow = _check_flow(flow)
        _, h, w = flow.shape
        self._h, self._w = h, w
        self._flow = flow.reshape(2, h * w)
        dev = flow.device
        self._grid = pixel_grid(h, w, dev)
        self._pos = self._grid
        self._acc = self._grid
        self._invalid = torch.zeros(h, w, dtype=torch.bool, device=dev)
        self.steps = 0

    def step(self) -> None:
        """Advance by one step (SPEC e)."""
        pos = self._pos + self._sample(self._pos)
        x, y = pos[0], pos[1]
        invalid = (x < 0).logical_or_(x > self._w - 1).logical_or_(y < 0).logical_or_(y > self._h - 1)
        invalid.logical_or_(self._invalid)
        pos = torch.where(invalid, self._grid, pos)
        self._acc = self._acc + self._sample(pos)
        self._pos, self._invalid = pos, invalid
        self.steps += 1

    def advance(self, n: int) -> None:
        """Take ``n`` >= 0 steps."""
        for _ in range(n):
            self.step()

    @property
    def displacement(self) -> torch.Tensor:
        return self._acc - self._grid

    @property
    def visible(self) -> torch.Tensor:
        return ~self._invalid

    def copy(self) -> "EulerIntegrator":
        """An independent integrator in the same state (shares the immutable tensors)."""
        other = object.__new__(EulerIntegrator)
        other.__dict__.update(self.__dict__)
        return other

    def _sample(self, pos: torch.Tensor) -> torch.Tensor:
        """Flow at the nearest pixel of ``pos`` (2,H,W), torch.round = half to even."""
        cell = torch.round(pos).long()
        idx = cell[1].mul_(self._w).add_(cell[0])
        return self._flow.index_select(1, idx.reshape(-1)).reshape(2, self._h, self._w)


def euler_integrate(flow: torch.Tensor, steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Euler(flow, steps): displacement ``(2,H,W)`` float32 px and visible ``(H,W)`` bool. 0 steps -> zeros."""
    n = _whole(steps)
    if n is None or n < 0:
        raise CinemagraphError(f"Euler integration needs a whole number of steps >= 0, got {steps!r}")
    integ = EulerIntegrator(flow)
    integ.advance(n)
    return integ.displacement, integ.visible


def symmetric_displacements(flow: torch.Tensor, num_frames: int, frames: Optional[Iterable[int]] = None
                            ) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Yield ``(t, Euler(flow, t), Euler(-flow, N - t))`` displacements ``(2,H,W)`` for t in increasing order.

    num_frames: N >= 1. frames: the t to produce (each in 0..N-1, duplicates ignored), default all.
    At most about 3 N integration steps in total and O(sqrt N) maps held at any time.
    """
    n = _whole(num_frames)
    if n is None or n < 1:
        raise CinemagraphError(f"num_frames must be a whole number >= 1, got {num_frames!r}")
    ts = sorted(set(range(n) if frames is None else (_frame_index(t, n) for t in frames)))
    if not ts:
        return
    flow = _check_flow(flow)
    fwd = EulerIntegrator(flow)
    for k, bwd in descending_states(EulerIntegrator(-flow), [n - t for t in ts]):
        t = n - k
        fwd.advance(t - fwd.steps)
        yield t, fwd.displacement, bwd.displacement


class Stepper(Protocol):
    """A state advanced one step at a time: ``steps`` taken so far, ``step()``, and a cheap ``copy()``
    that shares no mutable state (e.g. ``EulerIntegrator``, ``render.advect.Tracer``)."""

    steps: int

    def step(self) -> None: ...

    def copy(self): ...


S = TypeVar("S", bound=Stepper)


def descending_states(stepper: S, counts: list[int]) -> Iterator[tuple[int, S]]:
    """Yield ``(k, state after k steps)`` for ``counts`` (positive, strictly decreasing), checkpointed.

    ``stepper`` is a fresh stepper (0 steps; it is advanced). One pass to counts[0] keeps a copy
    every ceil(sqrt(counts[0])) steps; each segment is then re-run from its checkpoint, the last
    first, holding at most one segment of states: about 2 counts[0] steps in total and O(sqrt N)
    states in memory, where a plain pass would hold all N.
    """
    block = math.isqrt(counts[0] - 1) + 1
    integ = stepper
    checkpoints = {0: integ.copy()}
    while integ.steps < counts[0]:
        integ.step()
        if integ.steps % block == 0:
            checkpoints[integ.steps] = integ.copy()
    i = 0
    while i < len(counts):
        start = counts[i] // block * block
        group = []
        while i < len(counts) and counts[i] >= start:
            group.append(counts[i])
            i += 1
        seg = checkpoints.pop(start)
        wanted, held = set(group), {}
        if start in wanted:
            held[start] = seg.copy()
        while seg.steps < group[0]:
            seg.step()
            if seg.steps in wanted:
                held[seg.steps] = seg.copy()
        for k in group:
            yield k, held.pop(k)


def _frame_index(t, n: int) -> int:
    i = _whole(t)
    if i is None or not 0 <= i < n:
        raise CinemagraphError(f"frame index {t!r} is not a whole number in 0..{n - 1}")
    return i


def _whole(v) -> Optional[int]:
    """``v`` as an int when it is an integer (Python or numpy, not bool), else None."""
    if isinstance(v, bool):
        return None
    try:
        return operator.index(v)
    except TypeError:
        return None


def _check_flow(flow: torch.Tensor) -> torch.Tensor:
    """(2,H,W) finite float -> float32 contiguous tensor on the flow's device."""
    if not isinstance(flow, torch.Tensor) or flow.ndim != 3 or flow.shape[0] != 2:
        shape = tuple(flow.shape) if hasattr(flow, "shape") else type(flow).__name__
        raise CinemagraphError(f"Euler integration: expected a flow tensor (2,H,W) px/frame, got {shape}")
    flow = flow.detach().float().contiguous()
    if not bool(torch.isfinite(flow).all()):
        raise CinemagraphError("Euler integration: the flow has NaN/infinite values")
    return flow
