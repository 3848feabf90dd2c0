"""The tree itself: no merge left half-done."""

import subprocess

from conftest import REPO

MARKERS = ("<" * 7 + " ", "=" * 7 + "\n", ">" * 7 + " ")


def test_no_tracked_file_holds_merge_conflict_markers():
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    conflicted = []
    for name in files:
        path = REPO / name
        if not path.is_file() or path.suffix in (".png", ".gif", ".mp4", ".npz", ".ckpt"):
            continue
        text = path.read_text(errors="ignore")
        if any(line.startswith(MARKERS) or line == "=" * 7 for line in text.splitlines(keepends=True)):
            conflicted.append(name)
    assert not conflicted, f"merge conflict markers in {conflicted}"
