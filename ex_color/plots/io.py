"""Writing figures to disk: the PNG (atomically) and its alt text beside it."""

from __future__ import annotations

import io
import os
from pathlib import Path

from matplotlib import _pylab_helpers
from matplotlib.figure import Figure

from ex_color.runs import atomic_write_bytes


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
    try:
        png = io.BytesIO()
        fig.savefig(
            png,
            format="png",
            dpi="figure" if dpi is None else dpi,
            facecolor=fig.get_facecolor(),
            edgecolor=fig.get_edgecolor(),
        )
        atomic_write_bytes(path, png.getvalue())
        atomic_write_bytes(path.with_suffix(".txt"), (" ".join(str(alt_text).split()) + "\n").encode("utf-8"))
    finally:
        _pylab_helpers.Gcf.destroy_fig(fig)
    return path


__all__ = ["save_figure"]
