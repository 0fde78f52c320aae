"""Video writing: formats, odd sizes, frame PNGs, atomic replacement, errors."""
import numpy as np
import pytest
import torch

from cinemagraph_core.errors import CinemagraphError
from cinemagraph_core.video import VideoWriter, read_video, to_uint8, write_video


def frames(n=3, h=33, w=47):
    g = torch.Generator().manual_seed(0)
    return [torch.rand(3, h, w, generator=g) for _ in range(n)]


def test_to_uint8_rounds_and_clips():
    x = torch.tensor([[[0.0, 0.5, 1.2]], [[-0.1, 1 / 255, 0.998]], [[0.2, 0.4, 0.6]]])
    out = to_uint8(x)
    assert out.shape == (1, 3, 3) and out.dtype == np.uint8
    assert out[0, :, 0].tolist() == [0, 128, 255] and out[0, :, 1].tolist() == [0, 1, 254]


def test_odd_sized_mp4_is_padded_to_even(tmp_path):
    path = tmp_path / "odd.mp4"
    assert write_video(frames(), path, fps=10) == 3
    video = read_video(path)
    assert video.shape == (3, 34, 48, 3)


def test_gif_keeps_every_frame_and_the_pngs_are_exact(tmp_path):
    src = frames(4, 16, 16)
    write_video(src, tmp_path / "a.gif", fps=12, frames_dir=tmp_path / "png")
    assert read_video(tmp_path / "a.gif").shape == (4, 16, 16, 3)
    from PIL import Image

    first = np.asarray(Image.open(tmp_path / "png" / "frame_00000.png"))
    assert np.array_equal(first, to_uint8(src[0]))


def test_an_error_while_writing_leaves_no_file(tmp_path):
    path = tmp_path / "broken.webp"
    with pytest.raises(RuntimeError):
        with VideoWriter(path, fps=5) as w:
            w.write(frames(1)[0])
            raise RuntimeError("interrupted")
    assert not path.exists() and not list(tmp_path.iterdir())


@pytest.mark.parametrize("call, message", [
    (lambda p: write_video([], p / "x.mp4", 10), "no frames"),
    (lambda p: write_video(frames(1), p / "x.mp4", 0), "fps"),
    (lambda p: write_video(frames(1), p / "x.mov", 10), "format"),
    (lambda p: write_video(frames(1), p, 10), "folder|format"),
])
def test_errors(tmp_path, call, message):
    with pytest.raises(CinemagraphError, match=message):
        call(tmp_path)


def test_an_mp4_is_the_same_bytes_on_every_run_and_machine(tmp_path):
    """x264's default thread count follows the machine's cores and changes the bytes: it is pinned to one
    thread, and the container leaves out the library versions."""
    write_video(frames(4, 32, 32), tmp_path / "a.mp4", fps=10)
    write_video(frames(4, 32, 32), tmp_path / "b.mp4", fps=10)
    data = (tmp_path / "a.mp4").read_bytes()
    assert data == (tmp_path / "b.mp4").read_bytes()
    assert b" threads=1 " in data and b"Lavf" not in data
