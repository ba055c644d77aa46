#!/usr/bin/env python3
"""MPI scaling of the clmetrics CLI: the measurements behind the README's
cost model (issue 15).

For R = 1, 2, 4 ranks (`mpirun -np R`, oversubscribed past the cores) over
the same sharded binary input (float32 logits, uint8 labels), it times the
whole command end to end (launch, read, evaluate, collective exact ranking,
gather of the states, report) with and without the ranking, and without MPI
for reference, and reports:
  * wall seconds (median of --repeat runs) and rows/s;
  * the ranking's passes and the counts each pass reduces (from the JSON);
  * the size of each family's state (the bytes every rank sends to rank 0),
    from --save-state files of small runs.
Results go to stdout as a table; --out FILE also writes them.

Usage: mpi_scaling.py --cli build-mpi/clmetrics [--rows 67108864]
       [--shards 8] [--repeat 3] [--out bench/results/mpi_scaling.txt]
"""
import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def mpirun(ranks):
    cmd = [shutil.which("mpirun") or "mpirun", "--oversubscribe", "-np",
           str(ranks)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def timed(cmd, repeat):
    walls, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True)
        walls.append(time.perf_counter() - t)
        if r.returncode != 0:
            sys.exit(f"{' '.join(cmd)}\n{r.stderr}")
        out = r.stdout
    return statistics.median(walls), json.loads(out)


def make_shards(d, rows, shards):
    rng = np.random.default_rng(15)
    per = rows // shards
    for s in range(shards):
        m = per if s < shards - 1 else rows - per * (shards - 1)
        y = (rng.random(m) < 0.3).astype(np.uint8)
        z = (rng.standard_normal(m, dtype=np.float32) +
             np.float32(1.2) * y).astype(np.float32)
        np.save(os.path.join(d, f"y_{s:03d}.npy"), y)
        np.save(os.path.join(d, f"z_{s:03d}.npy"), z)


def state_sizes(cli, d):
    """Bytes of each family's saved state (what a rank sends to rank 0)."""
    rng = np.random.default_rng(1)
    n = 10000
    out = []
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = rng.standard_normal(n).astype(np.float32)
    np.save(os.path.join(d, "sy.npy"), y)
    np.save(os.path.join(d, "sz.npy"), z)
    cases = [("binary", ["binary", "--labels", "sy.npy", "--scores",
                         "sz.npy"]),
             ("binary --no-ranking",
              ["binary", "--labels", "sy.npy", "--scores", "sz.npy",
               "--no-ranking"])]
    for k in (10, 1000):
        yc = rng.integers(0, k, n).astype(np.int32)
        zc = rng.standard_normal((n, k)).astype(np.float32)
        np.save(os.path.join(d, f"my{k}.npy"), yc)
        np.save(os.path.join(d, f"mz{k}.npy"), zc)
        cases.append((f"multiclass K={k}",
                      ["multiclass", "--labels", f"my{k}.npy", "--scores",
                       f"mz{k}.npy"]))
        cases.append((f"multiclass K={k} --no-ranking",
                      ["multiclass", "--labels", f"my{k}.npy", "--scores",
                       f"mz{k}.npy", "--no-ranking"]))
    for L in (10, 1000):
        yl = (rng.random((n // 10, L)) < 0.2).astype(np.uint8)
        zl = rng.standard_normal((n // 10, L)).astype(np.float32)
        np.save(os.path.join(d, f"ly{L}.npy"), yl)
        np.save(os.path.join(d, f"lz{L}.npy"), zl)
        cases.append((f"multilabel L={L} --no-ranking",
                      ["multilabel", "--labels", f"ly{L}.npy", "--scores",
                       f"lz{L}.npy", "--no-ranking"]))
    for name, args in cases:
        p = os.path.join(d, "s.state")
        r = subprocess.run([cli] + args + ["--save-state", p], cwd=d,
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(r.stderr)
        out.append((name, os.path.getsize(p)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--rows", type=int, default=1 << 26)
    ap.add_argument("--shards", type=int, default=8)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out")
    a = ap.parse_args()
    cli = os.path.abspath(a.cli)
    lines = []

    def say(s=""):
        print(s, flush=True)
        lines.append(s)

    with tempfile.TemporaryDirectory() as d:
        make_shards(d, a.rows, a.shards)
        ins = ["--labels", os.path.join(d, "y_*.npy"), "--scores",
               os.path.join(d, "z_*.npy"), "--json"]
        gb = a.rows * 5 / 1e9
        say(f"# clmetrics MPI scaling, {time.strftime('%Y-%m-%d')}, "
            f"{platform.node()}, {os.cpu_count()} CPUs")
        say(f"# binary, {a.rows} rows (float32 logits + uint8 labels, "
            f"{gb:.2f} GB) in {a.shards} shards, page cache warm; "
            f"median of {a.repeat}; end to end (launch, read, evaluate, "
            f"ranking, gather, report)")
        say("| run | ranking | wall s | M rows/s | ranking passes | "
            "ranking peak memory |")
        say("|---|---|---|---|---|---|")
        for ranks in (0, 1, 2, 4):
            for rank_on in (True, False):
                cmd = ([cli] if ranks == 0 else mpirun(ranks) + [cli])
                cmd = cmd + ["binary"] + ins + ([] if rank_on else
                                                 ["--no-ranking"])
                wall, js = timed(cmd, a.repeat)
                t = js.get("timing", {})
                passes = t.get("ranking_passes", "-") if rank_on else "-"
                mem = t.get("ranking_memory_bytes")
                cells = f"{mem / 2**20:.0f} MiB" if rank_on and mem else "-"
                name = "no MPI" if ranks == 0 else f"mpirun -np {ranks}"
                say(f"| {name} | {'exact' if rank_on else 'off'} | "
                    f"{wall:.2f} | {a.rows / wall / 1e6:.0f} | {passes} | "
                    f"{cells} |")
        say()
        say("# state bytes: under MPI each rank sends its state without a "
            "ranking (the --no-ranking rows) to rank 0 once; --save-state "
            "adds the streaming ranking (1 MiB per class)")
        say("| family | bytes |")
        say("|---|---|")
        for name, size in state_sizes(cli, d):
            say(f"| {name} | {size} |")
    if a.out:
        with open(a.out, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
