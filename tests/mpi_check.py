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
  * weighted metrics (with --no-ranking) agree within the float-sum bound,
    and weighted ranking under MPI is a usage error;
  * --save-state under MPI writes the merged state once (rank 0), and
    `clmetrics merge` of it reports what the MPI run reported (ROC-AUC/AP
    as intervals containing the exact values); --html writes one page.
Usage: mpi_check.py --cli CLMETRICS --mpirun MPIRUN
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


def tile_rows(cli):
    """The work-group tile of the device the CLI uses (its default), from
    the library beside it: the float sums' documented bounds grow with it."""
    import ctypes

    lib = ctypes.CDLL(os.path.join(os.path.dirname(os.path.abspath(cli)),
                                   "libclmetrics.so"))

    class Shape(ctypes.Structure):
        _fields_ = [("local_size", ctypes.c_size_t),
                    ("max_local_size", ctypes.c_size_t),
                    ("confusion_local_size", ctypes.c_size_t),
                    ("vector_width", ctypes.c_uint),
                    ("items", ctypes.c_uint), ("strided", ctypes.c_int)]

    ctx = ctypes.c_void_p()
    err = ctypes.create_string_buffer(4096)
    if lib.clm_context_create(None, ctypes.byref(ctx), err) != 0:
        raise SystemExit("no OpenCL context for the tile size")
    sh = Shape()
    lib.clm_context_launch_shape(ctx, ctypes.byref(sh))
    lib.clm_context_free(ctx)
    return max(sh.local_size * sh.items * sh.vector_width, sh.local_size * 4)


# Float sums regrouped by the split into ranks (tests/test_cli_state.c
# derives the bound): float32 per-group partials, each run within
# (T + 2K + 16) 2^-24 of the sum of magnitudes, so two runs within twice
# that, ratios of two sums within 4 (T + 2K + 16) 2^-24 relative (losses,
# also each label's BCE, calibration); gradients
# and calibration gaps absolute (terms at most 1). Per-row double sums of
# the multilabel samples averages and label ranking: 2 n 2^-53 relative.
FLOAT_SUMS = ("/loss", "/gradient", "/calibration")
ABSOLUTE = ("/gradient", "/ece", "/rmsce", "/mce", "/classwise_ece",
            "/frequency", "/confidence", "/gap")
ROW_SUMS = ("/samples", "/coverage_error", "/label_ranking")


def tolerance(path, tol):
    """(bound, relative) of a value, or None where it must be equal."""
    if tol.get("weighted") and "roc_auc" not in path and \
            "average_precision" not in path:
        return tol["float"], True  # every weighted count is a float sum
    if (any(path.startswith(p) for p in FLOAT_SUMS) or "/bce" in path or
            "/cross_entropy" in path):
        return tol["float"], not any(p in path for p in ABSOLUTE)
    if any(p in path for p in ROW_SUMS):
        return tol["rows"], True
    return None


def compare(a, b, tol, path=""):
    """Differences between two reports (timing and device left out).
    ROC-AUC and AP must be equal: the collective ranking is exact."""
    out = []
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k in ("timing", "device"):
                continue
            if k not in a or k not in b:
                out.append(f"{path}/{k}: only in one report")
                continue
            out += compare(a[k], b[k], tol, f"{path}/{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{path}: lengths {len(a)} vs {len(b)}"]
        for i, (x, y) in enumerate(zip(a, b)):
            out += compare(x, y, tol, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        t = tolerance(path, tol)
        if a is None or b is None or t is None:
            if a != b:
                out.append(f"{path}: {a!r} vs {b!r} (must be equal)")
        else:
            bound = t[0] * (max(abs(a), abs(b)) if t[1] else 1.0)
            if abs(a - b) > bound:
                out.append(f"{path}: {a!r} vs {b!r} (bound {bound:.3g})")
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


def mpi_extras(a, d, files, T, failures):
    """Weights, --save-state and --html under mpirun -np 2."""
    flags, whole, shards = files["binary"]
    globs = [p.replace("part0", "part*") for p in (x[0] for x in shards)]
    rng = np.random.default_rng(7)
    for s, path in enumerate(shards[0]):
        n = np.load(path).shape[0]
        np.save(os.path.join(d, f"w_part{s}.npy"),
                rng.random(n).astype(np.float32))
    wglob = ["--weights", os.path.join(d, "w_part*.npy")]
    base = args_for(flags, globs) + wglob
    one = run([a.cli, "binary", "--json", "--no-ranking"] + base)
    two = run(mpirun_cmd(a.mpirun, 2) +
              [a.cli, "binary", "--json", "--no-ranking"] + base)
    if one.returncode or two.returncode:
        failures.append(f"weighted: {one.stderr} {two.stderr[-2000:]}")
    else:
        want = json.loads(one.stdout)
        tol = {"float": 4.0 * (T + 18.0) * 2.0 ** -24, "rows": 0,
               "weighted": True}
        diff = compare(json.loads(two.stdout), want, tol)
        if diff:
            failures.append("weighted -np 2: " + "; ".join(diff[:5]))
    r = run(mpirun_cmd(a.mpirun, 2) + [a.cli, "binary", "--json"] + base)
    if r.returncode != 2 or "--no-ranking" not in r.stderr:
        failures.append(f"weighted ranking under MPI: rc {r.returncode}, "
                        f"{r.stderr[-2000:]}")
    # --save-state and --html: written once, by rank 0, from the merge.
    out = os.path.join(d, "out")
    os.mkdir(out)
    state, page = os.path.join(out, "m.state"), os.path.join(out, "m.html")
    r = run(mpirun_cmd(a.mpirun, 2) +
            [a.cli, "binary", "--json", "--save-state", state, "--html",
             page] + args_for(flags, globs))
    if r.returncode != 0:
        failures.append(f"--save-state under MPI: {r.stderr[-2000:]}")
        return
    left = sorted(os.listdir(out))
    if left != ["m.html", "m.state"]:
        failures.append(f"--save-state/--html under MPI left {left}")
    m = run([a.cli, "merge", state, "--json"])
    if m.returncode != 0:
        failures.append(f"merge of the MPI state: {m.stderr}")
        return
    got, mpi = json.loads(m.stdout), json.loads(r.stdout)
    for key in ("roc_auc", "average_precision"):
        lo, hi = got[key + "_interval"]
        if not lo <= mpi[key] <= hi:
            failures.append(f"merged MPI state: {key} {mpi[key]} outside "
                            f"[{lo}, {hi}]")
    strip = ("roc_auc", "average_precision", "roc_auc_interval",
             "average_precision_interval", "ranking_exact")
    for k in strip:
        got.pop(k, None)
        mpi.pop(k, None)
    diff = compare(got, mpi, {"float": 0.0, "rows": 0.0})
    if diff:
        failures.append("merge of the MPI state: " + "; ".join(diff[:5]))
    with open(page, encoding="utf-8") as f:
        html = f.read()
    if "<svg" not in html or "ROC" not in html:
        failures.append("--html under MPI: no figures in the page")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cli", required=True)
    ap.add_argument("--mpirun")
    a = ap.parse_args()
    failures = []
    # Without mpirun the shards are one array: the same sums, no bound
    # needed (and no library loaded into Python, which a sanitizer build
    # could not do).
    T = tile_rows(a.cli) if a.mpirun else 0
    with tempfile.TemporaryDirectory() as d:
        files = make_data(d)
        for cmd, (flags, whole, shards) in files.items():
            ref = run([a.cli, cmd, "--json"] + args_for(flags, whole))
            if ref.returncode != 0:
                failures.append(f"{cmd}: one process failed: {ref.stderr}")
                continue
            want = json.loads(ref.stdout)
            k = want.get("classes", want.get("labels", 1))
            k = k if isinstance(k, int) else len(k)
            tol = {"float": 4.0 * (T + 2.0 * k + 16.0) * 2.0 ** -24,
                   "rows": 2.0 * want["n"] * 2.0 ** -53}
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
                diff = compare(json.loads(r.stdout), want, tol)
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
                    if r.returncode != 0:
                        failures.append(
                            f"{cmd} -np {ranks} {name}: {r.stderr[-2000:]}")
                        continue
                    diff = compare(json.loads(r.stdout), want, tol)
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
            mpi_extras(a, d, files, T, failures)
            # The version line says MPI is in.
            r = run([a.cli, "--version"])
            if "MPI: yes" not in r.stdout:
                failures.append(f"--version: {r.stdout}")
    for f in failures:
        print("FAIL:", f)
    if failures:
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
