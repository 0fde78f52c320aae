"""The compared variants (the paper's Tables 1 and 3) as pipeline configurations."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from cinemagraph_core.pipeline import PipelineConfig
from cinemagraph_core.types import RenderSettings


@dataclass(frozen=True)
class Variant:
    """One row of the table. ``layered`` False = one layer (the naive point cloud)."""

    key: str
    label: str
    layered: bool
    inpaint: str
    symmetric: bool
    learned: bool = False

    def config(self, num_frames: int, renderer: str = "auto") -> PipelineConfig:
        """The pipeline configuration: exact depth and flow come from the scene, so depth/motion are unused.

        renderer: 'warp', 'splat' or 'auto' (the learned variant always splats). The border is
        filled, never zoomed or cropped: the ground truth is rendered with the source intrinsics.
        """
        nets = "learned" if self.learned else None
        return PipelineConfig(num_frames=num_frames, layered=self.layered, inpaint=self.inpaint,
                              features=nets or "rgba", decoder=nets or "blend", motion="hints",
                              render=RenderSettings(symmetric=self.symmetric, crop=0, fill_holes=True, border="fill",
                                                    renderer=renderer))

    @property
    def scene_key(self) -> tuple[bool, str, bool]:
        """Variants with equal keys share one prepared scene (they differ only in rendering)."""
        return self.layered, self.inpaint if self.layered else "-", self.learned


VARIANTS: dict[str, Variant] = {v.key: v for v in (
    Variant("naive", "naive point cloud (1 layer, no inpainting, forward only)", False, "none", False),
    Variant("naive_sym", "naive + 3D symmetric animation", False, "none", True),
    Variant("no_inpaint", "full w/o inpainting", True, "none", True),
    Variant("no_sym", "full w/o symmetric animation (forward only)", True, "classical", False),
    Variant("full", "full weight-free (LDI + classical inpainting + symmetric)", True, "classical", True),
    Variant("learned", "learned (3D-Photo inpainting, ResUNet features, image decoder)", True, "learned", True,
            learned=True),
)}
"""Every variant by key, in table order."""

WEIGHT_FREE = tuple(k for k, v in VARIANTS.items() if not v.learned)


def resolve(keys: Sequence[str]) -> tuple[Variant, ...]:
    """Variants by key, in table order; unknown keys raise ValueError listing the valid ones."""
    unknown = [k for k in keys if k not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown variant(s) {', '.join(unknown)}; choose from {', '.join(VARIANTS)}")
    return tuple(v for k, v in VARIANTS.items() if k in keys)
