"""Six synthetic cinemagraph scenes with exact geometry, textures and fluid motion.

``make_scene(kind, size, num_frames)`` builds one: analytic surfaces in a world frame, the source
camera (official intrinsics, identity pose), the depth scale (nearest source depth = 1), and the
inputs of the method rendered by the ground-truth renderer at the source view: image, exact depth,
fluid mask and the Eulerian flow (px/frame, constant on each fluid surface).

Design rule for every fluid (see README.md): its flow is constant, it lies on a surface whose source
depth does not change along the flow (a camera-facing plane, or a ground plane with flow along image
rows), and every boundary it flows across is the image border or a nearer occluder. Then the
method's constant-depth lift and its Euler integration are exact, and its artefacts are what the
benchmark measures.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable

import numpy as np
import torch

from cinemagraph_core.camera import default_intrinsics
from cinemagraph_core.types import Depth

from . import textures as tx
from .geometry import Cylinder, Ellipsoid, Plane, Surface, World, cast, pitch_down
from .groundtruth import REF_WIDTH, pixel_rays, render_view
from .noise import fbm


def _profile(centre: float, amp: float, scale: float, seed: int) -> Callable[[np.ndarray], np.ndarray]:
    """A 1-D curve ``centre + amp * noise(x / scale)`` (world units), piecewise linear between knots
    ``scale / 64`` apart on [-80, 80] (constant beyond)."""
    knots = np.arange(-80.0, 80.0 + scale / 128, scale / 64)
    values = centre + amp * fbm(knots / scale, np.zeros_like(knots), seed, 4)
    return lambda x: np.interp(x, knots, values)


def _below(profile: Callable[[np.ndarray], np.ndarray]):
    """Region of a camera-facing plane under a ridge line (y points down)."""
    return lambda a, b: b > profile(a)


def _sky(z: float, seed: int, top=(0.32, 0.5, 0.82), horizon=(0.72, 0.82, 0.93)) -> Surface:
    return Surface("sky", Plane.fronto(z), tx.sky(top, horizon, 140.0, seed))


def _tree(x: float, z: float, ground: float, height: float, crown: float, seed: int) -> tuple[Surface, ...]:
    trunk = Surface("trunk", Cylinder((x, ground + 0.2, z), (0.0, -1.0, 0.0), 0.06 * crown, height + 0.2),
                    tx.streaked((0.3, 0.22, 0.15), (0.16, 0.12, 0.08), 2.0, 9.0, seed))
    leaves = Surface("crown", Ellipsoid((x, ground - height, z), (crown, 1.2 * crown, crown)),
                     tx.mottled((0.1, 0.3, 0.1), (0.3, 0.5, 0.16), 5.0, seed + 1, 1.3))
    return trunk, leaves


def river(num_frames: int) -> World:
    """A river crossing a meadow (flow along image rows), rocks and bushes on the near bank."""
    flow = (1.0, 0.0)
    ground = 1.0
    in_river = lambda a, b: (b > 2.6) & (b < 5.0)
    surfaces = (
        _sky(90.0, 1),
        Surface("mountains", Plane.fronto(45.0, _below(_profile(-7.5, 3.5, 9.0, 2))),
                tx.mountain((0.42, 0.45, 0.55), (0.93, 0.95, 1.0), -7.5, 3)),
        Surface("hills", Plane.fronto(24.0, _below(_profile(-1.6, 1.2, 5.0, 4))),
                tx.mottled((0.2, 0.36, 0.2), (0.35, 0.48, 0.28), 6.0, 5)),
        Surface("meadow", Plane.ground(ground, lambda a, b: ~in_river(a, b)),
                tx.mottled((0.28, 0.48, 0.16), (0.5, 0.6, 0.25), 4.0, 6)),
        Surface("river", Plane.ground(ground, in_river),
                tx.water((0.1, 0.26, 0.38), (0.75, 0.86, 0.9), flow, num_frames, 7), flow),
        Surface("rock", Ellipsoid((-0.55, ground - 0.05, 2.3), (0.32, 0.28, 0.25)),
                tx.rock((0.52, 0.48, 0.44), (0.25, 0.23, 0.22), 3.0, 8)),
        Surface("rock", Ellipsoid((0.2, ground + 0.02, 2.05), (0.16, 0.14, 0.14)),
                tx.rock((0.48, 0.45, 0.4), (0.22, 0.2, 0.2), 2.5, 9)),
        Surface("bush", Ellipsoid((0.95, ground - 0.1, 2.5), (0.35, 0.3, 0.3)),
                tx.mottled((0.12, 0.32, 0.1), (0.35, 0.55, 0.18), 3.0, 10, 1.3)),
        *_tree(-1.6, 7.5, ground, 1.9, 0.7, 11),
        *_tree(1.2, 9.0, ground, 2.2, 0.8, 13),
    )
    return World(surfaces, pitch_down(12.0))


def waterfall(num_frames: int) -> World:
    """A waterfall against a rock face, emerging from behind a rock lip, falling behind a near ledge."""
    flow = (0.0, 1.3)
    surfaces = (
        _sky(60.0, 21),
        Surface("cliff", Plane.fronto(9.0, _below(_profile(-3.0, 0.7, 2.0, 22))),
                tx.rock((0.5, 0.44, 0.38), (0.24, 0.2, 0.18), 5.0, 23)),
        Surface("waterfall", Plane.fronto(8.7, lambda a, b: (a > -0.6) & (a < 0.9) & (b > -2.5) & (b < 1.6)),
                tx.water((0.55, 0.68, 0.75), (0.97, 0.99, 1.0), flow, num_frames, 24, 18.0, 3.0, 1.5), flow),
        Surface("lip", Plane.fronto(8.35, lambda a, b: (a > -0.9) & (a < 1.2) & (b > -2.8)
                                    & (b < _profile(-2.15, 0.12, 0.4, 25)(a))),
                tx.rock((0.42, 0.37, 0.32), (0.2, 0.17, 0.15), 3.0, 26)),
        Surface("moss", Ellipsoid((-1.7, -0.6, 8.4), (0.8, 1.1, 0.3)),
                tx.mottled((0.15, 0.3, 0.12), (0.3, 0.45, 0.2), 4.0, 27, 1.2)),
        Surface("moss", Ellipsoid((2.3, -1.4, 8.5), (0.7, 0.9, 0.3)),
                tx.mottled((0.15, 0.3, 0.12), (0.3, 0.45, 0.2), 4.0, 28, 1.2)),
        Surface("ledge", Plane.fronto(2.2, _below(_profile(0.2, 0.07, 0.25, 29))),
                tx.rock((0.36, 0.32, 0.28), (0.16, 0.14, 0.13), 4.0, 30)),
        Surface("boulder", Ellipsoid((-0.35, 0.3, 1.75), (0.28, 0.22, 0.2)),
                tx.rock((0.46, 0.42, 0.38), (0.22, 0.2, 0.18), 2.5, 31)),
        Surface("boulder", Ellipsoid((0.5, 0.33, 1.95), (0.2, 0.16, 0.16)),
                tx.rock((0.5, 0.45, 0.4), (0.24, 0.21, 0.19), 2.5, 32)),
    )
    return World(surfaces, np.eye(3))


def clouds(num_frames: int) -> World:
    """Clouds drifting (diagonally) over three mountain ranges; a tree and rocks in front."""
    flow = (0.7, 0.12)
    surfaces = (
        Surface("clouds", Plane.fronto(70.0),
                tx.clouds((0.25, 0.45, 0.8), (0.65, 0.78, 0.92), flow, num_frames, 41, 110.0), flow),
        Surface("range", Plane.fronto(32.0, _below(_profile(-7.0, 2.8, 5.0, 42))),
                tx.mountain((0.45, 0.5, 0.62), (0.92, 0.94, 1.0), -6.5, 43)),
        Surface("range", Plane.fronto(18.0, _below(_profile(-2.2, 1.5, 3.0, 44))),
                tx.mountain((0.4, 0.4, 0.42), (0.9, 0.92, 0.95), -2.6, 45)),
        Surface("range", Plane.fronto(10.0, _below(_profile(-0.2, 0.5, 1.5, 46))),
                tx.mottled((0.22, 0.34, 0.18), (0.38, 0.44, 0.26), 5.0, 47)),
        Surface("meadow", Plane.ground(1.0), tx.mottled((0.3, 0.5, 0.18), (0.5, 0.62, 0.25), 4.0, 48)),
        *_tree(-1.05, 2.6, 1.0, 1.3, 0.45, 49),
        Surface("rock", Ellipsoid((0.85, 0.95, 2.4), (0.3, 0.22, 0.25)),
                tx.rock((0.5, 0.47, 0.43), (0.24, 0.22, 0.2), 3.0, 51)),
    )
    return World(surfaces, np.eye(3))


def lake(num_frames: int) -> World:
    """A lake (slow drift along image rows) between layered shores at four depths."""
    flow = (-0.6, 0.0)
    ground = 1.0
    in_lake = lambda a, b: (b > 4.0) & (b < 30.0)
    left_edge, left_top = _profile(-3.2, 0.6, 0.5, 61), _profile(-0.2, 0.3, 0.6, 70)
    right_edge, right_top = _profile(1.3, 0.3, 0.4, 62), _profile(0.1, 0.25, 0.5, 72)
    surfaces = (
        _sky(95.0, 63),
        Surface("mountain", Plane.fronto(60.0, _below(_profile(-9.0, 4.0, 14.0, 64))),
                tx.mountain((0.45, 0.5, 0.6), (0.95, 0.96, 1.0), -10.0, 65)),
        Surface("far shore", Plane.fronto(30.0, _below(_profile(-1.0, 1.0, 3.0, 66))),
                tx.mottled((0.12, 0.28, 0.14), (0.24, 0.4, 0.2), 3.5, 67, 1.2)),
        Surface("beach", Plane.ground(ground, lambda a, b: ~in_lake(a, b)),
                tx.mottled((0.55, 0.5, 0.38), (0.7, 0.64, 0.5), 3.0, 68)),
        Surface("lake", Plane.ground(ground, in_lake),
                tx.water((0.12, 0.25, 0.4), (0.55, 0.7, 0.85), flow, num_frames, 69, 20.0, 4.0, 2.0), flow),
        Surface("left shore", Plane.fronto(12.0, lambda a, b: (a < left_edge(b) - 0.35 * (b - ground))
                                           & (b > left_top(a))),
                tx.mottled((0.15, 0.3, 0.12), (0.3, 0.42, 0.18), 3.0, 71, 1.2)),
        Surface("right shore", Plane.fronto(7.0, lambda a, b: (a > right_edge(b) + 0.2 * (b - ground))
                                            & (b > right_top(a))),
                tx.rock((0.45, 0.4, 0.34), (0.22, 0.2, 0.17), 3.0, 73)),
        Surface("near bank", Plane.fronto(3.3, _below(_profile(0.66, 0.05, 0.2, 74))),
                tx.streaked((0.3, 0.42, 0.15), (0.55, 0.6, 0.28), 1.5, 6.0, 75)),
        *_tree(2.3, 7.5, ground, 2.4, 0.7, 76),
    )
    return World(surfaces, pitch_down(8.0))


def smoke(num_frames: int) -> World:
    """Smoke rising (slightly leaning) from a pipe in front of a brick wall; a barrel and a lamp post."""
    flow = (0.25, -1.0)
    floor, x0, top = 0.9, 0.3, 0.1
    lean = flow[0] / flow[1]
    plume = lambda a, b: (np.abs(a - x0 - lean * (b - top)) < 0.22) & (b < top)
    surfaces = (
        Surface("wall", Plane.fronto(4.0), tx.bricks((0.6, 0.3, 0.22), (0.72, 0.7, 0.66), (0.3, 0.1), 81)),
        Surface("floor", Plane.ground(floor), tx.mottled((0.4, 0.38, 0.36), (0.55, 0.52, 0.5), 3.0, 82)),
        Surface("smoke", Plane.fronto(3.2, plume),
                tx.smoke((0.45, 0.45, 0.48), (0.93, 0.93, 0.95), flow, num_frames, 83), flow),
        Surface("pipe", Cylinder((x0, floor, 3.2), (0.0, -1.0, 0.0), 0.2, floor - top),
                tx.streaked((0.3, 0.3, 0.32), (0.5, 0.5, 0.52), 3.0, 1.0, 84)),
        Surface("barrel", Cylinder((-0.85, floor, 2.3), (0.0, -1.0, 0.0), 0.28, 0.75),
                tx.streaked((0.35, 0.2, 0.1), (0.55, 0.35, 0.18), 1.5, 12.0, 85)),
        Surface("lamp post", Cylinder((0.55, floor, 1.6), (0.0, -1.0, 0.0), 0.03, 4.0),
                tx.streaked((0.1, 0.1, 0.12), (0.3, 0.3, 0.32), 1.0, 8.0, 86)),
    )
    return World(surfaces, np.eye(3))


def thin_occluders(num_frames: int) -> World:
    """A river seen through a fence of thin posts and rails, with reeds and hanging twigs."""
    flow = (1.1, 0.0)
    ground = 1.0
    in_river = lambda a, b: (b > 3.2) & (b < 6.0)
    wood = tx.streaked((0.42, 0.3, 0.2), (0.62, 0.5, 0.36), 1.0, 6.0, 91)
    posts = tuple(Surface("post", Cylinder((x, ground + 0.1, 1.9 + 0.05 * np.sin(7 * x)), (0.0, -1.0, 0.0),
                                           0.014, 1.0), wood) for x in np.arange(-1.05, 1.1, 0.3))
    rails = tuple(Surface("rail", Cylinder((-2.0, y, 1.87), (1.0, 0.0, 0.0), 0.01, 4.0), wood)
                  for y in (0.45, 0.72))
    reed = tx.streaked((0.45, 0.5, 0.2), (0.7, 0.72, 0.35), 1.0, 8.0, 92)
    reeds = tuple(Surface("reed", Cylinder((x, ground + 0.05, 3.1), (dx, -1.0, 0.0), 0.006, 0.7), reed)
                  for x, dx in ((-0.9, 0.1), (-0.75, -0.08), (0.4, 0.05), (0.55, 0.15), (0.62, -0.1)))
    twig = tx.streaked((0.25, 0.18, 0.12), (0.4, 0.3, 0.2), 1.0, 5.0, 93)
    twigs = tuple(Surface("twig", Cylinder(base, axis, 0.008, 1.2), twig)
                  for base, axis in (((-0.7, -0.9, 1.35), (0.35, 1.0, 0.05)), ((0.25, -0.9, 1.45), (-0.25, 1.0, 0.0)),
                                     ((0.45, -0.9, 1.5), (0.5, 1.0, 0.1))))
    surfaces = (
        _sky(90.0, 94),
        Surface("hills", Plane.fronto(30.0, _below(_profile(-2.0, 1.6, 5.0, 95))),
                tx.mottled((0.2, 0.35, 0.22), (0.35, 0.48, 0.3), 5.0, 96)),
        Surface("meadow", Plane.ground(ground, lambda a, b: ~in_river(a, b)),
                tx.mottled((0.3, 0.5, 0.17), (0.52, 0.6, 0.26), 4.0, 97)),
        Surface("river", Plane.ground(ground, in_river),
                tx.water((0.1, 0.24, 0.35), (0.7, 0.82, 0.88), flow, num_frames, 98), flow),
        *_tree(-1.9, 9.0, ground, 2.3, 0.9, 99),
        *posts, *rails, *reeds, *twigs,
    )
    return World(surfaces, pitch_down(10.0))


SCENES: dict[str, Callable[[int], World]] = {
    "river": river, "waterfall": waterfall, "clouds": clouds, "lake": lake, "smoke": smoke,
    "thin_occluders": thin_occluders,
}
"""Scene kind -> builder ``(num_frames) -> World`` (fluid textures loop every num_frames frames)."""


@dataclass(frozen=True)
class SyntheticScene:
    """A scene and the method's inputs at the source view.

    image: ``(3,H,W)`` float32 0..1; depth: ``(H,W)`` float32 exact (nearest = 1); fluid: ``(H,W)``
    float32 0/1; flow: ``(2,H,W)`` float32 px/frame (constant per fluid surface, 0 elsewhere);
    K: ``(3,3)`` float64 source intrinsics; samples: rays per pixel side of every rendered view.
    """

    name: str
    world: World
    K: np.ndarray
    size: tuple[int, int]
    num_frames: int
    samples: int
    image: torch.Tensor
    depth: torch.Tensor
    fluid: torch.Tensor
    flow: torch.Tensor

    def depth_input(self) -> Depth:
        """The exact depth as the pipeline's ``Depth`` (source 'gt')."""
        return Depth(self.depth, torch.from_numpy(self.K.astype(np.float32)), None, "gt")


def make_scene(kind: str, size: tuple[int, int] = (192, 256), num_frames: int = 60, samples: int = 3) -> SyntheticScene:
    """Build scene ``kind`` (see ``SCENES``) at ``size`` (H, W) for loops of ``num_frames`` frames."""
    if kind not in SCENES:
        raise ValueError(f"unknown scene '{kind}'; choose from {', '.join(SCENES)}")
    h, w = size
    world = SCENES[kind](num_frames)
    K = default_intrinsics(h, w).double().numpy()
    s, _ = cast(world, np.zeros(3), pixel_rays(K, size, 1))
    world = replace(world, scale=float(s.min()))
    view = render_view(world, K, size, samples=samples)
    if not np.isfinite(view.depth).all():
        raise ValueError(f"scene '{kind}' has pixels that see nothing")
    fluid_ids = [i for i, surf in enumerate(world.surfaces) if surf.is_fluid]
    fluid = np.isin(view.surface, fluid_ids)
    flow = np.zeros((2, h, w), np.float32)
    for i in fluid_ids:
        m = view.surface == i
        flow[:, m] = np.asarray(world.surfaces[i].flow_ref, np.float32)[:, None] * (w / REF_WIDTH)
    return SyntheticScene(kind, world, K, (h, w), num_frames, samples, torch.from_numpy(view.rgb),
                          torch.from_numpy(view.depth), torch.from_numpy(fluid.astype(np.float32)),
                          torch.from_numpy(flow))
