"""Image and map reading, array conversion, size limits, resizing with a note."""
import logging

import cv2
import numpy as np
import pytest
import torch
from PIL import Image, ImageOps

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.image_io import (MAX_PIXELS, MIN_SIDE, _apply_orientation, as_rgb, check_image_size,
                                       load_image, load_map, resize_map)

H, W = 40, 56


def _rgb8(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (H, W, 3), dtype=np.uint8)


def _chw(a: np.ndarray, scale: float) -> torch.Tensor:
    return torch.from_numpy(a.astype(np.float32) / scale).permute(2, 0, 1)


def test_rgb_png_roundtrip(tmp_path):
    a = _rgb8()
    Image.fromarray(a).save(tmp_path / "a.png")
    x = load_image(tmp_path / "a.png")
    assert x.shape == (3, H, W) and x.dtype == torch.float32
    assert torch.equal(x, _chw(a, 255.0))


def test_grey_rgba_palette(tmp_path, caplog):
    a = _rgb8(1)
    Image.fromarray(a[..., 0]).save(tmp_path / "g.png")
    g = load_image(tmp_path / "g.png")
    assert torch.equal(g[0], g[1]) and torch.equal(g[0], torch.from_numpy(a[..., 0] / np.float32(255.0)))
    rgba = np.dstack([a, np.full((H, W), 7, np.uint8)])
    Image.fromarray(rgba).save(tmp_path / "rgba.png")
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        x = load_image(tmp_path / "rgba.png")
    assert torch.equal(x, _chw(a, 255.0)) and "alpha" in caplog.text
    Image.fromarray(a).convert("P").save(tmp_path / "p.png")
    p = load_image(tmp_path / "p.png")
    expected = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    assert torch.equal(p, _chw(expected, 255.0))


def test_16bit_grey_and_colour(tmp_path):
    rng = np.random.default_rng(2)
    grey = rng.integers(0, 65536, (H, W), dtype=np.uint16)
    Image.fromarray(grey).save(tmp_path / "g16.png")
    g = load_image(tmp_path / "g16.png")
    assert torch.allclose(g[0], torch.from_numpy(grey / np.float32(65535.0)), atol=0, rtol=1e-6)
    colour = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "c16.png"), colour[..., ::-1])   # OpenCV writes BGR
    c = load_image(tmp_path / "c16.png")
    assert torch.equal(c, _chw(colour, 65535.0))
    assert len(torch.unique(c)) > 256, "16-bit precision kept"


def test_exif_orientation_applied(tmp_path):
    a = _rgb8(3)
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(a).save(tmp_path / "r.png", exif=exif)
    x = load_image(tmp_path / "r.png")
    assert x.shape == (3, W, H)
    assert torch.equal(x, _chw(np.ascontiguousarray(np.rot90(a, -1)), 255.0))
    Image.fromarray(a).save(tmp_path / "r.jpg", exif=exif, quality=95)
    j = load_image(tmp_path / "r.jpg")
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "r.jpg")))
    assert torch.equal(j, _chw(expected, 255.0))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_helper_matches_pil(orientation):
    a = _rgb8(4)
    img = Image.fromarray(a)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.info["exif"] = exif.tobytes()
    expected = np.asarray(ImageOps.exif_transpose(img))
    assert np.array_equal(_apply_orientation(a, orientation), expected)


def test_load_errors(tmp_path):
    with pytest.raises(CinemagraphError, match="not found"):
        load_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(CinemagraphError, match="cannot read"):
        load_image(tmp_path / "bad.png")
    Image.fromarray(np.zeros((MIN_SIDE - 1, 64, 3), np.uint8)).save(tmp_path / "small.png")
    with pytest.raises(CinemagraphError, match=f"at least {MIN_SIDE} px"):
        load_image(tmp_path / "small.png")
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(CinemagraphError, match="downscale"):
        load_image(tmp_path / "big.png", max_pixels=64 * 63)


def test_check_image_size_limits():
    check_image_size(MIN_SIDE, MIN_SIDE)
    check_image_size(4096, 4096)
    with pytest.raises(CinemagraphError, match="max size option"):
        check_image_size(5000, 4000)
    assert MAX_PIXELS == 4096 * 4096


@pytest.mark.parametrize("layout", ["hwc", "chw", "hw", "bhwc", "hw1"])
def test_as_rgb_layouts(layout):
    a = _rgb8(5)
    arr = {"hwc": a, "chw": a.transpose(2, 0, 1), "hw": a[..., 0], "bhwc": a[None], "hw1": a[..., :1]}[layout]
    x = as_rgb(torch.from_numpy(arr.copy()) if layout == "chw" else arr)
    expected = _chw(a, 255.0) if layout in ("hwc", "chw", "bhwc") else _chw(a[..., :1], 255.0).expand(3, -1, -1)
    assert x.shape == (3, H, W) and torch.equal(x, expected)


def test_as_rgb_dtypes_and_range(caplog):
    a16 = np.full((H, W, 3), 65535, np.uint16)
    assert torch.equal(as_rgb(a16), torch.ones(3, H, W))
    f = np.full((H, W, 3), 1.05, np.float32)
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        assert torch.equal(as_rgb(f), torch.ones(3, H, W))
    assert "clipped" in caplog.text
    assert torch.equal(as_rgb(np.ones((H, W), bool)), torch.ones(3, H, W))


@pytest.mark.parametrize("x, match", [
    (np.full((H, W, 3), 200.0, np.float32), "divide by 255"),
    (np.full((H, W, 3), np.nan, np.float32), f"{H * W * 3} values are NaN"),
    (np.zeros((3, H, 4), np.float32), "channel axis"),
    (np.zeros((2, H, W, 3), np.uint8), "batch of 2"),
    (np.zeros((H, W, 3), np.int32), "dtype int32"),
    ([[0.5]], "numpy array or torch tensor"),
])
def test_as_rgb_errors(x, match):
    with pytest.raises(CinemagraphError, match=match):
        as_rgb(x)


def _write_pfm(path, arr: np.ndarray) -> None:
    h, w = arr.shape
    with open(path, "wb") as f:
        f.write(b"Pf\n%d %d\n-1.0\n" % (w, h))
        f.write(np.flipud(arr).astype("<f4").tobytes())


def test_load_map_formats(tmp_path, caplog):
    rng = np.random.default_rng(6)
    m8 = rng.integers(0, 256, (H, W), dtype=np.uint8)
    Image.fromarray(m8).save(tmp_path / "m8.png")
    assert torch.equal(load_map(tmp_path / "m8.png"), torch.from_numpy(m8 / np.float32(255.0)))
    m16 = rng.integers(0, 65536, (H, W), dtype=np.uint16)
    cv2.imwrite(str(tmp_path / "m16.png"), m16)
    assert torch.equal(load_map(tmp_path / "m16.png"), torch.from_numpy(m16.astype(np.float32) / 65535.0))
    mf = rng.uniform(0.5, 40.0, (H, W)).astype(np.float32)
    Image.fromarray(mf).save(tmp_path / "mf.tiff")
    assert torch.equal(load_map(tmp_path / "mf.tiff"), torch.from_numpy(mf))
    np.save(tmp_path / "mf.npy", mf)
    assert torch.equal(load_map(tmp_path / "mf.npy"), torch.from_numpy(mf))
    _write_pfm(tmp_path / "mf.pfm", mf)
    assert torch.equal(load_map(tmp_path / "mf.pfm"), torch.from_numpy(mf))
    Image.fromarray(np.dstack([m8] * 3)).save(tmp_path / "rgb_grey.png")
    assert torch.equal(load_map(tmp_path / "rgb_grey.png"), torch.from_numpy(m8 / np.float32(255.0)))
    colour = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    Image.fromarray(colour).save(tmp_path / "colour.png")
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        lum = load_map(tmp_path / "colour.png")
    expected = (colour.astype(np.float32) / 255.0) @ np.array([0.299, 0.587, 0.114], np.float32)
    assert torch.allclose(lum, torch.from_numpy(expected), atol=1e-6) and "luminance" in caplog.text


def test_load_map_errors(tmp_path):
    (tmp_path / "x.pfm").write_bytes(b"P6\n2 2\n-1\n")
    with pytest.raises(CinemagraphError, match="not a PFM"):
        load_map(tmp_path / "x.pfm")
    np.save(tmp_path / "s.npy", np.array(["a", "b"]))
    with pytest.raises(CinemagraphError, match="numeric"):
        load_map(tmp_path / "s.npy")
    with pytest.raises(CinemagraphError, match="not found"):
        load_map(tmp_path / "none.npy")


def test_resize_map_modes(caplog):
    mask = torch.zeros(20, 30)
    mask[5:15, 10:20] = 1
    assert resize_map(mask, (20, 30), "mask", "nearest") is mask
    with caplog.at_level(logging.INFO, logger="cinemagraph"):
        big = resize_map(mask, (40, 60), "mask", "nearest")
    assert "mask is 30x20, the image is 60x40" in caplog.text
    assert set(torch.unique(big).tolist()) == {0.0, 1.0} and float(big.sum()) == 4 * float(mask.sum())
    ramp = torch.linspace(0, 1, 40)[None].expand(20, 40)
    small = resize_map(ramp, (10, 20), "depth", "area")
    assert small.shape == (10, 20) and torch.allclose(small[:, 0], ramp[:, :2].mean())
    with pytest.raises(CinemagraphError, match="mode"):
        resize_map(mask, (10, 10), "mask", "cubic")
