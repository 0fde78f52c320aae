"""Access to the golden files of the official implementation and their tolerances.

The folder is ``$CINEMAGRAPH_GOLDEN_DIR`` (default ``../shared/reference/golden`` beside the
repository). Every size and parameter a test needs is read from the files themselves.
"""
from __future__ import annotations

import fnmatch
import fcntl
import json
import os
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_GOLDEN = REPO.parent / "shared" / "reference" / "golden"
CACHE = Path(os.environ.get("CINEMAGRAPH_TEST_CACHE", REPO / "tests" / ".cache"))


def golden_dir() -> Path:
    d = Path(os.environ.get("CINEMAGRAPH_GOLDEN_DIR", DEFAULT_GOLDEN))
    if not d.is_dir():
        if os.environ.get("CI") or "CINEMAGRAPH_GOLDEN_DIR" in os.environ:
            raise FileNotFoundError(f"golden folder {d} not found")
        pytest.skip(f"golden folder {d} not found (set CINEMAGRAPH_GOLDEN_DIR)")
    return d


@lru_cache(maxsize=None)
def load(stem: str) -> dict:
    """All arrays of ``<stem>.npz`` as a dict (loaded once per session)."""
    with np.load(golden_dir() / f"{stem}.npz") as z:
        return {k: z[k] for k in z.files}


@lru_cache(maxsize=None)
def _tolerances() -> dict:
    return json.loads((golden_dir() / "tolerances.json").read_text())


def _match(table: dict, name: str):
    if name in table:
        return table[name]
    for k, v in table.items():
        if not k.startswith("_") and fnmatch.fnmatchcase(name, k):
            return v
    return None


def criteria(stem: str, name: str) -> list[dict]:
    spec = _match(_tolerances(), stem)
    crit = None if spec is None else _match(spec, name)
    if crit is None:
        raise KeyError(f"no tolerance for {stem}.{name}")
    return crit


def assert_matches(stem: str, name: str, candidate, reference=None) -> None:
    """Assert ``candidate`` meets the tolerances.json criteria for golden array ``stem.name``."""
    ref = np.asarray(load(stem)[name] if reference is None else reference, dtype=np.float64)
    cand = np.asarray(candidate.detach().cpu() if hasattr(candidate, "detach") else candidate, dtype=np.float64)
    assert cand.shape == ref.shape, f"{stem}.{name}: shape {cand.shape} != golden {ref.shape}"
    for crit in criteria(stem, name):
        r, c = ref, cand
        if crit.get("transform") == "reciprocal":
            r, c = 1.0 / r, 1.0 / c
        d = np.abs(c - r)
        ok = d <= crit.get("atol", 0.0) + crit.get("rtol", 0.0) * np.abs(r)
        need = crit.get("frac", 1.0)
        assert ok.mean() >= need, (
            f"{stem}.{name}: {ok.mean():.5f} of elements within {crit} (need {need}); max|d| {d.max():.3e}")
        if "max_abs" in crit:
            assert d.max() <= crit["max_abs"], f"{stem}.{name}: max|d| {d.max():.3e} > {crit['max_abs']}"


def _reference_dir() -> Path:
    """The reference folder that holds parity/ and manifests/ for the golden set in use."""
    ref = golden_dir().parent
    if (ref / "parity" / "make_weights.py").is_file():
        return ref
    return DEFAULT_GOLDEN.parent


def manifest_entries(name: str) -> list:
    """``[key, shape, dtype]`` of every state-dict entry of the official network ``name``
    (``manifests/NAME.json`` of the reference set), in order."""
    return json.loads((_reference_dir() / "manifests" / f"{name}.json").read_text())["state_dict"]


def manifest_shapes(name: str) -> dict:
    """State-dict key -> shape tuple of the official network ``name``, in order."""
    return {k: tuple(shape) for k, shape, _ in manifest_entries(name)}


def recipe_weights(seed: int) -> Path:
    """Folder with the five official-format recipe checkpoints for ``seed`` (generated once, cached).

    Uses ``reference/parity/make_weights.py`` and checks the digests of the golden set when the seed
    matches. Safe when several test processes ask at once (file lock).
    """
    out = CACHE / f"recipe_weights_seed{seed}"
    done = out / "weights_digest.json"
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".recipe_weights_seed{seed}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.is_file():
            ref = _reference_dir()
            cmd = [sys.executable, str(ref / "parity" / "make_weights.py"), "--manifests",
                   str(ref / "manifests"), "--seed", str(seed), "--out", str(out)]
            digest = golden_dir() / "weights_digest.json"
            if digest.is_file() and json.loads(digest.read_text()).get("seed") == seed:
                cmd += ["--expect", str(digest)]
            res = subprocess.run(cmd, capture_output=True, text=True)
            if res.returncode != 0:
                done.unlink(missing_ok=True)
                raise RuntimeError(f"make_weights.py failed:\n{res.stdout}\n{res.stderr}")
    return out


def weights_seed(stem: str) -> int:
    return int(load(stem)["weights_seed"])
