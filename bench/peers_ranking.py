#!/usr/bin/python3
"""scikit-learn on bench_ranking's data: exact ROC-AUC + average precision.

Reproduces bench/bench_ranking.c's data bit for bit with NumPy (the same
counter-based splitmix64 stream and the same IEEE operations): labels uint8
(30 % positives), scores = N(0,1)-like noise + 1.0 * label as float32 (or
float64 with --f64, or D distinct values with --ties D). Then times, as the
median of --reps, from arrays in memory to the answer:
  sklearn             roc_auc_score(y, s) + average_precision_score(y, s)
  sklearn-roc_auc     roc_auc_score alone
  sklearn-ap          average_precision_score alone
and prints ROC-AUC and AP with 17 digits, to compare with bench_ranking's
table for the same N (they should agree to ~1e-15; bench_ranking asserts
clmetrics against its sort baseline at 1e-12).

scikit-learn's metrics run on one thread (each call sorts with a stable
argsort); its time grows like N log N, close to linear over 1e6..1e8, so
--extrapolate N (default 1e8) prints the per-sample rate of the largest
measured size scaled to N -- an estimate, labelled as one.

Why not a mode of peers.py: that script times the clmetrics CLI on .npy
files against Python tools, and clmetrics has no ranking command to time
there; this one compares with bench_ranking's in-memory C timings instead.

Run with Debian's /usr/bin/python3 (python3-numpy, python3-sklearn):
  /usr/bin/python3 bench/peers_ranking.py --sizes 1e6,1e7 --reps 3
"""

import argparse
import csv
import os
import statistics
import sys
import time

import numpy as np

SEED = 0x5EED2025  # BENCH_SEED in bench_ranking.c
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
M1 = np.uint64(0xBF58476D1CE4E5B9)
M2 = np.uint64(0x94D049BB133111EB)
POS_CUT = int(0.3 * 16777216.0)  # (uint64_t)(0.3 * 2^24) in C
CHUNK = 1 << 22


def parse_sizes(text):
    out = []
    for part in text.split(","):
        v = float(part)
        if v < 1 or v != int(v):
            raise argparse.ArgumentTypeError(f"bad size {part!r}")
        out.append(int(v))
    return out


def splitmix64(x):
    """clm_rng_splitmix64 on a uint64 array (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = x + GOLDEN
        x = (x ^ (x >> np.uint64(30))) * M1
        x = (x ^ (x >> np.uint64(27))) * M2
    return x ^ (x >> np.uint64(31))


def generate(n, f64=False, ties=0):
    """bench_ranking.c's generate(), chunk by chunk."""
    y = np.empty(n, dtype=np.uint8)
    s = np.empty(n, dtype=np.float64 if f64 else np.float32)
    m26 = np.uint64((1 << 26) - 1)
    sh32 = np.uint64(32)
    for lo in range(0, n, CHUNK):
        hi = min(n, lo + CHUNK)
        c = (np.uint64(SEED) ^ np.arange(lo, hi, dtype=np.uint64)) << np.uint64(2)
        h0 = splitmix64(c)
        h1 = splitmix64(c | np.uint64(1))
        h2 = splitmix64(c | np.uint64(2))
        lab = (h0 & np.uint64(0xFFFFFF)) < np.uint64(POS_CUT)
        u = ((h1 & m26).astype(np.float64) + 0.5) / 67108864.0
        u += (((h1 >> sh32) & m26).astype(np.float64) + 0.5) / 67108864.0
        u += ((h2 & m26).astype(np.float64) + 0.5) / 67108864.0
        u += (((h2 >> sh32) & m26).astype(np.float64) + 0.5) / 67108864.0
        noise = (u - 2.0) * 1.7320508075688772
        x = noise + lab.astype(np.float64)
        if ties:
            q = np.floor((x + 3.5) * (ties / 8.0))
            x = np.clip(q, 0.0, float(ties - 1))
        y[lo:hi] = lab
        s[lo:hi] = x  # float32: round to nearest, as (float)x in C
    return y, s


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().strip()
    except OSError:
        return "unavailable"


def proc_busy():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    hz = os.sysconf("SC_CLK_TCK")
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / hz


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--sizes", type=parse_sizes, default=[10**6, 10**7])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--f64", action="store_true", help="float64 scores")
    ap.add_argument("--ties", type=int, default=0, help="D distinct scores")
    ap.add_argument(
        "--extrapolate",
        type=parse_sizes,
        default=[10**8],
        help="estimate sklearn's time at these N from the largest measured N",
    )
    ap.add_argument(
        "--components",
        action="store_true",
        help="also time roc_auc_score and average_precision_score alone",
    )
    ap.add_argument("--csv", default=None)
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be >= 1")

    t = time.perf_counter()
    import sklearn
    from sklearn.metrics import average_precision_score, roc_auc_score

    t_sk = time.perf_counter() - t

    def both(y, s):
        return roc_auc_score(y, s), average_precision_score(y, s)

    def auc_only(y, s):
        return roc_auc_score(y, s), float("nan")

    def ap_only(y, s):
        return float("nan"), average_precision_score(y, s)

    tools = [("sklearn", both)]
    if args.components:
        tools += [("sklearn-roc_auc", auc_only), ("sklearn-ap", ap_only)]

    dtype = "float64" if args.f64 else "float32"
    print(f"# peers_ranking.py: Python {sys.version.split()[0]} ({sys.executable})")
    print(
        f"# numpy {np.__version__}, scikit-learn {sklearn.__version__} "
        f"(metrics: single thread); import sklearn.metrics {t_sk:.2f} s "
        "(not in the table)"
    )
    print(
        f"# data: bench_ranking's (seed 0x{SEED:x}), {dtype} scores"
        + (f", {args.ties} distinct values" if args.ties else "")
        + "; timed from arrays in memory to the answer"
    )
    print(f"# /proc/loadavg before start: {loadavg()}")
    b0, t0 = proc_busy(), time.perf_counter()
    time.sleep(0.5)
    idle = (proc_busy() - b0) / (time.perf_counter() - t0)
    print(
        f"# CPU busy before start (0.5 s, this process asleep): {idle:.2f} of "
        f"{os.cpu_count()} cores -> "
        + (
            "other work is running: figures are suspect"
            if idle > 0.25
            else "the other cores look free"
        )
    )
    print(f"# median of {args.reps} reps (a first run over 2 s counts as one)")
    print(
        f"{'tool':<16} {'N':>11} {'median_s':>9} {'Msamples/s':>10} "
        f"{'roc_auc':>19} {'average_precision':>19}"
    )
    sys.stdout.flush()

    rows = []
    cpu0, wall0, busy0 = time.process_time(), time.perf_counter(), proc_busy()
    for n in args.sizes:
        t = time.perf_counter()
        y, s = generate(n, args.f64, args.ties)
        gen_s = time.perf_counter() - t
        print(
            f"# N={n}: generated in {gen_s:.2f} s; positives {int(y.sum())}, "
            f"distinct scores {len(np.unique(s))}"
        )
        for name, fn in tools:
            t = time.perf_counter()
            auc, apv = fn(y, s)
            first = time.perf_counter() - t
            times = [first] if first > 2.0 else []
            while len(times) < args.reps:
                t = time.perf_counter()
                auc, apv = fn(y, s)
                times.append(time.perf_counter() - t)
            med = statistics.median(times)
            rows.append(
                {
                    "tool": name,
                    "n": n,
                    "dtype": dtype,
                    "ties": args.ties,
                    "median_s": med,
                    "msamples_per_s": n / med / 1e6,
                    "roc_auc": auc,
                    "average_precision": apv,
                    "estimate": 0,
                }
            )
            print(
                f"{name:<16} {n:>11} {med:>9.4f} {n / med / 1e6:>10.2f} "
                f"{auc:>19.17f} {apv:>19.17f}"
            )
            sys.stdout.flush()
        del y, s

    largest = max(args.sizes)
    for r in [r for r in rows if r["n"] == largest]:
        for m in args.extrapolate:
            if m <= largest:
                continue
            est = r["median_s"] * m / largest
            rows.append(
                {
                    **r,
                    "n": m,
                    "median_s": est,
                    "msamples_per_s": m / est / 1e6,
                    "roc_auc": float("nan"),
                    "average_precision": float("nan"),
                    "estimate": 1,
                }
            )
            print(
                f"{r['tool'] + '(est)':<16} {m:>11} {est:>9.4f} "
                f"{m / est / 1e6:>10.2f} {'extrapolated':>19} "
                f"{'linearly from N=' + str(largest):>19}"
            )

    wall = time.perf_counter() - wall0
    own = time.process_time() - cpu0
    others = max(proc_busy() - busy0 - own, 0.0)
    print(
        f"# during the runs ({wall:.1f} s): this process used {own:.1f} CPU-s; "
        f"other work ~{others:.1f} CPU-s ({others / wall:.2f} cores on average)"
    )
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) + ["reps"])
            w.writeheader()
            for r in rows:
                w.writerow({**r, "reps": args.reps})
    return 0


if __name__ == "__main__":
    sys.exit(main())
