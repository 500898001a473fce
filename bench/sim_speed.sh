#!/usr/bin/env bash
# Simulator speed: the Rust `poq sim` cell against the plain NumPy implementation of the
# same rounds (bench/sim_numpy.py), on this machine, in this run.
#
#   bench/sim_speed.sh [ROUNDS] [REPEATS]      (defaults: 20000 rounds, best of 3)
#
# 1. builds target/release/poq (cargo does nothing when it is up to date);
# 2. makes sure NumPy (bench/requirements.txt) is in fixtures/.venv, the git-ignored
#    virtual environment the Python references share, creating it if needed
#    (POQ_BENCH_VENV=/some/venv uses another one);
# 3. runs each program REPEATS times, alternating, and keeps the best wall time of each,
#    measured the same way for both: time.perf_counter around the subprocess, so it
#    includes process start-up (and, for NumPy, the interpreter and the NumPy import);
# 4. prints rounds/s of each, the ratio, and both programs' statistics side by side.
#
# The cell is weighted-mean consensus, published trust, boosting, rho = 0.3, K = 7, on
# the built-in default scenario. The two programs draw different random numbers, so
# their statistics agree statistically, not exactly: from seed to seed Pearson moves by
# about ±0.005 and MAE by about ±0.05 (mostly through the evaluators' drawn biases).
set -euo pipefail

ROUNDS="${1:-20000}"
REPEATS="${2:-3}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

POQ="$ROOT/target/release/poq"
VENV="${POQ_BENCH_VENV:-$ROOT/fixtures/.venv}"  # override to use another venv
PY="$VENV/bin/python"
NUMPY_PIN="$(sed -n 's/^numpy==//p' "$ROOT/bench/requirements.txt")"

echo "== building the release binary (cargo build --release -p poq-cli)" >&2
cargo build --release -q -p poq-cli

if [ ! -x "$PY" ]; then
    echo "== creating $VENV" >&2
    python3 -m venv "$VENV"
fi
if ! "$PY" -c "import numpy, sys; sys.exit(numpy.__version__ != '$NUMPY_PIN')" 2>/dev/null; then
    echo "== installing bench/requirements.txt into $VENV" >&2
    "$PY" -m pip install -q --disable-pip-version-check -r "$ROOT/bench/requirements.txt"
fi

echo "== timing $ROUNDS rounds, best of $REPEATS, on $(nproc) cores" >&2
"$PY" - "$POQ" "$ROOT/bench/sim_numpy.py" "$ROUNDS" "$REPEATS" <<'EOF'
import json
import platform
import subprocess
import sys
import time

import numpy

poq, sim_numpy, rounds, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
cell = ["--rho", "0.3", "-k", "7", "--rounds", str(rounds)]
commands = {
    "rust": [poq, "sim", "--rule", "weighted-mean", "--trust", "published", "--attack", "boosting", *cell, "--json"],
    "numpy": [sys.executable, sim_numpy, *cell],
}

best = {name: float("inf") for name in commands}
result = {}
for _ in range(repeats):
    for name, cmd in commands.items():  # alternate, so both see the same machine state
        start = time.perf_counter()
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        elapsed = time.perf_counter() - start
        best[name] = min(best[name], elapsed)
        result[name] = json.loads(out.strip().splitlines()[-1])
        if name == "numpy":
            best["numpy loop"] = min(best.get("numpy loop", float("inf")), result[name]["loop_seconds"])

rust, py = best["rust"], best["numpy"]
print(f"poq sim cell: weighted-mean, published trust, boosting, rho 0.3, K 7, {rounds} rounds, best of {repeats}")
print(f"machine: {platform.machine()}, Python {platform.python_version()}, NumPy {numpy.__version__}")
print()
print(f"{'':38s}{'wall s':>10s}{'rounds/s':>14s}")
print(f"{'Rust   (poq sim, whole process)':38s}{rust:10.4f}{rounds / rust:14,.0f}")
print(f"{'NumPy  (sim_numpy.py, whole process)':38s}{py:10.4f}{rounds / py:14,.0f}")
print(f"{'NumPy  (its round loop only)':38s}{best['numpy loop']:10.4f}{rounds / best['numpy loop']:14,.0f}")
print()
ratio = py / rust
print(f"speed ratio Rust / NumPy: {ratio:.1f}x (whole processes, measured the same way)")
print(f"                          {best['numpy loop'] / rust:.1f}x (NumPy round loop only, vs the whole Rust process)")
print(f"aim >= 50x: {'met' if ratio >= 50 else 'NOT met'}")
print()
keys = [
    "pearson", "spearman", "mae", "payout_inflation", "detection_auc",
    "inference_reward_mean", "evaluator_reward_mean", "malicious",
]
print(f"{'statistic':24s}{'Rust':>12s}{'NumPy':>12s}")
fmt = lambda v: "null" if v is None else (f"{v:12d}" if isinstance(v, int) else f"{v:12.4f}")
for k in keys:
    print(f"{k:24s}{fmt(result['rust'][k]):>12s}{fmt(result['numpy'][k]):>12s}")
EOF
