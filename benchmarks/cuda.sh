#!/usr/bin/env bash
# The CUDA figures of benchmarks/RESULTS.md, with the same machine's CPU beside them. Run from the
# repository root on a machine with an NVIDIA GPU, with ex-color's dependencies importable by $PYTHON.
set -uo pipefail  # each measurement on its own: one failing does not stop the others
PYTHON=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
"$PYTHON" benchmarks/bench_training.py --device cuda --quick --reps 1 --only-target1
"$PYTHON" benchmarks/bench_training.py --device cpu --quick --reps 1 --only-target1
"$PYTHON" benchmarks/bench_ensemble.py --device cuda --loop-only --sizes 1 8 32 128 1024 --steps 1000
"$PYTHON" benchmarks/bench_ensemble.py --device cpu --loop-only --sizes 1 8 32 128 --steps 1000
"$PYTHON" benchmarks/bench_ensemble.py --device cuda --sizes 8 --steps 1000
