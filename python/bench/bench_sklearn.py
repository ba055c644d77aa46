"""clmetrics against scikit-learn: f1_score, classification_report, log_loss.

Usage: python bench_sklearn.py [N ...]   (default: 1e6 1e7)
Each call is timed end to end from in-memory NumPy arrays (int64 labels as
users hold them, float64 probabilities); best of 3 for clmetrics, one run of
scikit-learn at the largest N (it takes tens of seconds there).
"""

import sys
import time
import warnings

import numpy as np
import sklearn
import sklearn.metrics as sk

import clmetrics as cm


def best(f, repeat):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def main():
    sizes = [int(float(a)) for a in sys.argv[1:]] or [10**6, 10**7]
    warnings.simplefilter("ignore")
    cm.init()
    cm.f1_score([0, 1], [0, 1])  # kernels built, context warm
    print(f"clmetrics {cm.__version__} on {cm.device_info()['name']}, "
          f"scikit-learn {sklearn.__version__}")
    print(f"{'task':<34}{'N':>10}{'clmetrics s':>13}{'sklearn s':>11}{'ratio':>8}")
    rng = np.random.default_rng(0)
    for n in sizes:
        k = 10
        y = rng.integers(0, k, n)
        yp = np.where(rng.random(n) < 0.7, y, rng.integers(0, k, n))
        yb = (y >= 5).astype(np.int64)
        ypb = (yp >= 5).astype(np.int64)
        p = rng.random(n)
        p32 = p.astype(np.float32)
        pk = rng.random((n, 4))
        yk = y % 4
        rep = 1 if n >= 10**7 else 3
        tasks = [
            ("f1_score binary", lambda: cm.f1_score(yb, ypb), lambda: sk.f1_score(yb, ypb)),
            ("f1_score macro K=10", lambda: cm.f1_score(y, yp, average="macro"),
             lambda: sk.f1_score(y, yp, average="macro")),
            ("classification_report K=10", lambda: cm.classification_report(y, yp),
             lambda: sk.classification_report(y, yp)),
            ("log_loss binary float64", lambda: cm.log_loss(yb, p),
             lambda: sk.log_loss(yb, p)),
            ("log_loss binary float32 (device)", lambda: cm.log_loss(yb, p32),
             lambda: sk.log_loss(yb, p32)),
            ("log_loss K=4 float64", lambda: cm.log_loss(yk, pk),
             lambda: sk.log_loss(yk, pk)),
        ]
        for name, fc, fs in tasks:
            tc, a = best(fc, 3)
            ts, b = best(fs, rep)
            same = a == b if isinstance(a, str) else np.allclose(a, b, rtol=1e-6)
            print(f"{name:<34}{n:>10.0e}{tc:>13.4f}{ts:>11.3f}{ts / tc:>7.1f}x"
                  f"{'' if same else '  MISMATCH'}", flush=True)


if __name__ == "__main__":
    main()
