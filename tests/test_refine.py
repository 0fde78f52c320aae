import numpy as np
import pytest
import torch

import golden
from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.layers import refine
from cinemagraph_core.layers.refine import (bbox_bounds, inpainting_bbox, masked_median_blur,
                                            refine_near_depth_discontinuity)


def _small():
    z = golden.load("ldi")
    return torch.from_numpy(z["small_depth"]), torch.from_numpy(z["small_alpha"])


def _reference_median(x: np.ndarray, m: np.ndarray, k: int, alternate: bool = True) -> np.ndarray:
    """Brute force: windows in (b, c, h, w, k*k) order, invalid entries alternate global min / max
    (or all get the minimum when ``alternate`` is False)."""
    b, c, h, w = x.shape
    p = k // 2
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    mp = np.pad(np.broadcast_to(m, x.shape), ((0, 0), (0, 0), (p, p), (p, p)))
    win = np.empty((b, c, h, w, k * k), np.float32)
    inv = np.empty((b, c, h, w, k * k), bool)
    for dy in range(k):
        for dx in range(k):
            win[..., dy * k + dx] = xp[:, :, dy:dy + h, dx:dx + w]
            inv[..., dy * k + dx] = mp[:, :, dy:dy + h, dx:dx + w] != 1
    lo, hi = win.min(), win.max()
    flat, bad = win.reshape(-1), np.flatnonzero(inv.reshape(-1))
    flat[bad[0::2]] = lo
    flat[bad[1::2]] = hi if alternate else lo
    srt = np.sort(win, axis=-1)
    return srt[..., (k * k - 1) // 2]


def test_golden_masked_median_blur():
    d, a = _small()
    golden.assert_matches("ldi", "masked_median_blur_k11", masked_median_blur(d * a, a, 11))


def test_golden_refine():
    d, a = _small()
    golden.assert_matches("ldi", "refine_near_depth_discontinuity_k11", refine_near_depth_discontinuity(d, a))


@pytest.mark.parametrize("border", [4, 40])
def test_golden_bbox(border):
    z = golden.load("ldi")
    out = inpainting_bbox(torch.from_numpy(z["bbox_input"]), border)
    golden.assert_matches("ldi", f"inpainting_bbox_border{border}", out)


@pytest.mark.parametrize("k", [3, 5])
def test_median_matches_brute_force(k):
    g = torch.Generator().manual_seed(k)
    x = torch.rand(2, 2, 9, 11, generator=g) * 4 - 1
    m = (torch.rand(2, 1, 9, 11, generator=g) > 0.4).float()
    ref = _reference_median(x.numpy(), m.numpy(), k)
    np.testing.assert_array_equal(masked_median_blur(x, m, k).numpy(), ref)


def test_alternation_matters():
    """Negative control: without the min/max alternation the golden is not reproduced."""
    d, a = _small()
    x = (d * a).numpy()
    ref = golden.load("ldi")["masked_median_blur_k11"]
    np.testing.assert_array_equal(_reference_median(x, a.numpy(), 11), ref)
    assert not np.array_equal(_reference_median(x, a.numpy(), 11, alternate=False), ref)


def test_chunking_and_selection_are_exact(monkeypatch):
    d, a = _small()
    full = masked_median_blur(d * a, a, 11)
    monkeypatch.setattr(refine, "CHUNK_VALUES", 121 * 7)
    np.testing.assert_array_equal(masked_median_blur(d * a, a, 11).numpy(), full.numpy())
    where = torch.rand(a.shape, generator=torch.Generator().manual_seed(0)) > 0.7
    part = masked_median_blur(d * a, a, 11, where=where)
    np.testing.assert_array_equal(part[where].numpy(), full[where].numpy())
    assert torch.all(part[~where] == 0)


def test_refine_keeps_interior_and_zeroes_outside():
    d = torch.arange(40 * 50, dtype=torch.float32).reshape(1, 1, 40, 50) / 100 + 1
    a = torch.zeros(1, 1, 40, 50)
    a[..., 5:35, 8:45] = 1
    out = refine_near_depth_discontinuity(d, a)
    assert torch.all(out[a == 0] == 0)
    interior = torch.zeros_like(a, dtype=torch.bool)
    interior[..., 10:30, 13:40] = True
    assert torch.equal(out[interior], d[interior])
    band = (a == 1) & ~interior
    assert not torch.equal(out[band], d[band])


def test_bbox_exclusive_end_and_empty():
    m = torch.zeros(1, 1, 12, 16)
    m[0, 0, 11, 15] = 1
    box = inpainting_bbox(m, 2)
    assert box[0, 0, 11].sum() == 0 and box[0, 0, :, 15].sum() == 0
    assert box[0, 0, 9:11, 13:15].eq(1).all() and box.sum() == 4
    assert inpainting_bbox(torch.zeros(1, 1, 5, 5), 3).sum() == 0
    assert bbox_bounds(torch.zeros(5, 5), 1) is None
    assert bbox_bounds(m[0, 0], 2) == (9, 11, 13, 15)


def test_bad_arguments():
    x = torch.rand(1, 1, 8, 8)
    with pytest.raises(CinemagraphError, match="odd"):
        masked_median_blur(x, torch.ones_like(x), 4)
    with pytest.raises(CinemagraphError, match="mask shape"):
        masked_median_blur(x, torch.ones(1, 1, 8, 7), 3)
    with pytest.raises(CinemagraphError, match=r"\(B,C,H,W\)"):
        refine_near_depth_discontinuity(x[0], torch.ones(1, 8, 8))
