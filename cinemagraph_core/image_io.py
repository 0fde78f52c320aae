"""Reading images and single-channel maps, converting arrays to the core image layout, size checks.

Every file is opened with PIL and turned upright with its EXIF orientation
(``ImageOps.exif_transpose``), so the image, its mask and its depth map always agree. (The
official demo reads one file with three readers, of which only OpenCV honours EXIF: a rotated JPEG
gives it inconsistent inputs.) 16-bit colour PNG/TIFF, which PIL reduces to 8 bits, is read with
OpenCV and the same orientation is applied.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Union

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import CinemagraphError

log = logging.getLogger("cinemagraph")

PathLike = Union[str, os.PathLike]

MIN_SIDE = 32
"""Smallest accepted image side in px."""
MAX_PIXELS = 4096 * 4096
"""Largest accepted image area in px (16.7 MP) unless the caller passes another limit."""
RANGE_SLACK = 0.1
"""Float images may exceed 0..1 by this much (resampling overshoot); they are clipped with a note."""
RESIZE_MODES = ("nearest", "bilinear", "area")

_EXIF_ORIENTATION = 0x0112
_MAP_SUFFIXES_NUMPY = (".npy",)
_MAP_SUFFIXES_PFM = (".pfm",)


def check_image_size(h: int, w: int, max_pixels: int = MAX_PIXELS) -> None:
    """Raise CinemagraphError unless both sides are >= MIN_SIDE px and ``h*w <= max_pixels``."""
    if h < MIN_SIDE or w < MIN_SIDE:
        raise CinemagraphError(
            f"image is {w}x{h} px; each side must be at least {MIN_SIDE} px: use a larger image")
    if h * w > max_pixels:
        side = int(max_pixels ** 0.5)
        raise CinemagraphError(
            f"image is {w}x{h} px = {h * w / 1e6:.1f} MP, above the limit of {max_pixels / 1e6:.1f} MP "
            f"(about {side}x{side}): downscale it, or raise the max size option (max_pixels) if you have "
            "the memory and time for it")


def as_rgb(x, what: str = "image") -> torch.Tensor:
    """Convert an image array to ``(3,H,W)`` float32 0..1 on the CPU.

    x: numpy array or torch tensor laid out HW, HWC or CHW (C = 1..4; a leading batch
        dimension of size 1 is allowed, e.g. ComfyUI's ``(1,H,W,C)``); dtype uint8 (/255),
        uint16 (/65535), bool, or float 0..1.
    Grey is repeated to RGB; alpha is dropped (with a log note). Floats must be finite; values up to
    RANGE_SLACK outside 0..1 are clipped with a note, larger ones are an error.
    """
    t = _to_float_tensor(x, what)
    if t.ndim == 4:
        if t.shape[0] != 1:
            raise CinemagraphError(f"{what}: got a batch of {t.shape[0]} images {tuple(t.shape)}; pass one image")
        t = t[0]
    if t.ndim == 2:
        t = t[None]
    elif t.ndim == 3:
        t = _channels_first(t, what)
    else:
        raise CinemagraphError(f"{what}: expected an HW, HWC or CHW array, got shape {tuple(t.shape)}")
    c = t.shape[0]
    if c == 4:
        log.info("%s: alpha channel dropped (RGBA -> RGB)", what)
        t = t[:3]
    elif c == 2:
        log.info("%s: alpha channel dropped (grey+alpha -> grey)", what)
        t = t[:1]
    if t.shape[0] == 1:
        t = t.expand(3, -1, -1)
    return _check_range(t, what).contiguous()


def load_image(path: PathLike, max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Read an image file as ``(3,H,W)`` float32 0..1, upright (EXIF orientation applied).

    Grey, palette, RGBA (alpha dropped), CMYK, 16-bit and float images are accepted; the size is
    checked with ``check_image_size``.
    """
    img, orientation = _open(path)
    arr = _read_16bit_colour(path, img, orientation)
    if arr is None:
        arr = _pil_pixels(ImageOps.exif_transpose(img), path)
    x = as_rgb(arr, what=f"image {Path(path).name}")
    check_image_size(int(x.shape[1]), int(x.shape[2]), max_pixels)
    return x


def load_map(path: PathLike) -> torch.Tensor:
    """Read a single-channel map (mask, depth, disparity) as ``(H,W)`` float32, upright.

    8-bit images give 0..1 (/255), 16-bit 0..1 (/65535), float TIFF/.npy/.pfm their raw values.
    A colour file whose channels are equal gives that channel; a truly coloured one is converted to
    luminance with a log note; alpha is dropped. Values are not validated here (the consumers do).
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in _MAP_SUFFIXES_NUMPY + _MAP_SUFFIXES_PFM:
        if not p.is_file():
            raise CinemagraphError(f"map file {p} not found")
        arr = _read_npy(p) if suffix in _MAP_SUFFIXES_NUMPY else _read_pfm(p)
        return _single_channel(_normalise_integers(arr, f"map {p.name}"), f"map {p.name}")
    img, orientation = _open(p)
    arr = _read_16bit_colour(p, img, orientation)
    if arr is None:
        arr = _pil_pixels(ImageOps.exif_transpose(img), p)
    return _single_channel(_normalise_integers(arr, f"map {p.name}"), f"map {p.name}")


def resize_map(x: torch.Tensor, size: tuple[int, int], what: str, mode: str = "bilinear") -> torch.Tensor:
    """Resize an ``(H,W)`` map to ``size`` = (h, w), logging a note when the size changes.

    mode: 'nearest' (masks, labels; pixel-centre nearest), 'bilinear' (align_corners False) or
    'area' (averaging, for shrinking depth). Returns ``(h,w)`` float32.
    """
    if mode not in RESIZE_MODES:
        raise CinemagraphError(f"resize_map: mode must be one of {RESIZE_MODES}, got {mode!r}")
    if x.ndim != 2:
        raise CinemagraphError(f"{what}: expected an (H,W) map, got shape {tuple(x.shape)}")
    h, w = int(size[0]), int(size[1])
    if (h, w) == tuple(x.shape):
        return x
    log.info("%s is %dx%d, the image is %dx%d: resizing it (%s)", what, x.shape[1], x.shape[0], w, h, mode)
    kw = {"align_corners": False} if mode == "bilinear" else {}
    torch_mode = "nearest-exact" if mode == "nearest" else mode
    return F.interpolate(x[None, None].float(), size=(h, w), mode=torch_mode, **kw)[0, 0]


def _apply_orientation(arr: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 1..8 to an ``(H,W[,C])`` array (same result as ``ImageOps.exif_transpose``)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 2).swapaxes(0, 1),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(int(orientation))
    return arr if op is None else np.ascontiguousarray(op(arr))


def _open(path: PathLike) -> tuple[Image.Image, int]:
    """Open an image lazily; returns it and its EXIF orientation (1 when absent)."""
    p = Path(path)
    if not p.is_file():
        raise CinemagraphError(f"image file {p} not found")
    try:
        img = Image.open(p)
        img.load()
    except (UnidentifiedImageError, OSError, SyntaxError) as e:
        raise CinemagraphError(
            f"cannot read {p} as an image ({e}); use PNG, JPEG, TIFF or WebP (maps also .npy, .pfm)") from e
    return img, int(img.getexif().get(_EXIF_ORIENTATION, 1) or 1)


def _read_16bit_colour(path: PathLike, img: Image.Image, orientation: int):
    """A 16-bit colour PNG/TIFF as an upright HWC uint16 RGB(A) array; None for any other file."""
    if img.mode not in ("RGB", "RGBA") or not _has_16bit_samples(path, img):
        return None
    arr = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3:
        return None
    code = cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB
    return _apply_orientation(cv2.cvtColor(arr, code), orientation)


def _has_16bit_samples(path: PathLike, img: Image.Image) -> bool:
    if img.format == "PNG":
        with open(path, "rb") as f:
            header = f.read(25)
        return len(header) == 25 and header[24] == 16
    if img.format == "TIFF":
        bits = img.tag_v2.get(258, (8,))
        return max(bits if isinstance(bits, tuple) else (bits,)) == 16
    return False


def _pil_pixels(img: Image.Image, path: PathLike) -> np.ndarray:
    """Pixels of an upright PIL image as uint8/uint16/float32 HW or HWC."""
    mode = img.mode
    if mode == "1":
        return np.asarray(img, dtype=np.uint8) * np.uint8(255)
    if mode.startswith("I;16"):
        return np.asarray(img).astype(np.uint16)
    if mode == "I":
        arr = np.asarray(img)
        if arr.min() < 0 or arr.max() > 65535:
            raise CinemagraphError(f"{path}: 32-bit integer pixels outside 0..65535; save it as 8/16-bit or float")
        return arr.astype(np.uint16)
    if mode == "F":
        return np.asarray(img, dtype=np.float32)
    if mode in ("L", "LA", "RGB", "RGBA"):
        return np.asarray(img)
    if mode == "P":
        return np.asarray(img.convert("RGBA" if "transparency" in img.info else "RGB"))
    return np.asarray(img.convert("RGB"))


def _to_float_tensor(x, what: str) -> torch.Tensor:
    """uint8 -> /255, uint16 -> /65535, bool -> 0/1, float -> float32; everything else is an error."""
    if isinstance(x, np.ndarray):
        if x.dtype == np.uint8:
            return torch.from_numpy(x.astype(np.float32) / 255.0)
        if x.dtype == np.uint16:
            return torch.from_numpy(x.astype(np.float32) / 65535.0)
        if x.dtype == np.bool_ or np.issubdtype(x.dtype, np.floating):
            return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        raise CinemagraphError(f"{what}: unsupported dtype {x.dtype}; expected uint8, uint16, bool or float")
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu()
        if x.dtype == torch.uint8:
            return x.float() / 255.0
        if x.dtype == torch.uint16:
            return x.to(torch.int32).float() / 65535.0
        if x.dtype == torch.bool or x.is_floating_point():
            return x.float()
        raise CinemagraphError(f"{what}: unsupported dtype {x.dtype}; expected uint8, uint16, bool or float")
    raise CinemagraphError(f"{what}: expected a numpy array or torch tensor, got {type(x).__name__}")


def _channels_first(t: torch.Tensor, what: str) -> torch.Tensor:
    """(H,W,C) or (C,H,W) with C in 1..4 -> (C,H,W)."""
    first, last = t.shape[0] in (1, 2, 3, 4), t.shape[-1] in (1, 2, 3, 4)
    if last and not first:
        return t.permute(2, 0, 1)
    if first and not last:
        return t
    raise CinemagraphError(
        f"{what}: cannot tell the channel axis of shape {tuple(t.shape)}; expected (H,W,C) or (C,H,W) "
        "with C = 1, 3 or 4 and H, W > 4")


def _check_range(t: torch.Tensor, what: str) -> torch.Tensor:
    bad = int((~torch.isfinite(t)).sum())
    if bad:
        raise CinemagraphError(f"{what}: {bad} values are NaN or infinite; fix the image data")
    lo, hi = float(t.min()), float(t.max())
    if lo < -RANGE_SLACK or hi > 1.0 + RANGE_SLACK:
        hint = " (it looks like 0..255: divide by 255)" if lo >= 0 and hi <= 255 else ""
        raise CinemagraphError(f"{what}: float values span {lo:.4g}..{hi:.4g}, expected 0..1{hint}")
    if lo < 0.0 or hi > 1.0:
        log.info("%s: values %.4g..%.4g clipped to 0..1", what, lo, hi)
        t = t.clamp(0.0, 1.0)
    return t


def _normalise_integers(arr: np.ndarray, what: str) -> np.ndarray:
    """uint8 -> /255, uint16 -> /65535 (float32); floats unchanged; other types are an error."""
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 255.0
    if arr.dtype == np.uint16:
        return arr.astype(np.float32) / 65535.0
    if arr.dtype == np.bool_ or np.issubdtype(arr.dtype, np.floating):
        return arr.astype(np.float32)
    raise CinemagraphError(f"{what}: unsupported dtype {arr.dtype}; expected 8/16-bit integers or float")


def _single_channel(arr: np.ndarray, what: str) -> torch.Tensor:
    """HW or HWC (C = 1..4) float -> (H,W) float32 tensor."""
    arr = np.squeeze(arr, axis=tuple(i for i in range(arr.ndim) if arr.shape[i] == 1 and arr.ndim > 2))
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        log.info("%s: alpha channel dropped", what)
        arr = arr[..., :-1]
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3 and arr.shape[2] == 3:
        if np.array_equal(arr[..., 0], arr[..., 1]) and np.array_equal(arr[..., 0], arr[..., 2]):
            arr = arr[..., 0]
        else:
            log.info("%s: colour map converted to grey (luminance); a colour-coded depth visualisation is not "
                     "a depth map: give a grey map", what)
            arr = arr @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if arr.ndim != 2:
        raise CinemagraphError(f"{what}: expected a single-channel map, got shape {arr.shape}")
    return torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))


def _read_npy(p: Path) -> np.ndarray:
    try:
        arr = np.load(p, allow_pickle=False)
    except (ValueError, OSError) as e:
        raise CinemagraphError(f"cannot read {p} as a numpy array ({e}); save it with numpy.save") from e
    if not isinstance(arr, np.ndarray) or arr.dtype.kind not in "biuf":
        raise CinemagraphError(f"{p}: expected a numeric array, got {getattr(arr, 'dtype', type(arr))}")
    return arr


def _read_pfm(p: Path) -> np.ndarray:
    """Portable float map: 'Pf' (grey) or 'PF' (RGB), rows stored bottom-up, negative scale = little endian."""
    with open(p, "rb") as f:
        try:
            kind = f.readline().strip()
            w, h = (int(v) for v in f.readline().split())
            scale = float(f.readline().strip())
        except ValueError as e:
            raise CinemagraphError(f"{p}: malformed PFM header ({e})") from e
        if kind not in (b"Pf", b"PF"):
            raise CinemagraphError(f"{p}: not a PFM file (header {kind!r})")
        c = 3 if kind == b"PF" else 1
        data = np.frombuffer(f.read(), dtype="<f4" if scale < 0 else ">f4")
    if data.size != h * w * c:
        raise CinemagraphError(f"{p}: PFM holds {data.size} values, expected {h}x{w}x{c}")
    return np.flipud(data.reshape(h, w, c)).astype(np.float32)
