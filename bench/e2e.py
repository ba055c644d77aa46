#!/usr/bin/env python3
"""End-to-end binary evaluation from .npy files with the page cache warm:
`clmetrics binary --json` against the C loop a user would write over mmap
(bench/e2e_cloop, fast-math OpenMP) and a NumPy process doing the full pass
in float64, each a fresh process, median of --reps. Also the CLI's start-up
at N = 1000. Prints one table; --csv writes it.

Usage: /usr/bin/python3 bench/e2e.py [--sizes 1e8,1e9] [--reps 5]
       [--dir /tmp/clm_e2e] [--cli build-bench/clmetrics]
       [--cloop build-bench/bench/e2e_cloop] [--numpy-max 1e8] [--csv F]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

NUMPY_PASS = r"""
import sys, numpy as np
y = np.load(sys.argv[1], mmap_mode="r"); z = np.load(sys.argv[2], mmap_mode="r")
n = len(y); step = 1 << 24; loss = 0.0; g = 0.0; tp = fp = fn = 0
for i in range(0, n, step):
    zz = np.asarray(z[i:i + step], dtype=np.float64); yy = np.asarray(y[i:i + step]).astype(bool)
    m = np.where(yy, -zz, zz)
    loss += float(np.sum(np.maximum(m, 0) + np.log1p(np.exp(-np.abs(zz)))))
    s = np.where(zz >= 0, 1 / (1 + np.exp(-np.abs(zz))), np.exp(-np.abs(zz)) / (1 + np.exp(-np.abs(zz))))
    g += float(np.sum(s - yy))
    p = zz > 0
    tp += int(np.sum(p & yy)); fp += int(np.sum(p & ~yy)); fn += int(np.sum(~p & yy))
print(tp, fp, fn, loss / n)
"""


def make_files(d, n):
    y_path = os.path.join(d, f"y_{n}.npy")
    z_path = os.path.join(d, f"z_{n}.npy")
    if os.path.exists(y_path) and os.path.exists(z_path):
        return y_path, z_path
    rng = np.random.default_rng(n)
    y = np.lib.format.open_memmap(y_path + ".tmp", mode="w+", dtype=np.uint8,
                                  shape=(n,))
    z = np.lib.format.open_memmap(z_path + ".tmp", mode="w+",
                                  dtype=np.float32, shape=(n,))
    step = 1 << 25
    for i in range(0, n, step):
        m = min(step, n - i)
        yy = rng.random(m) < 0.3
        y[i:i + m] = yy
        z[i:i + m] = np.where(yy, 1.2, -1.2) + rng.normal(size=m) * 1.5
    del y, z
    os.replace(y_path + ".tmp", y_path)
    os.replace(z_path + ".tmp", z_path)
    return y_path, z_path


def warm(*paths):
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


def timed(cmd):
    t = time.perf_counter()
    out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, check=True).stdout
    return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1e8,1e9")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--dir", default="/tmp/clm_e2e")
    ap.add_argument("--cli", default="build-bench/clmetrics")
    ap.add_argument("--cloop", default="build-bench/bench/e2e_cloop")
    ap.add_argument("--numpy-max", type=float, default=1e8)
    ap.add_argument("--csv")
    a = ap.parse_args()
    os.makedirs(a.dir, exist_ok=True)
    rows = []
    print(f"# e2e: {os.cpu_count()} CPUs, loadavg {open('/proc/loadavg').read().strip()}")
    for n in [int(float(s)) for s in a.sizes.split(",")] + [1000]:
        y, z = make_files(a.dir, n)
        warm(y, z)
        tools = {"clmetrics": [a.cli, "binary", "--labels", y, "--scores", z,
                               "--json"],
                 "c-mmap-fastmath-openmp": [a.cloop, y, z]}
        if n <= a.numpy_max or n == 1000:
            tools["numpy-f64"] = [sys.executable, "-c", NUMPY_PASS, y, z]
        times, answers = {}, {}
        for _ in range(a.reps):
            for name, cmd in tools.items():
                dt, out = timed(cmd)
                times.setdefault(name, []).append(dt)
                answers[name] = out
        cl = json.loads(answers["clmetrics"])
        ref = json.loads(answers["c-mmap-fastmath-openmp"])
        same = all(cl["confusion"][k] == ref[k] for k in ("tp", "fp", "tn", "fn"))
        base = statistics.median(times["clmetrics"])
        for name, ts in times.items():
            med = statistics.median(ts)
            rows.append((name, n, med, n / med / 1e6, med / base))
            extra = ""
            if name == "clmetrics":
                extra = (f"  startup {cl['timing']['startup_s']:.3f} s, "
                         f"compute {cl['timing']['compute_s']:.3f} s")
            print(f"{name:24s} N={n:>11d} median {med:8.3f} s  "
                  f"{n / med / 1e6:9.1f} M samples/s  "
                  f"clmetrics speed / this = {med / base:6.2f}{extra}")
        print(f"#   counts clmetrics == C loop: {same}")
    if a.csv:
        with open(a.csv, "w") as f:
            f.write("tool,n,median_s,msamples_per_s,clmetrics_speedup\n")
            for r in rows:
                f.write(",".join(str(x) for x in r) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
