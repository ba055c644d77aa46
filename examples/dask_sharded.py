"""Sharded evaluation with Dask: each task evaluates one shard of
predictions on its worker's OpenCL device and returns its evaluator, which
travels pickled (the library's saved-state bytes: versioned, checksummed);
the driver merges them in shard order and gets the numbers one pass over
all the data gives (counts exactly; float sums within the documented
rounding).

Run: python3 examples/dask_sharded.py [--scheduler threads|synchronous|processes]
"""

from __future__ import annotations

import argparse
import pickle

import dask
import numpy as np

import clmetrics


def make_shard(seed: int, n: int):
    """A synthetic shard: labels and logits (stands in for reading a file)."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = (rng.normal(size=n) + 1.5 * y).astype(np.float32)
    return y, z


@dask.delayed
def evaluate_shard(seed: int, n: int, threshold: float) -> bytes:
    y, z = make_shard(seed, n)
    ev = clmetrics.BinaryEvaluator(threshold=threshold)
    ev.update(y, z)
    # Explicit pickling shows what crosses the wire; Dask would pickle the
    # evaluator itself just the same with the processes/distributed
    # schedulers.
    return pickle.dumps(ev)


def sharded(shards, threshold: float = 0.5, scheduler: str = "threads"):
    """Evaluates (seed, n) shards in Dask tasks and merges the states."""
    parts = dask.compute(*[evaluate_shard(s, n, threshold) for s, n in shards],
                         scheduler=scheduler)
    total = pickle.loads(parts[0])
    for p in parts[1:]:
        total.merge(pickle.loads(p))
    return total


def one_pass(shards, threshold: float = 0.5):
    ys, zs = zip(*(make_shard(s, n) for s, n in shards))
    ev = clmetrics.BinaryEvaluator(threshold=threshold)
    ev.update(np.concatenate(ys), np.concatenate(zs))
    return ev


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--scheduler", default="threads")
    args = ap.parse_args()
    shards = [(seed, 50_000 + 1_000 * seed) for seed in range(8)]
    merged = sharded(shards, scheduler=args.scheduler).compute()
    single = one_pass(shards).compute()
    rows = [("n", merged["n"], single["n"])]
    rows += [(k, merged["confusion"][k], single["confusion"][k])
             for k in ("tp", "fp", "tn", "fn")]
    rows += [(k, merged[k], single[k]) for k in ("accuracy", "f1", "mcc")]
    rows.append(("bce_mean", merged["loss"]["bce_mean"],
                 single["loss"]["bce_mean"]))
    for key, a, b in rows:
        print(f"{key:10s} sharded {a!r:>24}  one pass {b!r}")


if __name__ == "__main__":
    main()
