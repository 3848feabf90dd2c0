"""Evaluation speed and memory (issue 6, targets 2 and 4-evaluation).

Measures, in one run, as whole processes:
  - `excolor infer` over the 552,960-colour HD cube (loading the run, forward pass, saving .npz)
    against a bare Python process that imports torch, loads the same weights and runs the same forward
    pass (target: within 2.5x);
  - the extra memory evaluation needs beyond its inputs and outputs, for 1M and 10M colours
    (target: bounded, i.e. about the same for both, because the forward pass runs in chunks).

Usage: python benchmarks/bench_eval.py [--quick] [--run DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
EXCOLOR = [PYTHON, "-m", "ex_color.cli"]

BARE_FORWARD = r"""
import sys
import numpy as np
import torch
from torch import nn

checkpoint = torch.load(sys.argv[1], map_location="cpu", weights_only=True)
state = {k.removeprefix("model."): v for k, v in checkpoint["state_dict"].items()}
n = state["encoder.2.weight"].shape[0]
model = nn.Module()
model.encoder = nn.Sequential(nn.Linear(3, 16), nn.GELU(), nn.Linear(16, n))
model.decoder = nn.Sequential(nn.Linear(n, 16), nn.GELU(), nn.Linear(16, 3), nn.Sigmoid())
model.load_state_dict(state)
torch.set_num_threads(1)
x = torch.from_numpy(np.load(sys.argv[2]))
with torch.inference_mode():
    z = model.encoder(x)
    y = model.decoder(z)
np.savez(sys.argv[3], inputs=x.numpy(), outputs=y.numpy(), latents=z.numpy())
"""

PEAK_MEMORY = r"""
import sys
import numpy as np
from ex_color import runs
from ex_color.evaluation.predict import predict

def status(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) * 1024

n = int(sys.argv[2])
model = runs.load_model(sys.argv[1])
rgb = np.random.default_rng(0).random((n, 3), dtype=np.float32)
open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS watermark
before = status("VmRSS:")
result = predict(model, rgb)
peak = status("VmHWM:")
arrays = result.outputs.nbytes + result.latents.nbytes
print((peak - before - arrays) / 2**20, arrays / 2**20)
"""


def timed(command: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, cwd=REPO)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def smoke_run(workdir: Path) -> Path:
    result = subprocess.run(
        [*EXCOLOR, "train", "experiment=smoke"], check=True, capture_output=True, text=True, cwd=workdir
    )
    return Path(result.stdout.strip().splitlines()[-1].removeprefix("run directory: "))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--run", type=Path, help="a trained run (default: train a smoke run)")
    args = parser.parse_args()
    repeat = 3 if args.quick else 7

    import numpy as np
    import torch

    from ex_color.data.cubes import ColorCube

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        run = args.run.resolve() if args.run else smoke_run(tmp)
        hd = ColorCube.hsv(240, 48, 48).flat_rgb().astype(np.float32)
        np.save(tmp / "hd.npy", hd)
        bare = timed(
            [
                PYTHON,
                "-c",
                BARE_FORWARD,
                str(run / "checkpoints" / "last.ckpt"),
                str(tmp / "hd.npy"),
                str(tmp / "bare.npz"),
            ],
            repeat,
        )
        ours = timed(
            [*EXCOLOR, "infer", "--run", str(run), "--input", str(tmp / "hd.npy"), "--output", str(tmp / "ours.npz")],
            repeat,
        )
        np.testing.assert_allclose(
            np.load(tmp / "ours.npz")["outputs"], np.load(tmp / "bare.npz")["outputs"], atol=1e-6
        )
        memory = {}
        for n in (1_000_000, 10_000_000):
            out = subprocess.run(
                [PYTHON, "-c", PEAK_MEMORY, str(run), str(n)], check=True, capture_output=True, text=True, cwd=REPO
            )
            extra, arrays = (float(x) for x in out.stdout.split())
            memory[n] = (extra, arrays)

    import lightning

    print(
        f"# Evaluation benchmark — {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {platform.processor() or platform.machine()}"
    )
    print(
        f"python {platform.python_version()}, torch {torch.__version__}, lightning {lightning.__version__}, median of {repeat}"
    )
    print()
    print("| measurement | bare | excolor | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| infer, HD cube (552,960 colours), whole process | {bare:.2f} s | {ours:.2f} s | {ours / bare:.2f} | ≤ 2.5 |"
    )
    (e1, a1), (e10, a10) = memory[1_000_000], memory[10_000_000]
    print()
    print("| measurement (excolor's chunked evaluation) | 1M colours | 10M colours | ratio | target |")
    print("|---|---|---|---|---|")
    print(
        f"| extra memory beyond inputs and results | {e1:.0f} MiB | {e10:.0f} MiB | {e10 / max(e1, 1):.2f} | bounded (about 1) |"
    )
    print(
        f"| inputs and results themselves | {a1:.0f} MiB | {a10:.0f} MiB | {a10 / max(a1, 1):.2f} | (grow with the input) |"
    )


if __name__ == "__main__":
    main()
