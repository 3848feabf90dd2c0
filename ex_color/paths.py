"""Where the project's shipped configs and dopesheets live, and how user paths resolve against them."""

from __future__ import annotations

import os
from pathlib import Path

# Shipped inside the package (package data), so that a plain `pip install` has them; the checkout's
# top-level `configs` and `dopesheets` are links to these.
PACKAGE_DIR = Path(__file__).resolve().parent


def config_dir() -> Path:
    """The Hydra config tree: $EXCOLOR_CONFIG_DIR, else the shipped `configs/`."""
    return Path(os.environ.get("EXCOLOR_CONFIG_DIR", PACKAGE_DIR / "configs")).resolve()


def dopesheet_dir() -> Path:
    return PACKAGE_DIR / "dopesheets"


def resolve_dopesheet(path: str | os.PathLike) -> Path:
    """A dopesheet path as given (absolute or relative to the working directory), else relative to the
    shipped files (so `dopesheets/ex-2.2.csv` works from anywhere), else a bare name in `dopesheets/`."""
    given = Path(path).expanduser()
    if given.is_absolute() or given.exists():
        return given
    for candidate in (PACKAGE_DIR / given, dopesheet_dir() / given, dopesheet_dir() / f"{given}.csv"):
        if candidate.exists():
            return candidate
    return given
