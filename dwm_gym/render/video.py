"""Frames side by side with captions, written as MP4 (imageio-ffmpeg) and GIF."""

from __future__ import annotations

from pathlib import Path

import imageio.v2 as imageio
import numpy as np
from PIL import Image, ImageDraw


def label_frame(frame: np.ndarray, lines: list[str]) -> np.ndarray:
    """``frame`` with ``lines`` of text drawn at its top left on a dark band."""
    image = Image.fromarray(frame)
    draw = ImageDraw.Draw(image)
    band = 4 + 12 * len(lines)
    draw.rectangle([0, 0, image.width, band], fill=(20, 20, 20))
    for i, line in enumerate(lines):
        draw.text((4, 2 + 12 * i), line, fill=(255, 255, 255))
    return np.asarray(image)


def side_by_side(columns: list[list[np.ndarray]], captions: list[list[list[str]]]) -> list[np.ndarray]:
    """Joins frame ``t`` of every column into one frame, each captioned with ``captions[c][t]``.

    Columns may differ in length; a shorter one repeats its last frame.
    """
    length = max(len(c) for c in columns)
    out = []
    for t in range(length):
        tiles = [
            label_frame(col[min(t, len(col) - 1)], caps[min(t, len(caps) - 1)]) for col, caps in zip(columns, captions)
        ]
        out.append(np.concatenate(tiles, axis=1))
    return out


def write_mp4(frames: list[np.ndarray], path: str | Path, fps: int = 30) -> Path:
    """H.264 MP4 (dimensions padded to even numbers by imageio-ffmpeg's macro block size 2)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with imageio.get_writer(path, fps=fps, codec="libx264", macro_block_size=2, quality=7) as writer:
        for frame in frames:
            writer.append_data(frame)  # type: ignore[attr-defined]  # imageio's v2 writer, untyped in its stubs
    return path


def write_gif(frames: list[np.ndarray], path: str | Path, fps: int = 15, scale: float = 0.5) -> Path:
    """An animated GIF, downscaled by ``scale`` to stay small, looping forever."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    small = []
    for frame in frames:
        image = Image.fromarray(frame)
        small.append(image.resize((max(1, int(image.width * scale)), max(1, int(image.height * scale)))))
    small[0].save(path, save_all=True, append_images=small[1:], duration=int(1000 / fps), loop=0, optimize=True)
    return path
