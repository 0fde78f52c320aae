"""Euler integration (SPEC e): golden parity, the incremental integrator, symmetric displacements."""
import gc
import math
import weakref

import numpy as np
import pytest
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.motion import euler
from cinemagraph_core.motion.euler import EulerIntegrator, euler_integrate, symmetric_displacements
from tests import golden

STEM = "euler_integration"


def _flow() -> torch.Tensor:
    return torch.from_numpy(golden.load(STEM)["flow"][0])


def _steps() -> list[int]:
    return [int(n) for n in golden.load(STEM)["steps"]]


def test_golden_forward_backward_and_visibility():
    g, flow = golden.load(STEM), _flow()
    for n in _steps():
        disp, vis = euler_integrate(flow, n)
        back, _ = euler_integrate(-flow, n)
        golden.assert_matches(STEM, f"disp_fwd_{n}", disp[None])
        golden.assert_matches(STEM, f"visible_fwd_{n}", vis[None, None].float())
        golden.assert_matches(STEM, f"disp_bwd_{n}", back[None])
        assert np.array_equal(disp[None].numpy(), g[f"disp_fwd_{n}"]), f"forward {n} steps not bit-exact"
        assert np.array_equal(back[None].numpy(), g[f"disp_bwd_{n}"]), f"backward {n} steps not bit-exact"


def test_golden_has_pixels_that_leave_and_keep_accumulating():
    flow = _flow()
    n = max(_steps())
    disp, vis = euler_integrate(flow, n)
    gone = ~vis
    assert gone.any() and vis.any()
    # a pixel that left restarts from its source every step, so its displacement keeps growing
    # by at least the source motion; it is never zeroed
    assert float(disp[:, gone].abs().sum()) > 0


def test_zero_steps_is_zero_and_visible():
    disp, vis = euler_integrate(_flow(), 0)
    assert disp.shape == (2, *_flow().shape[1:]) and disp.dtype == torch.float32
    assert not disp.any() and bool(vis.all())


def test_look_ahead_differs_from_textbook_euler():
    """Displacement after one step is M at the position after the step, not M at the source."""
    flow = torch.zeros(2, 40, 40)
    flow[0, :, 10] = 1.0          # column 10 moves one px right into column 11
    flow[0, :, 11] = 3.0
    disp, _ = euler_integrate(flow, 1)
    assert float(disp[0, 5, 10]) == 3.0


def test_incremental_integrator_matches_direct():
    flow = _flow()
    integ = EulerIntegrator(flow)
    for n in range(max(_steps()[:5]) + 1):
        d, v = euler_integrate(flow, n)
        assert integ.steps == n
        assert torch.equal(integ.displacement, d) and torch.equal(integ.visible, v)
        integ.step()


def test_copy_is_independent():
    integ = EulerIntegrator(_flow())
    integ.advance(3)
    other = integ.copy()
    other.advance(2)
    assert integ.steps == 3 and other.steps == 5
    assert torch.equal(integ.displacement, euler_integrate(_flow(), 3)[0])


def test_symmetric_displacements_equal_direct_with_linear_steps(monkeypatch):
    flow = _flow()
    n = _steps()[4]  # a small N from the file
    calls = {"step": 0}
    live = weakref.WeakSet()
    step, copy = EulerIntegrator.step, EulerIntegrator.copy

    def counted_step(self):
        calls["step"] += 1
        step(self)

    def tracked_copy(self):
        other = copy(self)
        live.add(other)
        return other

    monkeypatch.setattr(euler.EulerIntegrator, "step", counted_step)
    monkeypatch.setattr(euler.EulerIntegrator, "copy", tracked_copy)
    out, held = [], 0
    for item in symmetric_displacements(flow, n):
        out.append(item)
        gc.collect()
        held = max(held, len(live))
    monkeypatch.undo()
    assert [t for t, _, _ in out] == list(range(n))
    assert calls["step"] <= 3 * n, calls
    assert held <= 2 * (math.isqrt(n) + 1) + 1, held   # checkpoints + one segment: O(sqrt N) states held
    for t, fwd, bwd in out:
        assert torch.equal(fwd, euler_integrate(flow, t)[0]), t
        assert torch.equal(bwd, euler_integrate(-flow, n - t)[0]), t


def test_symmetric_displacements_subset_and_single_frame():
    flow = _flow()
    n = _steps()[4]
    frames = [n - 1, 0, n // 2, n // 2]
    out = list(symmetric_displacements(flow, n, frames))
    assert [t for t, _, _ in out] == sorted(set(frames))
    for t, fwd, bwd in out:
        assert torch.equal(fwd, euler_integrate(flow, t)[0])
        assert torch.equal(bwd, euler_integrate(-flow, n - t)[0])
    ((t, fwd, bwd),) = list(symmetric_displacements(flow, 1))
    assert t == 0 and not fwd.any() and torch.equal(bwd, euler_integrate(-flow, 1)[0])
    assert list(symmetric_displacements(flow, 5, [])) == []


@pytest.mark.parametrize("call, match", [
    (lambda f: list(symmetric_displacements(f, 0)), "num_frames"),
    (lambda f: list(symmetric_displacements(f, 4, [4])), "0..3"),
    (lambda f: euler_integrate(f, -1), "steps"),
    (lambda f: euler_integrate(f, 1.5), "steps"),
    (lambda f: euler_integrate(f[0], 1), r"\(2,H,W\)"),
    (lambda f: euler_integrate(f * float("nan"), 1), "NaN"),
])
def test_errors(call, match):
    with pytest.raises(CinemagraphError, match=match):
        call(_flow())


def test_numpy_integers_accepted():
    d, _ = euler_integrate(_flow(), np.int64(2))
    assert torch.equal(d, euler_integrate(_flow(), 2)[0])
