#!/usr/bin/python3
"""Peers of clmetrics on the same data: scikit-learn, NumPy, PyTorch (CPU)
and the clmetrics CLI end to end.

Generates the benchmarks' kind of data with a fixed seed and writes it as
.npy files into a temporary directory:
  binary:     labels uint8 (30 % positives), logits float32 (+-1.2 + N(0,1));
  multiclass: true labels int32 uniform over K = 10, predictions int32 right
              70 % of the time.
Then times each tool (median of --reps) doing the same job:
  binary      scikit-learn: log_loss on sigmoid probabilities +
                confusion_matrix + precision_recall_fscore_support;
              NumPy: the whole pass in float64 (stable BCE, gradient array,
                counts), gradient saved as float32 .npy like the CLI;
              PyTorch: BCEWithLogitsLoss(reduction='sum') + autograd
                gradient + counts, gradient saved as .npy;
              clmetrics: `clmetrics binary --labels L --scores S --json
                --grad-out G`.
  multiclass  scikit-learn: confusion_matrix + classification_report;
              NumPy: np.bincount of true*K + pred (+ per-class metrics);
              PyTorch: torch.bincount likewise;
              clmetrics: `clmetrics multiclass --labels L --pred P --json`.
Python tools are timed in this process from np.load of the files to the
answer (interpreter start-up and imports are not counted; they are printed
once). The CLI is timed as a whole process (`clmetrics-e2e`), and its
JSON's timing.compute_s is listed too (`clmetrics-compute`).
ratio = tool's median time / clmetrics-e2e median time for the same task
and N (> 1: the clmetrics CLI, start-up included, is faster).

Run with Debian's /usr/bin/python3 (python3-numpy, python3-sklearn,
python3-torch). Example:
  /usr/bin/python3 bench/peers.py --sizes 1e6,1e7 --reps 3 --csv peers.csv
"""

import argparse
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

T_IMPORT0 = time.perf_counter()
import numpy as np  # noqa: E402

T_NUMPY = time.perf_counter() - T_IMPORT0

SEED = 20240611
K = 10


def parse_sizes(text):
    out = []
    for part in text.split(","):
        v = float(part)
        if v < 1 or v != int(v):
            raise argparse.ArgumentTypeError(f"bad size {part!r}")
        out.append(int(v))
    return out


def gen_binary(n, rng):
    y = (rng.random(n, dtype=np.float32) < 0.3).astype(np.uint8)
    z = np.where(y == 1, np.float32(1.2), np.float32(-1.2)).astype(np.float32)
    z += rng.standard_normal(n, dtype=np.float32)
    return y, z


def gen_multiclass(n, rng):
    yt = rng.integers(0, K, n, dtype=np.int32)
    wrong = rng.random(n, dtype=np.float32) >= 0.7
    shift = rng.integers(1, K, n, dtype=np.int32)
    yp = np.where(wrong, (yt + shift) % K, yt).astype(np.int32)
    return yt, yp


# ---------------------------------------------------------------------
# Tools. Each returns a small dict of results used for a cross-check:
# binary: tp, fp, tn, fn; multiclass: the K x K matrix as a list.
# ---------------------------------------------------------------------


def sk_binary(files, out_dir):
    from sklearn.metrics import (
        confusion_matrix,
        log_loss,
        precision_recall_fscore_support,
    )

    y = np.load(files["labels"])
    z = np.load(files["scores"]).astype(np.float64)
    p = 1.0 / (1.0 + np.exp(-z))
    log_loss(y, p, labels=[0, 1])
    pred = (p > 0.5).astype(np.uint8)
    cm = confusion_matrix(y, pred, labels=[0, 1])
    precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    tn, fp, fn, tp = (int(v) for v in cm.ravel())
    return {"tp": tp, "fp": fp, "tn": tn, "fn": fn}


def np_binary(files, out_dir):
    y8 = np.load(files["labels"])
    z = np.load(files["scores"]).astype(np.float64)
    y = y8.astype(np.float64)
    e = np.exp(-np.abs(z))
    m = np.where(y8 == 1, -z, z)
    float(np.sum(np.maximum(m, 0.0) + np.log1p(e)))  # loss sum
    inv = 1.0 / (1.0 + e)
    sigma = np.where(z >= 0.0, inv, e * inv)
    grad = sigma - y
    float(grad.sum())
    np.save(os.path.join(out_dir, "grad_numpy.npy"), grad.astype(np.float32))
    pred = z > 0.0
    pos = y8 == 1
    tp = int(np.count_nonzero(pred & pos))
    npred = int(np.count_nonzero(pred))
    npos = int(np.count_nonzero(pos))
    n = len(y8)
    return {"tp": tp, "fp": npred - tp, "fn": npos - tp, "tn": n - npos - npred + tp}


def torch_binary(files, out_dir):
    import torch

    y8 = torch.from_numpy(np.load(files["labels"]))
    z = torch.from_numpy(np.load(files["scores"])).requires_grad_(True)
    loss = torch.nn.BCEWithLogitsLoss(reduction="sum")(z, y8.float())
    loss.backward()
    grad = z.grad  # sigma(z) - y
    float(grad.sum())
    np.save(os.path.join(out_dir, "grad_torch.npy"), grad.numpy())
    with torch.no_grad():
        pred = z > 0
        pos = y8 == 1
        tp = int((pred & pos).sum())
        npred = int(pred.sum())
        npos = int(pos.sum())
    n = y8.numel()
    return {"tp": tp, "fp": npred - tp, "fn": npos - tp, "tn": n - npos - npred + tp}


def sk_multiclass(files, out_dir):
    from sklearn.metrics import classification_report, confusion_matrix

    yt = np.load(files["labels"])
    yp = np.load(files["pred"])
    cm = confusion_matrix(yt, yp, labels=list(range(K)))
    classification_report(
        yt, yp, labels=list(range(K)), digits=4, zero_division=0
    )
    return {"cm": cm.tolist()}


def _metrics_from_cm(cm):
    cm = cm.astype(np.float64)
    tp = np.diag(cm)
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.nan_to_num(tp / cm.sum(axis=0))
        rec = np.nan_to_num(tp / cm.sum(axis=1))
        np.nan_to_num(2 * prec * rec / (prec + rec))
    return float(tp.sum() / cm.sum())


def np_multiclass(files, out_dir):
    yt = np.load(files["labels"])
    yp = np.load(files["pred"])
    cm = np.bincount(yt.astype(np.int64) * K + yp, minlength=K * K)
    cm = cm.reshape(K, K)
    _metrics_from_cm(cm)
    return {"cm": cm.tolist()}


def torch_multiclass(files, out_dir):
    import torch

    yt = torch.from_numpy(np.load(files["labels"])).long()
    yp = torch.from_numpy(np.load(files["pred"])).long()
    cm = torch.bincount(yt * K + yp, minlength=K * K).reshape(K, K).numpy()
    _metrics_from_cm(cm)
    return {"cm": cm.tolist()}


def cli_run(cli, argv):
    t0 = time.perf_counter()
    proc = subprocess.run([cli] + argv, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(
            f"{cli} {' '.join(argv)} exited {proc.returncode}: {proc.stderr.strip()}"
        )
    return wall, json.loads(proc.stdout)


def cli_binary(cli, files, out_dir):
    wall, j = cli_run(
        cli,
        [
            "binary",
            "--labels",
            files["labels"],
            "--scores",
            files["scores"],
            "--json",
            "--grad-out",
            os.path.join(out_dir, "grad_clm.npy"),
        ],
    )
    c = j["confusion"]
    res = {"tp": c["tp"], "fp": c["fp"], "tn": c["tn"], "fn": c["fn"]}
    return wall, j["timing"]["compute_s"], res


def cli_multiclass(cli, files, out_dir):
    wall, j = cli_run(
        cli,
        [
            "multiclass",
            "--labels",
            files["labels"],
            "--pred",
            files["pred"],
            "--classes",
            str(K),
            "--json",
        ],
    )
    return wall, j["timing"]["compute_s"], {"cm": j["confusion_matrix"]}


# ---------------------------------------------------------------------


def thread_report():
    lines = []
    try:
        import torch

        lines.append(
            f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads"
        )
    except Exception as e:  # pragma: no cover
        lines.append(f"torch unavailable ({e})")
    try:
        from threadpoolctl import threadpool_info

        pools = threadpool_info()
        desc = (
            ", ".join(
                f"{p.get('internal_api')}/{p.get('user_api')} {p.get('num_threads')} threads"
                for p in pools
            )
            or "no native thread pools loaded"
        )
        lines.append(f"numpy {np.__version__} thread pools (threadpoolctl): {desc}")
    except ImportError:
        lines.append(
            f"numpy {np.__version__}: threadpoolctl not importable; "
            "element-wise ops and bincount are single-threaded anyway"
        )
    try:
        import sklearn

        lines.append(f"scikit-learn {sklearn.__version__} (metrics: single thread)")
    except Exception as e:  # pragma: no cover
        lines.append(f"scikit-learn unavailable ({e})")
    return lines


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
    ap.add_argument("--cli", default="build/clmetrics")
    ap.add_argument("--csv", default=None)
    ap.add_argument("--tasks", default="binary,multiclass")
    ap.add_argument(
        "--tools",
        default="sklearn,numpy,torch,clmetrics",
        help="subset of sklearn,numpy,torch,clmetrics",
    )
    ap.add_argument("--tmpdir", default=None, help="where the .npy files go")
    ap.add_argument("--keep", action="store_true", help="keep the .npy files")
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch.set_num_threads(N); 0 (default) keeps torch's own choice",
    )
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be >= 1")
    tasks = [t for t in args.tasks.split(",") if t]
    tools = [t for t in args.tools.split(",") if t]
    cli = os.path.abspath(args.cli)
    if "clmetrics" in tools and not os.access(cli, os.X_OK):
        ap.error(f"clmetrics CLI not found at {cli} (use --cli)")

    t = time.perf_counter()
    import sklearn.metrics  # noqa: F401

    t_sk = time.perf_counter() - t
    t = time.perf_counter()
    import torch

    t_torch = time.perf_counter() - t
    if args.torch_threads > 0:
        torch.set_num_threads(args.torch_threads)

    print(f"# peers.py: Python {sys.version.split()[0]} ({sys.executable})")
    for line in thread_report():
        print(f"# {line}")
    print(
        f"# import times (not in the table): numpy {T_NUMPY:.2f} s, "
        f"sklearn.metrics {t_sk:.2f} s, torch {t_torch:.2f} s"
    )
    print(f"# clmetrics CLI: {cli}")
    print(f"# /proc/loadavg before start: {loadavg()}")
    b0, t0 = proc_busy(), time.perf_counter()
    time.sleep(0.5)
    idle = (proc_busy() - b0) / (time.perf_counter() - t0)
    print(
        f"# CPU busy before start (0.5 s, this process asleep): {idle:.2f} of "
        f"{os.cpu_count()} cores -> "
        + (
            "other work is running: multi-thread figures are suspect"
            if idle > 0.25
            else "the other cores look free"
        )
    )
    print(
        f"# median of {args.reps} reps; Python tools timed from np.load to the "
        "answer; ratio = tool time / clmetrics-e2e time (>1: clmetrics faster)"
    )
    hdr = f"{'tool':<18} {'task':<10} {'N':>11} {'median_s':>10} {'Msamples/s':>11} {'ratio':>8} check"
    print(hdr)
    sys.stdout.flush()

    tmp = tempfile.mkdtemp(prefix="clm-peers-", dir=args.tmpdir)
    rows = []
    cpu0, wall0, busy0 = time.process_time(), time.perf_counter(), proc_busy()
    children0 = os.times()
    failed = False
    try:
        rng = np.random.default_rng(SEED)
        for n in args.sizes:
            for task in tasks:
                files = {}
                if task == "binary":
                    y, z = gen_binary(n, rng)
                    files["labels"] = os.path.join(tmp, f"bin_labels_{n}.npy")
                    files["scores"] = os.path.join(tmp, f"bin_scores_{n}.npy")
                    np.save(files["labels"], y)
                    np.save(files["scores"], z)
                    del y, z
                    py_tools = [
                        ("sklearn", sk_binary),
                        ("numpy-f64", np_binary),
                        ("torch-cpu", torch_binary),
                    ]
                    cli_fn = cli_binary
                elif task == "multiclass":
                    yt, yp = gen_multiclass(n, rng)
                    files["labels"] = os.path.join(tmp, f"mc_labels_{n}.npy")
                    files["pred"] = os.path.join(tmp, f"mc_pred_{n}.npy")
                    np.save(files["labels"], yt)
                    np.save(files["pred"], yp)
                    del yt, yp
                    py_tools = [
                        ("sklearn", sk_multiclass),
                        ("numpy-bincount", np_multiclass),
                        ("torch-cpu", torch_multiclass),
                    ]
                    cli_fn = cli_multiclass
                else:
                    ap.error(f"unknown task {task!r}")
                py_tools = [
                    (name, fn)
                    for name, fn in py_tools
                    if name.split("-")[0] in tools
                ]

                results = {}  # tool -> (median, answer)
                ref = None
                if "clmetrics" in tools:
                    cli_fn(cli, files, tmp)  # warm the page cache and kernels
                    walls, computes = [], []
                    for _ in range(args.reps):
                        w, c, ref = cli_fn(cli, files, tmp)
                        walls.append(w)
                        computes.append(c)
                    results["clmetrics-e2e"] = (statistics.median(walls), ref)
                    results["clmetrics-compute"] = (statistics.median(computes), ref)
                for name, fn in py_tools:
                    # Warm-up; when it takes over 2 s (scikit-learn at large
                    # N), it counts as the first timed repetition instead.
                    t = time.perf_counter()
                    ans = fn(files, tmp)
                    first = time.perf_counter() - t
                    times = [first] if first > 2.0 else []
                    while len(times) < args.reps:
                        t = time.perf_counter()
                        ans = fn(files, tmp)
                        times.append(time.perf_counter() - t)
                    results[name] = (statistics.median(times), ans)

                base = results.get("clmetrics-e2e", (None,))[0]
                for name, (med, ans) in results.items():
                    if name.startswith("clmetrics"):
                        check = "ref"
                    elif ref is None:
                        check = "-"
                    else:
                        check = "ok" if ans == ref else "MISMATCH"
                    failed |= check == "MISMATCH"
                    ratio = med / base if base else float("nan")
                    row = {
                        "tool": name,
                        "task": task,
                        "n": n,
                        "median_s": med,
                        "msamples_per_s": n / med / 1e6,
                        "ratio_tool_over_clm_e2e": ratio,
                        "check": check,
                    }
                    rows.append(row)
                    print(
                        f"{name:<18} {task:<10} {n:>11} {med:>10.5f} "
                        f"{n / med / 1e6:>11.1f} {ratio:>8.2f} {check}"
                    )
                    sys.stdout.flush()
                for path in files.values():
                    if not args.keep:
                        os.unlink(path)
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"# files kept in {tmp}")

    wall = time.perf_counter() - wall0
    ch = os.times()
    own = (time.process_time() - cpu0) + (
        (ch.children_user - children0.children_user)
        + (ch.children_system - children0.children_system)
    )
    others = max(proc_busy() - busy0 - own, 0.0)
    print(
        f"# during the runs ({wall:.1f} s): this process and its children used "
        f"{own:.1f} CPU-s; other work ~{others:.1f} CPU-s "
        f"({others / wall:.2f} cores on average)"
    )
    if args.csv:
        import torch as _t

        extra = {
            "torch_threads": _t.get_num_threads(),
            "cpus": os.cpu_count(),
            "reps": args.reps,
        }
        with open(args.csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0].keys()) + list(extra))
            w.writeheader()
            for r in rows:
                w.writerow({**r, **extra})
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
