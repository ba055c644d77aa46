#!/usr/bin/env python3
"""Sharded inputs and MPI runs of the clmetrics CLI against one process.

Makes binary (logits), multi-class and multilabel inputs, splits them into
shards, and checks that
  * one process over the shards (a glob and an @list) prints the JSON of
    one process over the concatenated files;
  * `mpirun -np R` (R = 1, 2, 4; oversubscribed, --allow-run-as-root as
    root) over the shards, over one big file split by rows, and with
    --split-rows prints the same JSON: counts exactly, ROC-AUC and average
    precision exactly, double sums within 1e-9 relative (their order of
    addition depends on R);
  * a bad shard on rank 2 of 4 ends the job within the timeout with one
    message naming rank 2 and the file, exit status 1;
  * a pair of shard lists that do not match is refused.
Exit 77 (skipped) for the MPI comparisons when this build cannot merge rank
states yet. Usage: mpi_check.py --cli CLMETRICS --mpirun MPIRUN
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

TIMEOUT = 120
SKIP = 77


def mpirun_cmd(mpirun, ranks):
    cmd = [mpirun, "--oversubscribe", "-np", str(ranks)]
    if os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    return cmd


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True,
                          timeout=TIMEOUT, **kw)


def compare(a, b, path=""):
    """Differences between two reports (timing and device left out)."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in ("timing", "device"):
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in one report")
                continue
            out += compare(a[k], b[k], f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} vs {len(b)}"]
        for i, (x, y) in enumerate(zip(a, b)):
            out += compare(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        exact = "roc_auc" in path or "average_precision" in path
        if a is None or b is None:
            if a != b:
                out.append(f"{path}: {a} vs {b}")
        elif exact and a != b:
            out.append(f"{path}: {a!r} vs {b!r} (must be equal)")
        elif not exact and abs(a - b) > 1e-9 * max(abs(a), abs(b)) + 1e-300:
            out.append(f"{path}: {a!r} vs {b!r}")
    elif a != b:
        out.append(f"{path}: {a!r} vs {b!r}")
    return out


def make_data(d):
    rng = np.random.default_rng(2026)
    n = 60013
    sets = {}
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = (rng.normal(size=n) + 1.2 * y).astype(np.float32)
    z[::7] = np.round(z[::7] * 16) / 16  # ties
    sets["binary"] = (["--labels", "--scores"], [y, z], [])
    k = 4
    yc = rng.integers(0, k, n).astype(np.int64)
    zc = (rng.normal(size=(n, k)) + 1.5 * np.eye(k)[yc]).astype(np.float32)
    sets["multiclass"] = (["--labels", "--scores"], [yc, zc], [])
    L = 3
    yl = (rng.random((n, L)) < 0.25).astype(np.uint8)
    zl = (rng.normal(size=(n, L)) + 1.3 * yl).astype(np.float32)
    sets["multilabel"] = (["--labels", "--scores"], [yl, zl], [])
    # Five uneven shards.
    cuts = [0, 9000, 21000, 33000, 47000, n]
    files = {}
    for cmd, (flags, arrays, _) in sets.items():
        whole, shards = [], []
        for j, a in enumerate(arrays):
            p = os.path.join(d, f"{cmd}_{j}.npy")
            np.save(p, a)
            whole.append(p)
            names = []
            for s in range(5):
                q = os.path.join(d, f"{cmd}_{j}_part{s}.npy")
                np.save(q, a[cuts[s]:cuts[s + 1]])
                names.append(q)
            shards.append(names)
        files[cmd] = (flags, whole, shards)
    return files


def args_for(flags, paths):
    out = []
    for f, p in zip(flags, paths):
        out += [f, p]
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--mpirun")
    a = ap.parse_args()
    failures = []
    skipped = False
    with tempfile.TemporaryDirectory() as d:
        files = make_data(d)
        for cmd, (flags, whole, shards) in files.items():
            ref = run([a.cli, cmd, "--json"] + args_for(flags, whole))
            if ref.returncode != 0:
                failures.append(f"{cmd}: one process failed: {ref.stderr}")
                continue
            want = json.loads(ref.stdout)
            globs = [p.replace("part0", "part*") for p in
                     (s[0] for s in shards)]
            lists = []
            for j, names in enumerate(shards):
                lp = os.path.join(d, f"{cmd}_{j}.list")
                with open(lp, "w") as f:
                    f.write("# shards\n" + "\n".join(names) + "\n")
                lists.append("@" + lp)
            runs = [("glob", [], globs), ("list", [], lists)]
            for name, pre, paths in runs:
                r = run([a.cli, cmd, "--json"] + args_for(flags, paths))
                if r.returncode != 0:
                    failures.append(f"{cmd} {name}: {r.stderr}")
                    continue
                diff = compare(json.loads(r.stdout), want)
                if diff:
                    failures.append(f"{cmd} {name}: " + "; ".join(diff[:5]))
            if not a.mpirun:
                continue
            for ranks in (1, 2, 4):
                cases = [("shards", [], globs), ("one file", [], whole),
                         ("--split-rows", ["--split-rows"], globs)]
                for name, extra, paths in cases:
                    r = run(mpirun_cmd(a.mpirun, ranks) +
                            [a.cli, cmd, "--json"] + extra +
                            args_for(flags, paths))
                    if "cannot merge the ranks' results yet" in r.stderr:
                        skipped = True
                        continue
                    if r.returncode != 0:
                        failures.append(
                            f"{cmd} -np {ranks} {name}: {r.stderr[-2000:]}")
                        continue
                    diff = compare(json.loads(r.stdout), want)
                    if diff:
                        failures.append(f"{cmd} -np {ranks} {name}: " +
                                        "; ".join(diff[:5]))
        # Shard lists that do not pair up.
        flags, whole, shards = files["binary"]
        lp = os.path.join(d, "four.list")
        with open(lp, "w") as f:
            f.write("\n".join(shards[1][:4]) + "\n")
        r = run([a.cli, "binary", "--labels", shards[0][0].replace(
            "part0", "part*"), "--scores", "@" + lp])
        if r.returncode != 1 or "names 4 files but" not in r.stderr:
            failures.append(f"mismatched shard lists: rc {r.returncode}, "
                            f"{r.stderr}")
        if a.mpirun:
            # A bad shard on rank 2 of 4 (four equal shards: one a rank).
            y = np.load(whole[0])
            z = np.load(whole[1])
            ys, zs = np.array_split(y, 4), np.array_split(z, 4)
            for s in range(4):
                yy = ys[s].copy()
                if s == 2:
                    yy[17] = 3
                np.save(os.path.join(d, f"bad_y_{s}.npy"), yy)
                np.save(os.path.join(d, f"bad_z_{s}.npy"), zs[s])
            try:
                r = run(mpirun_cmd(a.mpirun, 4) +
                        [a.cli, "binary", "--labels",
                         os.path.join(d, "bad_y_*.npy"), "--scores",
                         os.path.join(d, "bad_z_*.npy")])
                ours = [l for l in r.stderr.splitlines()
                        if l.startswith("clmetrics:")]
                if (r.returncode == 0 or len(ours) != 1 or
                        "rank 2 of 4" not in ours[0] or
                        "bad_y_2.npy: index 17" not in ours[0]):
                    failures.append(f"bad shard: rc {r.returncode}, "
                                    f"{r.stderr}")
            except subprocess.TimeoutExpired:
                failures.append(f"bad shard: the job hung ({TIMEOUT} s)")
            # The version line says MPI is in.
            r = run([a.cli, "--version"])
            if "MPI: yes" not in r.stdout:
                failures.append(f"--version: {r.stdout}")
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    if skipped:
        print("SKIP: the MPI comparisons need merged rank states")
        return SKIP
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
