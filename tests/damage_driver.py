"""Runs the damaged-run-file matrix for tests/test_damaged_runs.py: one process that imports the CLI once,
then, per case, copies a pristine run, damages one file and runs each command through the real CLI entry
point (`ex_color.cli.main`) in a forked child process of its own (its exit status, its stderr).

Usage: python tests/damage_driver.py SPEC.json RESULTS.json
SPEC: {"workdir": ..., "scratch": ..., "cases": [{"id", "pristine", "file", "damage", "commands": [[args]]}]}
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import sys
import traceback
from pathlib import Path

# Valid syntax, wrong schema: what each kind of file holds when it is well-formed but not what ex-color wrote.
WRONG_SCHEMA_TEXT = {
    ".yaml": b"unrelated: 1\n",
    ".csv": b"a,b\n1,2\n",
    ".json": b'{"unrelated": 1}\n',
}


def wrong_schema(path: Path) -> bytes:
    if path.suffix in WRONG_SCHEMA_TEXT:
        return WRONG_SCHEMA_TEXT[path.suffix]
    buffer = io.BytesIO()
    if path.suffix == ".npz":
        import numpy as np

        np.savez(buffer, unrelated=np.zeros(3))
    elif path.suffix == ".ckpt":
        import torch

        torch.save({"unrelated": 1}, buffer)
    else:
        raise ValueError(f"no wrong schema for {path}")
    return buffer.getvalue()


def damage(path: Path, how: str) -> None:
    data = path.read_bytes()
    if how == "truncated":
        damaged = data[: max(len(data) // 2, 1) - 1] if len(data) > 1 else b""
    elif how == "random-bytes":
        damaged = random.Random(0).randbytes(max(len(data), 64))
    elif how == "empty":
        damaged = b""
    elif how == "wrong-schema":
        damaged = wrong_schema(path)
    else:
        raise ValueError(how)
    path.write_bytes(damaged)


def listing(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*"))


def run_cli(args: list[str], workdir: Path, stderr_file: Path) -> int:
    """The real CLI in a child process: its exit status."""
    from ex_color import cli

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.chdir(workdir)
            err = os.open(stderr_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            out = os.open(os.devnull, os.O_WRONLY)
            os.dup2(err, 2)
            os.dup2(out, 1)
            sys.argv = ["excolor", *args]
            try:
                cli.main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
            except BaseException:  # noqa: BLE001 - what a user would see: the traceback
                traceback.print_exc()
                code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    import matplotlib

    matplotlib.use("Agg")
    import torch

    torch.set_num_threads(1)
    import ex_color.cli  # noqa: F401 - imported once, before the children fork
    import ex_color.tasks.plot  # noqa: F401
    import ex_color.tasks.report  # noqa: F401
    import ex_color.tasks.train  # noqa: F401

    workdir, scratch = Path(spec["workdir"]), Path(spec["scratch"])
    results = {}
    for case in spec["cases"]:
        copy = scratch / case["id"]
        shutil.copytree(case["pristine"], copy, symlinks=True)
        target = copy / case["file"]
        damage(target, case["damage"])
        damaged = target.read_bytes()
        before = listing(copy)
        outcomes = []
        for index, args in enumerate(case["commands"]):
            args = [a.replace("{run}", str(copy)) for a in args]
            stderr_file = scratch / f"{case['id']}.{index}.stderr"
            code = run_cli(args, workdir, stderr_file)
            outcomes.append({"args": args, "code": code, "stderr": stderr_file.read_text(errors="replace")})
        results[case["id"]] = {
            "outcomes": outcomes,
            "unchanged": listing(copy) == before and target.read_bytes() == damaged,
            "file": str(target),
        }
        shutil.rmtree(copy)
    Path(sys.argv[2]).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
