#!/usr/bin/python3
"""Multilabel peers of clmetrics: scikit-learn and PyTorch on N x L matrices.

Writes labels (uint8, label l positive with a rate between 1 % and 19 %,
as bench_multilabel) and logits (float32, +-1.2 + N(0, 1)) as .npy files,
then times, median of --reps, from np.load to the answer:
  sklearn-samples  precision_recall_fscore_support(average='samples')
  sklearn-micro    precision_recall_fscore_support(average='micro')
  sklearn-hamming  hamming_loss
  sklearn-lrap     label_ranking_average_precision_score (on the logits)
  sklearn-all      the four above on one load (what clmetrics' one pass
                   replaces), predictions z > 0 (sigma(z) > 0.5)
  torch-bce        BCEWithLogitsLoss(reduction='mean') on the matrix
  clmetrics-e2e    `clmetrics multilabel --labels L --scores S --json
                   --no-ranking` (label ranking on, per-label ROC-AUC off),
                   the whole process; clmetrics-compute: its JSON's
                   timing.compute_s
Every answer is checked against the CLI's JSON (samples / micro P, R, F1
and Hamming loss within 1e-9 relative; LRAP within 1e-6, as clmetrics adds
a row's LRAP terms in float32; BCE mean within 1e-5).

scikit-learn is slow (label_ranking_average_precision_score loops over rows
in Python), so the default shapes hold 1e6 cells; the table's
`s_per_1e8_cells` column extrapolates each tool's per-cell rate to 1e8
cells (EXTRAPOLATED, not measured: only clmetrics and bench_multilabel
measure 1e8 and 1e9 cells).

  /usr/bin/python3 bench/peers_multilabel.py --cli build-bench/clmetrics
  /usr/bin/python3 bench/peers_multilabel.py --shapes 1e5x100 --tools torch,clmetrics
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from peers import cli_run, loadavg, proc_busy, thread_report  # noqa: E402

SEED = 20250611
CHECK_RTOL = 1e-9
LRAP_RTOL = 1e-6  # clmetrics sums a row's LRAP terms in float32
BCE_RTOL = 1e-5


def parse_shapes(text):
    out = []
    for part in text.split(","):
        n, _, l = part.lower().partition("x")
        n, l = float(n), float(l)
        if n < 1 or l < 1 or n != int(n) or l != int(l):
            raise argparse.ArgumentTypeError(f"bad shape {part!r}")
        out.append((int(n), int(l)))
    return out


def gen(n, L, rng):
    rate = 0.01 + 0.18 * np.mod(np.arange(L) * 0.6180339887498949, 1.0)
    y = (rng.random((n, L), dtype=np.float32) < rate.astype(np.float32)).astype(
        np.uint8
    )
    z = np.where(y == 1, np.float32(1.2), np.float32(-1.2)).astype(np.float32)
    z += rng.standard_normal((n, L), dtype=np.float32)
    return y, z


# Tools: each returns a dict of the values it computed.


def _load(files):
    return np.load(files["labels"]), np.load(files["scores"])


def sk_samples(files):
    from sklearn.metrics import precision_recall_fscore_support

    y, z = _load(files)
    p, r, f, _ = precision_recall_fscore_support(
        y, (z > 0).astype(np.uint8), average="samples", zero_division=0
    )
    return {"samples.precision": p, "samples.recall": r, "samples.f1": f}


def sk_micro(files):
    from sklearn.metrics import precision_recall_fscore_support

    y, z = _load(files)
    p, r, f, _ = precision_recall_fscore_support(
        y, (z > 0).astype(np.uint8), average="micro", zero_division=0
    )
    return {"micro.precision": p, "micro.recall": r, "micro.f1": f}


def sk_hamming(files):
    from sklearn.metrics import hamming_loss

    y, z = _load(files)
    return {"hamming_loss": hamming_loss(y, (z > 0).astype(np.uint8))}


def sk_lrap(files):
    from sklearn.metrics import label_ranking_average_precision_score

    y, z = _load(files)
    return {
        "label_ranking_average_precision": label_ranking_average_precision_score(
            y, z
        )
    }


def sk_all(files):
    from sklearn.metrics import (
        hamming_loss,
        label_ranking_average_precision_score,
        precision_recall_fscore_support,
    )

    y, z = _load(files)
    pred = (z > 0).astype(np.uint8)
    out = {}
    for avg in ("samples", "micro"):
        p, r, f, _ = precision_recall_fscore_support(
            y, pred, average=avg, zero_division=0
        )
        out.update({f"{avg}.precision": p, f"{avg}.recall": r, f"{avg}.f1": f})
    out["hamming_loss"] = hamming_loss(y, pred)
    out["label_ranking_average_precision"] = label_ranking_average_precision_score(
        y, z
    )
    return out


def torch_bce(files):
    import torch

    y, z = _load(files)
    loss = torch.nn.BCEWithLogitsLoss(reduction="mean")(
        torch.from_numpy(z), torch.from_numpy(y).float()
    )
    return {"loss.bce_mean": float(loss)}


TOOLS = [
    ("sklearn-samples", sk_samples),
    ("sklearn-micro", sk_micro),
    ("sklearn-hamming", sk_hamming),
    ("sklearn-lrap", sk_lrap),
    ("sklearn-all", sk_all),
    ("torch-bce", torch_bce),
]


def cli_multilabel(cli, files):
    wall, j = cli_run(
        cli,
        [
            "multilabel",
            "--labels",
            files["labels"],
            "--scores",
            files["scores"],
            "--json",
            "--no-ranking",
        ],
    )
    flat = {}
    for key in ("samples", "micro"):
        for m in ("precision", "recall", "f1"):
            flat[f"{key}.{m}"] = j[key][m]
    flat["hamming_loss"] = j["hamming_loss"]
    flat["label_ranking_average_precision"] = j["label_ranking_average_precision"]
    flat["loss.bce_mean"] = j["loss"]["bce_mean"]
    return wall, j["timing"]["compute_s"], flat


def check(ans, ref):
    """'ok', or the first value that differs from the CLI's."""
    for k, v in ans.items():
        tol = (
            BCE_RTOL
            if k.startswith("loss.")
            else LRAP_RTOL if k.startswith("label_ranking") else CHECK_RTOL
        )
        r = ref[k]
        if not abs(v - r) <= tol * max(abs(r), 1e-300):
            return f"MISMATCH({k}: {v!r} vs {r!r})"
    return "ok"


def main():
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--shapes", type=parse_shapes, default=[(10**4, 100), (10**3, 1000)]
    )
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cli", default="build/clmetrics")
    ap.add_argument(
        "--tools",
        default="sklearn,torch,clmetrics",
        help="subset of sklearn,torch,clmetrics",
    )
    ap.add_argument("--tmpdir", default=None)
    ap.add_argument(
        "--torch-threads",
        type=int,
        default=0,
        help="torch.set_num_threads(N); 0 keeps torch's own choice",
    )
    args = ap.parse_args()
    if args.reps < 1:
        ap.error("--reps must be >= 1")
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

    print(f"# peers_multilabel.py: Python {sys.version.split()[0]}")
    for line in thread_report():
        print(f"# {line}")
    print(
        f"# import times (not in the table): sklearn.metrics {t_sk:.2f} s, "
        f"torch {t_torch:.2f} s"
    )
    print(f"# clmetrics CLI: {cli}")
    print(f"# /proc/loadavg before start: {loadavg()}")
    print(
        f"# median of {args.reps} reps, timed from np.load to the answer; "
        "Mcells/s measured at these shapes; s_per_1e8_cells = 1e8 / "
        "(cells/s), EXTRAPOLATED; ratio = tool time / clmetrics-e2e time"
    )
    print(
        f"{'tool':<18} {'N':>9} {'L':>6} {'median_s':>10} {'Mcells/s':>10} "
        f"{'s_per_1e8_cells':>16} {'ratio':>8} check"
    )
    sys.stdout.flush()

    tmp = tempfile.mkdtemp(prefix="clm-peers-ml-", dir=args.tmpdir)
    wall0, busy0 = time.perf_counter(), proc_busy()
    cpu0, ch0 = time.process_time(), os.times()
    failed = False
    try:
        rng = np.random.default_rng(SEED)
        for n, L in args.shapes:
            y, z = gen(n, L, rng)
            files = {
                "labels": os.path.join(tmp, f"ml_labels_{n}x{L}.npy"),
                "scores": os.path.join(tmp, f"ml_scores_{n}x{L}.npy"),
            }
            np.save(files["labels"], y)
            np.save(files["scores"], z)
            del y, z
            cells = n * L
            results = {}
            ref = None
            if "clmetrics" in tools:
                cli_multilabel(cli, files)  # page cache, kernel cache
                walls, computes = [], []
                for _ in range(args.reps):
                    w, c, ref = cli_multilabel(cli, files)
                    walls.append(w)
                    computes.append(c)
                results["clmetrics-e2e"] = (statistics.median(walls), ref)
                results["clmetrics-compute"] = (statistics.median(computes), ref)
            for name, fn in TOOLS:
                if name.split("-")[0] not in tools:
                    continue
                t = time.perf_counter()
                ans = fn(files)
                first = time.perf_counter() - t
                times = [first] if first > 2.0 else []
                while len(times) < args.reps:
                    t = time.perf_counter()
                    ans = fn(files)
                    times.append(time.perf_counter() - t)
                results[name] = (statistics.median(times), ans)
            base = results.get("clmetrics-e2e", (None,))[0]
            for name, (med, ans) in results.items():
                if name.startswith("clmetrics"):
                    chk = "ref"
                elif ref is None:
                    chk = "-"
                else:
                    chk = check(ans, ref)
                failed |= chk.startswith("MISMATCH")
                ratio = med / base if base else float("nan")
                rate = cells / med
                print(
                    f"{name:<18} {n:>9} {L:>6} {med:>10.5f} {rate / 1e6:>10.2f} "
                    f"{1e8 / rate:>16.2f} {ratio:>8.2f} {chk}"
                )
                sys.stdout.flush()
            for p in files.values():
                os.unlink(p)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    wall = time.perf_counter() - wall0
    ch = os.times()
    own = (time.process_time() - cpu0) + (
        (ch.children_user - ch0.children_user)
        + (ch.children_system - ch0.children_system)
    )
    others = max(proc_busy() - busy0 - own, 0.0)
    print(
        f"# during the runs ({wall:.1f} s): this process and its children used "
        f"{own:.1f} CPU-s; other work ~{others:.1f} CPU-s "
        f"({others / wall:.2f} cores on average)"
    )
    return 3 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
