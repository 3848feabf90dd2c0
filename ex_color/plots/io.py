"""Writing figures to disk: the PNG (atomically) and its alt text beside it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from matplotlib import _pylab_helpers
from matplotlib.figure import Figure


def _atomic_write(target: Path, write) -> None:
    """Call ``write(tmp_path)`` on a temporary file in target's folder, then move it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)  # mkstemp makes files private; figures are ordinary outputs
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def save_figure(fig: Figure, path: str | os.PathLike, alt_text: str, *, dpi: float | None = None) -> Path:
    """Save ``fig`` as a PNG at ``path`` and its alt text as ``<stem>.txt`` beside it; return the PNG path.

    Parent folders are created. Both files are written atomically (temporary file in the same folder,
    then ``os.replace``), so a reader never sees a half-written image. A path that does not end in
    ``.png`` gets ``.png`` appended. The figure is saved at its own dpi unless ``dpi`` is given, with
    its own background colour, and is closed afterwards (released from pyplot if it was registered
    there; detached figures are simply left to the garbage collector).
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        path = path.with_name(path.name + ".png")
    path.parent.mkdir(parents=True, exist_ok=True)
    text_path = path.with_suffix(".txt")

    def write_png(tmp: str) -> None:
        fig.savefig(
            tmp,
            format="png",
            dpi="figure" if dpi is None else dpi,
            facecolor=fig.get_facecolor(),
            edgecolor=fig.get_edgecolor(),
        )

    def write_text(tmp: str) -> None:
        text = " ".join(str(alt_text).split())
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text + "\n")

    try:
        _atomic_write(path, write_png)
        _atomic_write(text_path, write_text)
    finally:
        _pylab_helpers.Gcf.destroy_fig(fig)
    return path


__all__ = ["save_figure"]
