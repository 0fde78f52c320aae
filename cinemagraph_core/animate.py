"""3-D symmetric animation: the point sets of each frame, produced on demand (SPEC e, i).

Frame t of N shows two copies of the cloud: the forward copy moved by the Euler displacement
Euler(M, t) and the backward copy moved by Euler(-M, N - t); the renderer blends them with
weights 1 - t/N and t/N, so the video loops (frame N would equal frame 0).
"""
from __future__ import annotations

from typing import Iterable, Iterator, Optional

from .errors import CinemagraphError
from .motion.euler import EulerIntegrator, symmetric_displacements
from .points import lift
from .types import Animation, FramePoints

Frame = tuple[int, FramePoints, Optional[FramePoints], float]


def iter_frames(anim: Animation, frames: Optional[Iterable[int]] = None) -> Iterator[Frame]:
    """Yield ``(t, forward, backward, time)`` for the frames t in increasing order.

    anim: the cloud, its motion field (same H, W) and N = ``anim.num_frames`` >= 1.
    frames: frame indices in 0..N-1 (any order, duplicates ignored); None = all N frames.
    forward = ``lift(cloud, Euler(M, t))``; backward = ``lift(cloud, Euler(-M, N - t))``, or None
    when ``anim.symmetric`` is False (naive forward-only animation); time = t / N in [0, 1).
    Integration is incremental (O(N) steps in total), and only the current frame's points are held.
    The input is checked when this is called, before the first frame.
    """
    n = check_animation(anim)
    wanted = None if frames is None else sorted(set(_frame_index(t, n) for t in frames))
    if anim.symmetric:
        return _symmetric(anim, n, wanted)
    return _forward_only(anim, n, range(n) if wanted is None else wanted)


def _symmetric(anim: Animation, n: int, wanted: Optional[list[int]]) -> Iterator[Frame]:
    for t, fwd, bwd in symmetric_displacements(anim.motion.flow, n, wanted):
        yield t, lift(anim.cloud, fwd), lift(anim.cloud, bwd), t / n


def _forward_only(anim: Animation, n: int, wanted: Iterable[int]) -> Iterator[Frame]:
    euler = EulerIntegrator(anim.motion.flow)
    for t in wanted:
        euler.advance(t - euler.steps)
        yield t, lift(anim.cloud, euler.displacement), None, t / n


def check_animation(anim: Animation) -> int:
    """N of a well-formed animation (an Animation whose motion has the cloud's size), else a clear error."""
    if not isinstance(anim, Animation):
        raise CinemagraphError(f"iter_frames needs an Animation (point cloud + motion + frame count), got "
                               f"{type(anim).__name__}")
    n = anim.num_frames
    if isinstance(n, bool) or not hasattr(n, "__index__") or int(n) < 1:
        raise CinemagraphError(f"the animation needs a whole number of frames >= 1, got {n!r}")
    if anim.motion.size != anim.cloud.size:
        (mh, mw), (ch, cw) = anim.motion.size, anim.cloud.size
        raise CinemagraphError(
            f"the motion field is {mh}x{mw} but the point cloud is {ch}x{cw}; make the motion at the LDI's "
            "resolution (resize the motion field or rebuild the LDI from the same image)")
    return int(n)


def _frame_index(t, n: int) -> int:
    if isinstance(t, bool) or not hasattr(t, "__index__") or not 0 <= int(t) < n:
        raise CinemagraphError(f"frame index {t!r} is not a whole number in 0..{n - 1}")
    return int(t)
