"""Writing frames: mp4 (H.264 through imageio-ffmpeg), animated webp/gif (Pillow), numbered PNGs.

Frames arrive one at a time as ``(3,H,W)`` float 0..1 tensors (or ``(H,W,3)`` uint8 arrays); mp4 and PNG
output stream them to disk, webp/gif keep the uint8 frames (N*H*W*3 bytes) until the end.
"""
from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Iterable, Optional, Union

import numpy as np
import torch

from .errors import CinemagraphError

log = logging.getLogger("cinemagraph")
FORMATS = (".mp4", ".webp", ".gif")
X264_PARAMS = ("-threads", "1", "-sws_flags", "+accurate_rnd+bitexact", "-fflags", "+bitexact", "-flags:v", "+bitexact")
"""ffmpeg output options that make an mp4 the same bytes on every machine: x264's output depends on its
thread count (by default the machine's core count), the colour conversion on the CPU's SIMD, and the
container names the library versions unless told to be bit-exact."""


def to_uint8(frame: Union[torch.Tensor, np.ndarray]) -> np.ndarray:
    """``(3,H,W)`` float 0..1 tensor or ``(H,W,3)`` array -> ``(H,W,3)`` uint8 (rounded)."""
    if isinstance(frame, torch.Tensor):
        frame = frame.detach().cpu().permute(1, 2, 0).numpy()
    if frame.dtype == np.uint8:
        return frame
    return np.clip(np.rint(np.asarray(frame, dtype=np.float32) * 255.0), 0, 255).astype(np.uint8)


def partial_path(path: Union[str, Path]) -> Path:
    """The hidden temporary file beside ``path`` that ``VideoWriter`` writes before replacing ``path``."""
    p = Path(path)
    return p.with_name(f".{p.stem}.partial{p.suffix}")


def check_output_path(path: Union[str, Path]) -> Path:
    """Validate the output file name before any work is done (suffix known, folder writable)."""
    p = Path(path)
    if p.suffix.lower() not in FORMATS:
        raise CinemagraphError(f"unknown video format '{p.suffix}' for {p}: use one of {', '.join(FORMATS)}")
    if p.is_dir():
        raise CinemagraphError(f"{p} is a folder; give a file name such as {p / 'cinemagraph.mp4'}")
    check_writable_folder(p.parent)
    return p


def check_writable_folder(folder: Union[str, Path]) -> Path:
    """Create ``folder`` when missing and make sure files can be written in it (a probe file is made and
    removed); a CinemagraphError says why not."""
    d = Path(folder)
    try:
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=d, prefix=".cinemagraph-write-check-"):
            pass
    except OSError as e:
        raise CinemagraphError(f"cannot write into the output folder {d} ({e.strerror or e}); choose another "
                               f"output path") from e
    return d


class VideoWriter:
    """Stream frames into a video file and, optionally, numbered PNGs in ``frames_dir``.

    Use as a context manager; ``write(frame)`` per frame. mp4 needs even sizes: an odd width or height
    is padded by one edge pixel (logged); the same frames give the same mp4 bytes on any machine
    (``X264_PARAMS``). The video goes to a temporary file beside ``path`` that replaces
    ``path`` only when everything was written, so a failed or interrupted run never clobbers an existing
    file.
    """

    def __init__(self, path: Union[str, Path], fps: float, frames_dir: Optional[Union[str, Path]] = None):
        if not (fps > 0):
            raise CinemagraphError(f"fps must be > 0, got {fps}")
        self.path = check_output_path(path)
        self._tmp = partial_path(self.path)
        self.fps = float(fps)
        self.frames_dir = Path(frames_dir) if frames_dir is not None else None
        if self.frames_dir is not None:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self._mp4 = None
        self._held: list[np.ndarray] = []

    def __enter__(self) -> "VideoWriter":
        return self

    def write(self, frame: Union[torch.Tensor, np.ndarray]) -> None:
        img = to_uint8(frame)
        if self.frames_dir is not None:
            from PIL import Image

            Image.fromarray(img).save(self.frames_dir / f"frame_{self.count:05d}.png")
        if self.path.suffix.lower() == ".mp4":
            self._write_mp4(img)
        else:
            self._held.append(img)
        self.count += 1

    def _write_mp4(self, img: np.ndarray) -> None:
        h, w = img.shape[:2]
        if h % 2 or w % 2:
            img = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            if self.count == 0:
                log.info("mp4 needs even sizes: padded %dx%d to %dx%d", w, h, img.shape[1], img.shape[0])
        if self._mp4 is None:
            import imageio_ffmpeg

            self._mp4 = imageio_ffmpeg.write_frames(
                str(self._tmp), (img.shape[1], img.shape[0]), fps=self.fps, codec="libx264",
                pix_fmt_out="yuv420p", quality=8, macro_block_size=1, output_params=list(X264_PARAMS))
            self._mp4.send(None)
        self._mp4.send(np.ascontiguousarray(img))

    def close(self) -> None:
        if self._mp4 is not None:
            self._mp4.close()
            self._mp4 = None
        if self._held:
            from PIL import Image

            frames = [Image.fromarray(f) for f in self._held]
            duration = int(round(1000.0 / self.fps))
            kwargs = {"lossless": False, "quality": 90} if self.path.suffix.lower() == ".webp" else {"disposal": 1}
            frames[0].save(self._tmp, format=self.path.suffix[1:].upper(), save_all=True, append_images=frames[1:], duration=duration, loop=0, **kwargs)
            self._held = []
        if self._tmp.exists():
            os.replace(self._tmp, self.path)

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            if self._mp4 is not None:
                self._mp4.close()
                self._mp4 = None
            self._tmp.unlink(missing_ok=True)


def write_video(frames: Iterable[Union[torch.Tensor, np.ndarray]], path: Union[str, Path], fps: float,
                frames_dir: Optional[Union[str, Path]] = None) -> int:
    """Write all ``frames`` to ``path`` (format from the suffix); returns the number of frames written."""
    with VideoWriter(path, fps, frames_dir) as w:
        for f in frames:
            w.write(f)
    if w.count == 0:
        raise CinemagraphError("no frames to write")
    return w.count


def read_video(path: Union[str, Path]) -> np.ndarray:
    """All frames of a video file as ``(N,H,W,3)`` uint8 (for checks and tests)."""
    p = Path(path)
    if p.suffix.lower() == ".mp4":
        import imageio_ffmpeg

        reader = imageio_ffmpeg.read_frames(str(p))
        meta = next(reader)
        w, h = meta["size"]
        return np.stack([np.frombuffer(b, np.uint8).reshape(h, w, 3) for b in reader])
    from PIL import Image, ImageSequence

    with Image.open(p) as im:
        return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)])
