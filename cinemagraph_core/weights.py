"""Safe checkpoint loading: never unpickles code, checks every key, says what a wrong file is.

Networks are named by their ``networks.NETWORKS`` key (``kind``).

Official files are ``.pt``/``.pth`` (read with ``torch.load(weights_only=True)``); converted files
are ``.safetensors`` with nested dictionaries flattened as ``<entry>.<key>``.
"""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Iterable, Mapping, Optional, Sequence, Union

import torch

from .errors import CheckpointError
from .networks import NETWORKS, Network

PathLike = Union[str, os.PathLike]
StateDict = dict[str, torch.Tensor]


def load_file(path: PathLike, mmap: bool = False) -> dict:
    """Read a checkpoint file into plain dicts of CPU tensors, without executing any code.

    ``.safetensors`` -> flat ``{key: tensor}``; anything else -> ``torch.load(weights_only=True)``.
    mmap: map a zip-format ``.pt``/``.pth`` file instead of reading it (tensors are paged in only
    when touched: cheap when only keys and shapes are needed).
    Raises CheckpointError for a missing, truncated, non-checkpoint or code-carrying file.
    """
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint not found: {p}")
    if p.stat().st_size == 0:
        raise CheckpointError(f"checkpoint is empty (0 bytes): {p}; download or copy it again")
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file as st_load

        try:
            return dict(st_load(str(p), device="cpu"))
        except (SafetensorError, OSError, ValueError) as e:
            raise CheckpointError(f"{p} is not a readable .safetensors file ({e}); it may be truncated") from e
    try:
        obj = torch.load(str(p), map_location="cpu", weights_only=True, mmap=mmap and zipfile.is_zipfile(p))
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"{p} refused: it contains Python objects other than tensors and plain containers, and "
            f"loading it would run code from the file. Only plain state-dict checkpoints are accepted "
            f"(details: {str(e).splitlines()[0]})"
        ) from e
    except (zipfile.BadZipFile, EOFError, RuntimeError, OSError) as e:
        raise CheckpointError(
            f"{p} could not be read as a PyTorch checkpoint ({type(e).__name__}: {e}); the file is "
            f"probably truncated or not a checkpoint - copy it again"
        ) from e
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{p} holds a {type(obj).__name__}, not a state dict")
    return dict(obj)


def _flatten(obj: Mapping, prefix: str = "") -> StateDict:
    out: StateDict = {}
    for k, v in obj.items():
        if isinstance(v, torch.Tensor):
            out[prefix + str(k)] = v
        elif isinstance(v, Mapping):
            out.update(_flatten(v, f"{prefix}{k}."))
    return out


def _has(flat: Mapping[str, torch.Tensor], kind: Network) -> bool:
    pre = "" if kind.entry is None else kind.entry + "."
    return all(pre + k in flat for k in kind.signature) or all(k in flat for k in kind.signature)


def training_model_entry(obj: Mapping) -> Mapping:
    """DPT's loader rule: a file with an ``optimizer`` key keeps its state dict under ``model``."""
    inner = obj.get("model")
    return inner if "optimizer" in obj and isinstance(inner, Mapping) else obj


def identify(obj: Mapping) -> list[str]:
    """Names of the kinds whose weights ``obj`` (a loaded file, nested or flat) contains."""
    flat = _flatten(training_model_entry(obj))
    return [kind.name for kind in NETWORKS.values() if _has(flat, kind)]


def state_dict_for(obj: Mapping, kind: str, path: PathLike = "<memory>") -> StateDict:
    """The state dict of network ``kind`` inside a loaded file (official layout or converted/flat).

    Raises CheckpointError naming what the file is when it holds another network.
    """
    spec = NETWORKS[kind]
    flat = _flatten(training_model_entry(obj) if kind == "dpt" else obj)
    if spec.entry is not None:
        pre = spec.entry + "."
        sub = {k[len(pre):]: v for k, v in flat.items() if k.startswith(pre)}
        if sub:
            flat = sub
    if all(key in flat for key in spec.signature):
        return flat
    others = [NETWORKS[n] for n in identify(obj) if n != kind]
    what = ", ".join(f"the {o.title} ({o.filename})" for o in others) or "no known network"
    raise CheckpointError(
        f"{path} is not the {spec.title}: it looks like {what}. "
        f"The {spec.title} is the official file '{spec.filename}'"
        + (f" (state dict under '{spec.entry}')" if spec.entry else "")
    )


def check_keys(expected: Mapping[str, torch.Size], got: Mapping[str, torch.Tensor], kind: str,
               path: PathLike = "<memory>", ignore: Iterable[str] = ()) -> None:
    """Strict key and shape check; raises CheckpointError listing what is missing/unexpected/wrong."""
    spec = NETWORKS[kind]
    ignored = tuple(ignore)
    keys = {k for k in got if not k.startswith(ignored)} if ignored else set(got)
    missing = [k for k in expected if k not in keys]
    unexpected = sorted(keys - set(expected))
    wrong = [f"{k}: file {tuple(got[k].shape)} vs network {tuple(expected[k])}"
             for k in expected if k in keys and tuple(got[k].shape) != tuple(expected[k])]
    if not (missing or unexpected or wrong):
        return

    def head(items: Sequence[str]) -> str:
        return ", ".join(items[:5]) + (f" (+{len(items) - 5} more)" if len(items) > 5 else "")

    parts = []
    if missing:
        parts.append(f"{len(missing)} missing: {head(missing)}")
    if unexpected:
        parts.append(f"{len(unexpected)} unexpected: {head(unexpected)}")
    if wrong:
        parts.append(f"{len(wrong)} of the wrong shape: {head(wrong)}")
    raise CheckpointError(f"{path} does not match the {spec.title} ({spec.filename}): " + "; ".join(parts))


def load_into(module: torch.nn.Module, path: PathLike, kind: str, assign: bool = False) -> torch.nn.Module:
    """Load network ``kind`` from ``path`` into ``module`` strictly (keys, shapes), on the CPU.

    assign: take the file's tensors instead of copying into the module's (lets a module built on
    the 'meta' device be loaded without ever allocating or initialising its own weights).
    """
    sd = state_dict_for(load_file(path), kind, path)
    expected = {k: v.shape for k, v in module.state_dict().items()}
    check_keys(expected, sd, kind, path)
    module.load_state_dict(sd, strict=True, assign=assign)
    return module


def find(kind: str, search_dirs: Iterable[PathLike]) -> Optional[Path]:
    """First existing file for ``kind`` in ``search_dirs``: the official name, then ``.safetensors``."""
    spec = NETWORKS[kind]
    stem = Path(spec.filename).stem
    for d in search_dirs:
        for name in (spec.filename, stem + ".safetensors"):
            p = Path(d) / name
            if p.is_file():
                return p
    return None


def save_safetensors(obj: Mapping, dst: PathLike) -> int:
    """Write every tensor of a loaded file to ``dst`` (nested entries flattened); returns the count."""
    from safetensors.torch import save_file

    flat = {k: v.contiguous() for k, v in _flatten(obj).items()}
    if not flat:
        raise CheckpointError("nothing to convert: the file holds no tensors")
    save_file(flat, str(dst))
    return len(flat)
