"""A picture of a motion proposal: each region tinted by kind and outlined, its arrows drawn, a legend
(each kind with its highest confidence)."""
from __future__ import annotations

import cv2
import numpy as np
import torch

from ..types import MotionProposal

KIND_COLOURS = {"clouds": (80, 200, 255), "river": (40, 120, 255), "lake": (0, 220, 200), "waterfall": (170, 90, 255),
                "smoke": (255, 150, 40)}
"""RGB 0..255 per kind."""
TINT = 0.45


def proposal_picture(image: torch.Tensor, proposal: MotionProposal) -> np.ndarray:
    """``(H,W,3)`` uint8 RGB: ``image`` ``(3,H,W)`` float 0..1 with the proposal drawn over it."""
    rgb = (image.detach().cpu().permute(1, 2, 0).clamp(0, 1).numpy() * 255.0 + 0.5).astype(np.uint8)
    out = rgb.astype(np.float32)
    h, w = rgb.shape[:2]
    thick = max(1, round(max(h, w) / 320))
    for region in proposal.regions:
        m = region.mask.numpy() > 0.5
        out[m] = (1 - TINT) * out[m] + TINT * np.array(KIND_COLOURS[region.kind], np.float32)
    out = np.ascontiguousarray(out.clip(0, 255).astype(np.uint8))
    for region in proposal.regions:
        colour = KIND_COLOURS[region.kind]
        contours, _ = cv2.findContours((region.mask.numpy() > 0.5).astype(np.uint8), cv2.RETR_EXTERNAL,
                                       cv2.CHAIN_APPROX_SIMPLE)
        cv2.drawContours(out, contours, -1, colour, thick, cv2.LINE_AA)
        for x0, y0, x1, y1 in region.arrows:
            for c, t in (((0, 0, 0), 3 * thick), ((255, 255, 255), thick)):
                cv2.arrowedLine(out, (round(x0), round(y0)), (round(x1), round(y1)), c, t, cv2.LINE_AA, tipLength=0.2)
    scale = max(h, w) / 900
    y = round(28 * scale)
    best: dict[str, float] = {}
    for region in proposal.regions:
        best[region.kind] = max(best.get(region.kind, 0.0), region.confidence)
    for kind, confidence in best.items():
        text = f"{kind} {confidence:.2f}"
        for c, t in (((0, 0, 0), 4 * thick), (KIND_COLOURS[kind], thick)):
            cv2.putText(out, text, (round(10 * scale), y), cv2.FONT_HERSHEY_SIMPLEX, 0.8 * scale, c, t, cv2.LINE_AA)
        y += round(30 * scale)
    return out
