"""Writing animations: a GIF through Pillow and, where ffmpeg is installed, an MP4; both atomically, with the
alt text beside them (`<stem>.txt`)."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from ex_color.errors import WriteFailed
from ex_color.runs import atomic_write_bytes

HOLD_S = 1.0  # the last frame stays this long before the animation loops


def ffmpeg() -> str | None:
    """The ffmpeg executable, or None where there is none."""
    return shutil.which("ffmpeg")


def _encoder(executable: str) -> list[str]:
    """H.264 where this ffmpeg has it (every player plays it), else MPEG-4 part 2."""
    try:
        encoders = subprocess.run(
            [executable, "-hide_banner", "-encoders"], capture_output=True, text=True, timeout=30
        ).stdout
    except (OSError, subprocess.SubprocessError):
        encoders = ""
    if " libx264 " in encoders:
        return ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "20", "-preset", "medium"]
    return ["-c:v", "mpeg4", "-pix_fmt", "yuv420p", "-q:v", "3"]


class _Mp4:
    """ffmpeg reading raw RGB frames on its stdin, writing a temporary file beside `path`."""

    def __init__(self, executable: str, path: Path, size: tuple[int, int], fps: float):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".mp4")
        os.close(fd)
        self.path = path
        width, height = size
        command = [
            executable, "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-",
            "-vf", "pad=ceil(iw/2)*2:ceil(ih/2)*2", *_encoder(executable), "-movflags", "+faststart", self.tmp,
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)

    def write(self, rgb: np.ndarray, times: int = 1) -> None:
        data = np.ascontiguousarray(rgb).tobytes()
        for _ in range(times):
            self.process.stdin.write(data)

    def finish(self) -> str | None:
        """None when written, else what ffmpeg said."""
        _, stderr = self.process.communicate()
        if self.process.returncode != 0:
            Path(self.tmp).unlink(missing_ok=True)
            lines = (stderr or b"").decode(errors="replace").strip().splitlines()
            return lines[-1] if lines else f"exit status {self.process.returncode}"
        try:
            os.chmod(self.tmp, 0o644)
            os.replace(self.tmp, self.path)
        except OSError as error:
            Path(self.tmp).unlink(missing_ok=True)
            raise WriteFailed(self.path, error) from None
        return None

    def abort(self) -> None:
        self.process.kill()
        self.process.communicate()
        Path(self.tmp).unlink(missing_ok=True)


def save_animation(
    frame: Callable[[int], np.ndarray],
    count: int,
    gif: Path,
    fps: float,
    alt_text: str,
    mp4: Path | None = None,
    on_frame: Callable[[int], None] | None = None,
) -> tuple[list[Path], str | None]:
    """Render frames 0 … count − 1 (`frame(k)`: RGB [H, W, 3] uint8) into `gif` and, with `mp4` and ffmpeg
    present, into `mp4` in the same pass; the alt text goes to `gif`'s `.txt`. One palette for every GIF
    frame (from the first and last frames: no flicker), no dithering. Returns (the paths written, why no
    MP4 was written or None)."""
    first, last = frame(0), frame(count - 1)
    palette = Image.fromarray(np.concatenate([first, last], axis=0)).quantize(
        255, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE
    )
    executable = ffmpeg() if mp4 is not None else None
    note = None if executable is not None or mp4 is None else "ffmpeg not found"
    video = _Mp4(executable, Path(mp4), (first.shape[1], first.shape[0]), fps) if executable else None
    images = []
    try:
        for k in range(count):
            rgb = first if k == 0 else last if k == count - 1 else frame(k)
            images.append(Image.fromarray(rgb).quantize(palette=palette, dither=Image.Dither.NONE))
            if video is not None:
                video.write(rgb, times=1 if k < count - 1 else 1 + int(round(HOLD_S * fps)))
            if on_frame is not None:
                on_frame(k)
    except BaseException:
        if video is not None:
            video.abort()
        raise
    duration = max(20, int(round(1000 / fps)))
    durations = [duration] * (count - 1) + [duration + int(HOLD_S * 1000)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    written = [atomic_write_bytes(Path(gif), buffer.getvalue())]
    atomic_write_bytes(Path(gif).with_suffix(".txt"), (" ".join(str(alt_text).split()) + "\n").encode("utf-8"))
    if video is not None:
        failed = video.finish()
        if failed is None:
            written.append(Path(mp4))
        else:
            note = f"ffmpeg failed: {failed}"
    return written, note


__all__ = ["ffmpeg", "save_animation"]
