#!/usr/bin/python3
"""Cross-check `clmetrics multilabel --json` against scikit-learn and PyTorch.

Usage: /usr/bin/python3 tests/crosscheck_multilabel.py --cli build/clmetrics

Writes random and extreme N x L inputs (fixed seed) to a temporary
directory, runs the CLI with --json (and --grad-out where there are scores)
and compares every reported value with the references:

* Decision: a cell is predicted positive iff sigma(z) > t strictly, i.e.
  z > log(t / (1 - t)) in float64 on the scores as stored (probabilities:
  p > t). Random scores keep away from the thresholds (checked); a few
  cases put scores exactly on a threshold on purpose.
* Counts and metrics from the decisions: scikit-learn's
  multilabel_confusion_matrix, precision_recall_fscore_support (average
  None/micro/macro/weighted/samples), jaccard_score (None/samples/macro/
  micro), accuracy_score (subset accuracy) and hamming_loss, with
  sample_weight where given (the CLI reads weights as float32, so the
  references use the weights rounded to float32). Unweighted: counts
  exactly, metrics to 1e-9 relative. Weighted: the device sums cell
  weights in float32 partials added in double, so weighted counts and
  everything derived from them agree to 1e-6 relative.
* zero_division nan: scikit-learn 1.2 takes only 0 and 1. An entry is
  undefined (0/0) exactly where its zero_division=0 and =1 values differ;
  the reference is the zero_division=0 value with NaN there, averages
  skipping NaN entries (scikit-learn >= 1.3's _nanaverage). Samples
  averages use the per-row values, obtained as scikit-learn's per-label
  values of the transposed matrices.
* L = 1: scikit-learn takes an N x 1 matrix for binary, so its multilabel
  functions get an all-zero dummy column added (no tp/fp/fn: per-label,
  micro, weighted and samples values do not change), the macro value is
  the single label's, coverage error and ranking loss (rejected for binary
  targets) come from their definitions in NumPy.
* Label ranking (coverage_error, label_ranking_average_precision_score,
  label_ranking_loss) and roc_auc_score(average="samples") on the scores the
  device ranks: float32 (a float64 file is rounded to float32 first), +-inf
  replaced by +-1e30 (scikit-learn rejects inf; same order and ties). LRAP
  agrees to 1e-6 relative only: the device adds each row's precisions in
  float32 (Kahan) before the double sum over rows; the other label-ranking
  values are exact integer counts per row, 1e-9 relative.
* Micro ROC-AUC / average precision: roc_auc_score / average_precision_score
  (average="micro", sample_weight) of the stored scores in float64, 1e-9
  relative. Undefined (one class among all cells; no positive cell for AP,
  where scikit-learn 1.2 returns 0 with a warning) is null.
* Loss: PyTorch's BCEWithLogitsLoss (mean over the N x L matrix; weighted:
  sum of w_r l / (L sum w_r)) in float64 on the float32 scores, and for
  probabilities torch.nn.functional.binary_cross_entropy of p clipped to
  [eps, 1 - eps], eps = float32 epsilon (DESIGN.md numerics), plus a NumPy
  softplus reference that is exact at +-inf (where PyTorch gives NaN). The
  device evaluates each cell in float32: relative tolerance 1e-6.
* --grad-out: w_r (sigma(z) - y) (p - y for probabilities) from float64 on
  the float32 scores and PyTorch's autograd, 1e-6 absolute times max(1, w).

Prints each mismatch (case, key, got, expected) and a final line
"N passed, M failed"; exits 1 on any mismatch. Exits 0 with a note when
NumPy or scikit-learn is not importable.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crosscheck as cc  # noqa: E402  (skips itself without NumPy/sklearn)

import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    average_precision_score,
    coverage_error,
    hamming_loss,
    jaccard_score,
    label_ranking_average_precision_score,
    label_ranking_loss,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

torch = cc.torch

EPS32 = 2.0 ** -23
REL_TOL = 1e-9  # metrics from exact counts, exact per-row ratios
W_REL_TOL = 1e-6  # anything derived from weighted (float32-summed) counts
LRAP_REL_TOL = 1e-6  # per-row LRAP summed in float32 on the device
BCE_REL_TOL = 1e-6  # float32 per-cell loss on the device
GRAD_TOL = 1e-6  # absolute, times max(1, w)
RANK_REL_TOL = 1e-9  # micro ROC-AUC / AP (exact ranking)
THRESHOLD_GAP = 1e-5  # random scores stay this far from thresholds
INF_STANDIN = 1e30  # +-inf for scikit-learn's ranking metrics
PER_ROW_SKLEARN_MAX = 100000  # rows; beyond, per-row values from NumPy


def f32(a):
    return np.asarray(a).astype(np.float32).astype(np.float64)


def pad2(a):
    """scikit-learn's multilabel functions need >= 2 columns: an all-zero
    column leaves per-column, micro and per-row values unchanged."""
    if a.shape[1] >= 2:
        return a
    return np.hstack([a, np.zeros((a.shape[0], 1), dtype=a.dtype)])


def nanaverage(v, weights=None):
    v = np.asarray(v, dtype=np.float64)
    keep = ~np.isnan(v)
    if weights is None:
        weights = np.ones_like(v)
    weights = np.asarray(weights, dtype=np.float64)
    ws = weights[keep].sum()
    if not keep.any() or not ws > 0:
        return math.nan
    return float((v[keep] * weights[keep]).sum() / ws)


def logit_threshold(t):
    if t <= 0.0:
        return -math.inf
    if t >= 1.0:
        return math.inf
    return math.log(t / (1.0 - t))


def softplus(x):
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def finite_standin(s):
    """+-inf -> +-INF_STANDIN for scikit-learn's ranking metrics."""
    s = np.array(s, dtype=np.float64)
    assert np.all(np.abs(s[np.isfinite(s)]) < INF_STANDIN / 10)
    s[s == np.inf] = INF_STANDIN
    s[s == -np.inf] = -INF_STANDIN
    return s


# ---------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------


def parse_json(text):
    """The report; a duplicate key (none is expected) is kept as key -> list
    of values under "__duplicates__", and the check fails on it."""
    def hook(pairs):
        d, dup = {}, {}
        for k, v in pairs:
            if k in d:
                dup.setdefault(k, [d[k]]).append(v)
            d[k] = v
        if dup:
            d["__duplicates__"] = dup
        return d
    return json.loads(text, object_pairs_hook=hook)


def run_cli(cli, args):
    proc = subprocess.run([cli] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


# ---------------------------------------------------------------------------
# One case
# ---------------------------------------------------------------------------


class Case:
    """Inputs of one run: y (saved as given: dtype and 1-D/2-D), scores s or
    predictions pred, kind, threshold / thresholds, weights w, zd."""

    def __init__(self, name, y, s=None, pred=None, kind="logits",
                 threshold=None, thresholds=None, w=None, zd=None,
                 label_ranking=True, at_threshold=False, grad=True,
                 big=False):
        self.__dict__.update(locals())
        del self.__dict__["self"]


def sk_prf(Y, P, average, w, skz):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, _ = precision_recall_fscore_support(
            pad2(Y), pad2(P), average=average, sample_weight=w,
            zero_division=skz)
    if average is None:
        L = Y.shape[1]
        return p[:L], r[:L], f[:L]
    return float(p), float(r), float(f)


def sk_jac(Y, P, average, w, skz):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        j = jaccard_score(pad2(Y), pad2(P), average=average, sample_weight=w,
                          zero_division=skz)
    if average is None:
        return j[:Y.shape[1]]
    return float(j)


def per_row(Y, P, skz):
    """Per-row precision, recall, F1, Jaccard: per-label values of the
    transposed matrices."""
    n = Y.shape[0]
    p, r, f = sk_prf(Y.T.copy(), P.T.copy(), None, None, skz)
    j = sk_jac(Y.T.copy(), P.T.copy(), None, None, skz)
    return p[:n], r[:n], f[:n], j[:n]


def per_row_np(Y, P, skz):
    """per_row from the row counts (scikit-learn's per-label path is slow on
    a million columns); checked against per_row on a prefix."""
    tp = (Y & P).sum(axis=1).astype(np.float64)
    fp = ((1 - Y) & P).sum(axis=1).astype(np.float64)
    fn = (Y & (1 - P)).sum(axis=1).astype(np.float64)

    def ratio(a, b):
        return np.where(b > 0, a / np.where(b > 0, b, 1), float(skz))
    return (ratio(tp, tp + fp), ratio(tp, tp + fn),
            ratio(2 * tp, 2 * tp + fp + fn), ratio(tp, tp + fp + fn))


def metric_reference(Y, P, w, zd):
    """Every count and metric of the decisions, from scikit-learn."""
    n, L = Y.shape
    ref = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mcm = multilabel_confusion_matrix(pad2(Y), pad2(P),
                                          sample_weight=w)[:L]
    ref["mcm"] = mcm
    W = np.ones(n) if w is None else w

    per = {}
    for skz in (0, 1):
        p, r, f = sk_prf(Y, P, None, w, skz)
        per[skz] = {"precision": p, "recall": r, "f1": f,
                    "jaccard": sk_jac(Y, P, None, w, skz)}
    keys4 = ("precision", "recall", "f1", "jaccard")
    if n > PER_ROW_SKLEARN_MAX:
        rows = {skz: dict(zip(keys4, per_row_np(Y, P, skz)))
                for skz in (0, 1)}
        k = 5000
        ref["prefix_rows"] = [
            (f"{key} zd {skz}", rows[skz][key][:k], sk)
            for skz in (0, 1)
            for key, sk in zip(keys4, per_row(Y[:k], P[:k], skz))]
    else:
        rows = {skz: dict(zip(keys4, per_row(Y, P, skz))) for skz in (0, 1)}
    skz = 1 if zd == "1" else 0
    support = mcm[:, 1, 0] + mcm[:, 1, 1]
    ref["undefined"] = {}
    for key in ("precision", "recall", "f1", "jaccard"):
        a, b = per[0][key], per[1][key]
        undef = a != b
        ref["undefined"][key] = [int(c) for c in np.nonzero(undef)[0]]
        vals = np.where(undef, math.nan, a) if zd == "nan" else per[skz][key]
        ref["per_" + key] = vals
    # Samples: rows of zero weight do not count (their weight is 0).
    srows_undef = []
    for key in ("precision", "recall", "f1", "jaccard"):
        a, b = rows[0][key], rows[1][key]
        undef = (a != b) & (W > 0)
        if undef.any():
            srows_undef.append(key)
        if zd == "nan":
            vals = np.where(a != b, math.nan, a)
            ref["samples_" + key] = nanaverage(vals, W)
        else:
            vals = rows[skz][key]
            ref["samples_" + key] = (float(np.average(vals, weights=W))
                                     if W.sum() > 0 else math.nan)
    ref["undefined"]["samples"] = srows_undef
    # Averages straight from scikit-learn where it takes the policy.
    if zd != "nan":
        for avg in ("micro", "macro", "weighted"):
            p, r, f = sk_prf(Y, P, avg, w, skz)
            ref[avg] = {"precision": p, "recall": r, "f1": f}
        if L >= 2:
            p, r, f = sk_prf(Y, P, "samples", w, skz)
            ref["samples_sk"] = {"precision": p, "recall": r, "f1": f,
                                 "jaccard": sk_jac(Y, P, "samples", w, skz)}
        for avg in ("micro", "macro"):
            ref["jaccard_" + avg] = sk_jac(Y, P, avg, w, skz)
        if L == 1:  # the dummy column would enter the macro mean
            for key in ("precision", "recall", "f1"):
                ref["macro"][key] = float(per[skz][key][0])
            ref["jaccard_macro"] = float(per[skz]["jaccard"][0])
    else:
        ref["micro"] = {}
        for key, (a, b) in zip(("precision", "recall", "f1"),
                               zip(sk_prf(Y, P, "micro", w, 0),
                                   sk_prf(Y, P, "micro", w, 1))):
            ref["micro"][key] = math.nan if a != b else a
        a, b = sk_jac(Y, P, "micro", w, 0), sk_jac(Y, P, "micro", w, 1)
        ref["jaccard_micro"] = math.nan if a != b else a
        ref["macro"] = {k: nanaverage(ref["per_" + k])
                        for k in ("precision", "recall", "f1")}
        ref["jaccard_macro"] = nanaverage(ref["per_jaccard"])
        if support.sum() > 0:
            ref["weighted"] = {k: nanaverage(ref["per_" + k], support)
                               for k in ("precision", "recall", "f1")}
        else:  # scikit-learn's special values: differ iff undefined
            a = sk_prf(Y, P, "weighted", w, 0)
            b = sk_prf(Y, P, "weighted", w, 1)
            ref["weighted"] = {k: (math.nan if x != y else x) for k, x, y in
                               zip(("precision", "recall", "f1"), a, b)}
    ref["subset_accuracy"] = float(accuracy_score(Y, P, sample_weight=w))
    ref["hamming_loss"] = float(hamming_loss(Y, P, sample_weight=w)) \
        if L >= 2 else float(hamming_loss(Y[:, 0], P[:, 0], sample_weight=w))
    return ref


def coverage_np(Y, S, W):
    cov = np.zeros(len(Y))
    for i in range(len(Y)):
        t = Y[i] == 1
        if t.any():
            cov[i] = np.count_nonzero(S[i] >= S[i][t].min())
    return float(np.average(cov, weights=W))


def label_ranking_np(Y, S):
    """Per-row coverage, LRAP, ranking loss and ROC-AUC from their
    definitions, vectorized over rows (for inputs too large for
    scikit-learn's per-row Python loops): for each true label j, the labels
    scoring >= s_j, the true ones among them, the false ones tied with it."""
    n, L = Y.shape
    t = Y.sum(axis=1)
    cov = np.zeros(n)
    lrap_sum = np.zeros(n)
    bad = np.zeros(n)
    tie = np.zeros(n)
    for j in range(L):
        on = Y[:, j] == 1
        ge = S >= S[:, j:j + 1]
        rank = ge.sum(axis=1)
        rank_true = (ge & (Y == 1)).sum(axis=1)
        cov = np.where(on, np.maximum(cov, rank), cov)
        lrap_sum += np.where(on, rank_true / rank, 0.0)
        bad += np.where(on, rank - rank_true, 0)
        tie += np.where(on, ((S == S[:, j:j + 1]) & (Y == 0)).sum(axis=1), 0)
    mid = (t > 0) & (t < L)
    tm = np.where(mid, t, 1)
    pairs = np.where(mid, t * (L - t), 1)
    lrap = np.where(mid, lrap_sum / tm, 1.0)
    loss = np.where(mid, bad / pairs, 0.0)
    auc = np.where(mid, (pairs - bad + 0.5 * tie) / pairs, math.nan)
    return cov, lrap, loss, auc, mid


def ranking_reference(Y, S_dev, S_stored, w, ref, big=False):
    """Label ranking on the device's float32 scores, micro AUC/AP on the
    stored ones (+-inf stood in for)."""
    n, L = Y.shape
    W = np.ones(n) if w is None else w
    S = finite_standin(S_dev)
    if big:
        cov, lrap, loss, auc, mid = label_ranking_np(Y, S)
        ref["coverage_error"] = ref["coverage_np"] = float(
            np.average(cov, weights=W))
        ref["lrap"] = float(np.average(lrap, weights=W))
        ref["label_ranking_loss"] = float(np.average(loss, weights=W))
        ref["roc_auc_samples"] = (
            math.nan if (~mid & (W > 0)).any() else
            float(np.average(np.nan_to_num(auc), weights=W)))
        # The vectorized definitions against scikit-learn on a prefix.
        k = min(n, 3000)
        head = {}
        ranking_reference(Y[:k], S_dev[:k], S_stored[:k],
                          None if w is None else w[:k], head)
        cov, lrap, loss, auc, mid = label_ranking_np(Y[:k], S[:k])
        Wk = W[:k]
        ref["prefix"] = [
            ("coverage_error", float(np.average(cov, weights=Wk)),
             head["coverage_error"]),
            ("lrap", float(np.average(lrap, weights=Wk)), head["lrap"]),
            ("label_ranking_loss", float(np.average(loss, weights=Wk)),
             head["label_ranking_loss"])]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if big:
            pass
        elif L >= 2:
            ref["coverage_error"] = float(coverage_error(Y, S,
                                                         sample_weight=w))
            ref["label_ranking_loss"] = float(label_ranking_loss(
                Y, S, sample_weight=w))
        else:
            ref["label_ranking_loss"] = 0.0
        if not big:
            # Definition check (and the L = 1 value) of the coverage.
            ref["coverage_np"] = coverage_np(Y, S, W)
            if L == 1:
                ref["coverage_error"] = ref["coverage_np"]
            ref["lrap"] = float(label_ranking_average_precision_score(
                Y, S, sample_weight=w))
            # Samples ROC-AUC: null when a row of positive weight has one
            # class (a zero-weight row is left out, as the CLI does).
            t = Y.sum(axis=1)
            one_class = ((t == 0) | (t == L)) & (W > 0)
            if one_class.any():
                ref["roc_auc_samples"] = math.nan
            else:
                keep = W > 0
                ref["roc_auc_samples"] = float(roc_auc_score(
                    Y[keep], S[keep], average="samples",
                    sample_weight=W[keep]))
        M = finite_standin(S_stored)
        yv, sv = Y.ravel(), M.ravel()
        wv = np.repeat(W, L)
        pos_w, neg_w = float(wv[yv == 1].sum()), float(wv[yv == 0].sum())
        if pos_w > 0 and neg_w > 0:
            ref["roc_auc_micro"] = float(
                roc_auc_score(Y, M, average="micro", sample_weight=w)
                if L >= 2 else roc_auc_score(yv, sv, sample_weight=wv))
        else:
            ref["roc_auc_micro"] = math.nan
        if pos_w > 0:
            ref["ap_micro"] = float(
                average_precision_score(Y, M, average="micro",
                                        sample_weight=w)
                if L >= 2 else average_precision_score(yv, sv,
                                                       sample_weight=wv))
        else:
            ref["ap_micro"] = math.nan
        # Per label: scikit-learn's binary metrics column by column (NaN
        # where undefined, as the CLI reports null); macro and weighted
        # over the defined labels, weighted by positive weight.
        auc, ap, supp = [], [], []
        for k in range(L):
            yk, sk = Y[:, k], M[:, k]
            pw = float(W[yk == 1].sum())
            nw = float(W[yk == 0].sum())
            auc.append(float(roc_auc_score(yk, sk, sample_weight=w))
                       if pw > 0 and nw > 0 else math.nan)
            ap.append(float(average_precision_score(yk, sk, sample_weight=w))
                      if pw > 0 else math.nan)
            supp.append(pw)
        ref["auc_labels"], ref["ap_labels"] = auc, ap
        for key, vals in (("auc", auc), ("ap", ap)):
            v = np.array(vals)
            ok = ~np.isnan(v)
            ref[key + "_macro"] = float(v[ok].mean()) if ok.any() else math.nan
            sw = np.array(supp)[ok]
            ref[key + "_weighted"] = (float((v[ok] * sw).sum() / sw.sum())
                                      if ok.any() and sw.sum() > 0
                                      else math.nan)
    return ref


def loss_reference(Y, S32, kind, w):
    """Per-cell BCE and gradient in float64 on the float32 scores."""
    yf = Y.astype(np.float64)
    if kind == "logits":
        bce = np.where(Y == 1, softplus(-S32), softplus(S32))
        g = sigmoid(S32) - yf
    else:
        q = np.clip(S32, EPS32, 1.0 - EPS32)
        bce = np.where(Y == 1, -np.log(q), -np.log1p(-q))
        g = S32 - yf
    W = np.ones(len(Y)) if w is None else w
    with np.errstate(invalid="ignore"):
        wb = np.where(W[:, None] == 0, 0.0, W[:, None] * bce)
    return wb, W[:, None] * g


def check_case(chk, cli, tmp, c):
    name = c.name
    d = os.path.join(tmp, name)
    os.makedirs(d)
    lp = os.path.join(d, "labels.npy")
    np.save(lp, c.y)
    Y = (np.asarray(c.y).reshape(len(c.y), -1) == 1).astype(np.int64)
    n, L = Y.shape
    args = ["multilabel", "--labels", lp, "--json"]
    gp = None
    if c.pred is not None:
        pp = os.path.join(d, "pred.npy")
        np.save(pp, c.pred)
        args += ["--pred", pp]
    else:
        sp = os.path.join(d, "scores.npy")
        np.save(sp, c.s)
        args += ["--scores", sp]
        if c.grad:
            gp = os.path.join(d, "grad.npy")
            args += ["--grad-out", gp]
        if c.kind == "probs":
            args += ["--scores-kind", "probs"]
    if c.threshold is not None:
        args += ["--threshold", repr(float(c.threshold))]
    if c.thresholds is not None:
        tp_ = os.path.join(d, "thresholds.npy")
        np.save(tp_, c.thresholds)
        args += ["--thresholds", tp_]
    w = None
    if c.w is not None:
        wp = os.path.join(d, "weights.npy")
        np.save(wp, c.w)
        args += ["--weights", wp]
        w = f32(c.w)
    if c.zd is not None:
        args += ["--zero-division", c.zd]
    if not c.label_ranking:
        args += ["--no-label-ranking"]

    rc, out, err = run_cli(cli, args)
    if not chk.exact(name, "exit status", rc, 0):
        print(f"  command: {' '.join([cli] + args)}\n  stderr: {err.strip()}")
        return
    try:
        js = parse_json(out)
    except ValueError as exc:
        chk.exact(name, "stdout is JSON", f"{exc}: {out!r}", "one object")
        return

    # Decisions.
    thr = np.full(L, 0.5 if c.threshold is None else float(c.threshold))
    if c.thresholds is not None:
        thr = np.asarray(c.thresholds, dtype=np.float64).reshape(L)
        if np.asarray(c.thresholds).dtype != np.float64:
            thr = f32(thr)
    if c.pred is not None:
        P = (np.asarray(c.pred).reshape(n, L) != 0).astype(np.int64)
        S_stored = S32 = None
    else:
        S_stored = np.asarray(c.s, dtype=np.float64).reshape(n, L)
        S32 = f32(c.s).reshape(n, L)
        if c.kind == "logits":
            lt = np.array([logit_threshold(t) for t in thr])
            P = (S_stored > lt).astype(np.int64)
            with np.errstate(invalid="ignore"):
                gap = np.abs(S_stored - lt)
        else:
            P = (S_stored > thr).astype(np.int64)
            gap = np.abs(S_stored - thr)
        gap = gap[np.isfinite(gap)]  # inf at a threshold of 0 or 1
        if not c.at_threshold and gap.size and gap.min() < THRESHOLD_GAP:
            chk.exact(name, "test data: a score near a threshold",
                      float(gap.min()), f">= {THRESHOLD_GAP}")

    # Header.
    chk.exact(name, "task", js.get("task"), "multilabel")
    chk.exact(name, "n", js.get("n"), n)
    chk.exact(name, "labels", js.get("labels"), L)
    chk.exact(name, "cells", js.get("cells"), n * L)
    chk.exact(name, "duplicate keys", js.get("__duplicates__"), None)
    chk.exact(name, "sample_weighted", js.get("sample_weighted"),
              w is not None)
    W = np.ones(n) if w is None else w
    chk.close(name, "weight_sum", js.get("weight_sum"), float(W.sum()),
              W_REL_TOL * W.sum())
    chk.exact(name, "zero_division", js.get("zero_division"),
              c.zd if c.zd is not None else "0")
    if c.pred is None:
        chk.exact(name, "scores_kind", js.get("scores_kind"), c.kind)
        if c.thresholds is not None:
            chk.array(name, "thresholds", js.get("thresholds"), thr, 0.0)
        else:
            chk.exact(name, "threshold", js.get("threshold"), thr[0])

    ref = metric_reference(Y, P, w, c.zd)
    for key, mine, sk in ref.get("prefix_rows", []):
        chk.array(name, f"NumPy per-row {key} vs scikit-learn (prefix)", mine,
                  sk, 0.0)
    weighted = w is not None
    tol = W_REL_TOL if weighted else REL_TOL

    def close(key, got, want, rel=tol):
        want = float(want)
        if math.isnan(want):
            return chk.exact(name, key, got, None)
        return chk.close(name, key, got, want, rel * abs(want))

    def arr(key, got, want, rel=tol):
        got = [math.nan if v is None else v for v in got]
        want = np.asarray(want, dtype=np.float64)
        return chk.array(name, key, got, want, rel * np.abs(
            np.where(np.isnan(want), 0, want)))

    # Per label.
    pl = js.get("per_label", [])
    if not chk.exact(name, "per_label entries", len(pl), L):
        return
    mcm = ref["mcm"]
    chk.exact(name, "per_label label", [e["label"] for e in pl],
              list(range(L)))
    for key, cell in (("tn", (0, 0)), ("fp", (0, 1)), ("fn", (1, 0)),
                      ("tp", (1, 1))):
        want = mcm[:, cell[0], cell[1]]
        if weighted:
            arr(f"per_label {key} (weight)", [e[key] for e in pl], want)
            cnt = multilabel_confusion_matrix(pad2(Y), pad2(P))[:L]
            chk.array(name, f"per_label counts.{key}",
                      [e["counts"][key] for e in pl],
                      cnt[:, cell[0], cell[1]], 0.0)
        else:
            chk.array(name, f"per_label {key}", [e[key] for e in pl], want,
                      0.0)
    arr("per_label support", [e["support"] for e in pl],
        mcm[:, 1, 0] + mcm[:, 1, 1])
    for key in ("precision", "recall", "f1", "jaccard"):
        arr(f"per_label {key}", [e[key] for e in pl], ref["per_" + key])
    # Left out beyond 1000 labels without --full.
    if chk.exact(name, "multilabel_confusion_matrix present",
                 "multilabel_confusion_matrix" in js, L <= 1000) and L <= 1000:
        arr("multilabel_confusion_matrix",
            np.asarray(js["multilabel_confusion_matrix"],
                       dtype=np.float64).ravel(), mcm.ravel())

    # Averages.
    for avg in ("micro", "macro", "weighted"):
        for key in ("precision", "recall", "f1"):
            close(f"{avg}.{key}", js.get(avg, {}).get(key), ref[avg][key])
    for key in ("precision", "recall", "f1"):
        close(f"samples.{key}", js["samples"].get(key),
              ref["samples_" + key])
        if "samples_sk" in ref:
            close(f"samples.{key} (sklearn average='samples')",
                  js["samples"].get(key), ref["samples_sk"][key])
    jac = js.get("jaccard", {})
    close("jaccard.samples", jac.get("samples"), ref["samples_jaccard"])
    if "samples_sk" in ref:
        close("jaccard.samples (sklearn average='samples')",
              jac.get("samples"), ref["samples_sk"]["jaccard"])
    close("jaccard.macro", jac.get("macro"), ref["jaccard_macro"])
    close("jaccard.micro", jac.get("micro"), ref["jaccard_micro"])
    close("subset_accuracy", js.get("subset_accuracy"),
          ref["subset_accuracy"])
    close("hamming_loss", js.get("hamming_loss"), ref["hamming_loss"])
    und = js.get("undefined", {})
    for key in ("precision", "recall", "f1", "jaccard", "samples"):
        chk.exact(name, f"undefined.{key}", und.get(key),
                  ref["undefined"][key])

    if c.pred is not None:
        for key in ("loss", "coverage_error", "roc_auc", "average_precision",
                    "label_ranking_average_precision"):
            chk.exact(name, f"'{key}' absent with --pred", key in js, False)
        return

    # Ranking.
    if c.label_ranking:
        ranking_reference(Y, S32, S_stored, w, ref, c.big)
        for key, mine, sk in ref.get("prefix", []):
            chk.close(name, f"NumPy {key} vs scikit-learn (prefix)", mine, sk,
                      1e-12 * abs(sk))
        close("coverage_error", js.get("coverage_error"),
              ref["coverage_error"])
        close("coverage_error (NumPy definition)", js.get("coverage_error"),
              ref["coverage_np"])
        close("label_ranking_average_precision",
              js.get("label_ranking_average_precision"), ref["lrap"],
              max(tol, LRAP_REL_TOL))
        close("label_ranking_loss", js.get("label_ranking_loss"),
              ref["label_ranking_loss"])
        close("roc_auc.samples", js.get("roc_auc", {}).get("samples"),
              ref["roc_auc_samples"])
    else:
        for key in ("coverage_error", "label_ranking_average_precision",
                    "label_ranking_loss"):
            chk.exact(name, f"'{key}' absent (--no-label-ranking)",
                      key in js, False)
        ranking_reference(Y, S32, S_stored, w, ref, c.big)
    close("roc_auc.micro", js.get("roc_auc", {}).get("micro"),
          ref["roc_auc_micro"], RANK_REL_TOL)
    close("average_precision.micro",
          js.get("average_precision", {}).get("micro"), ref["ap_micro"],
          RANK_REL_TOL)
    arr("per_label roc_auc", [e.get("roc_auc") for e in pl],
        ref["auc_labels"], RANK_REL_TOL)
    arr("per_label average_precision",
        [e.get("average_precision") for e in pl], ref["ap_labels"],
        RANK_REL_TOL)
    for avg in ("macro", "weighted"):
        close("roc_auc." + avg, js.get("roc_auc", {}).get(avg),
              ref["auc_" + avg], RANK_REL_TOL)
        close("average_precision." + avg,
              js.get("average_precision", {}).get(avg), ref["ap_" + avg],
              RANK_REL_TOL)

    # Loss and gradient.
    wb, g = loss_reference(Y, S32, c.kind, w)
    denom = L * W.sum()
    bce_mean = math.fsum(wb.ravel()) / denom
    close("loss.bce_mean", js.get("loss", {}).get("bce_mean"), bce_mean,
          BCE_REL_TOL)
    per_bce = [math.fsum(wb[:, k]) / W.sum() for k in range(L)]
    arr("per_label bce_mean", [e.get("bce_mean") for e in pl], per_bce,
        BCE_REL_TOL)
    if gp is None:
        return
    got_g = np.load(gp)
    shape = (n,) if np.asarray(c.y).ndim == 1 else (n, L)
    chk.exact(name, "grad-out dtype/shape", (str(got_g.dtype), got_g.shape),
              ("float32", shape))
    got_g = got_g.reshape(n, L)
    gtol = GRAD_TOL * np.maximum(1.0, W)[:, None] * np.ones((1, L))
    chk.array(name, "grad-out", got_g, g, gtol)
    if torch is None or not np.all(np.isfinite(S32)) or c.big:
        return  # BCEWithLogitsLoss is NaN at +-inf logits
    zt = torch.tensor(S32, dtype=torch.float64, requires_grad=True)
    yt = torch.tensor(Y.astype(np.float64))
    wt = torch.tensor(W, dtype=torch.float64)[:, None].expand(n, L)
    if c.kind == "logits":
        lsum = torch.nn.BCEWithLogitsLoss(weight=wt, reduction="sum")(zt, yt)
        if w is None:
            lmean = torch.nn.BCEWithLogitsLoss()(zt.detach(), yt)
            close("torch BCEWithLogitsLoss (mean)",
                  js.get("loss", {}).get("bce_mean"), float(lmean),
                  BCE_REL_TOL)
    else:
        q = torch.clamp(zt, EPS32, 1.0 - EPS32)
        lsum = torch.nn.functional.binary_cross_entropy(q, yt, weight=wt,
                                                        reduction="sum")
    close("torch BCE sum(w l) / (L sum w)",
          js.get("loss", {}).get("bce_mean"), float(lsum) / denom,
          BCE_REL_TOL)
    if c.kind == "logits":  # the clamp cuts the probabilities' gradient
        lsum.backward()
        chk.array(name, "grad-out vs torch autograd", got_g,
                  zt.grad.numpy(), gtol)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def random_labels(rng, n, L, lo=0.05, hi=0.6):
    rate = rng.uniform(lo, hi, L)
    return (rng.random((n, L)) < rate).astype(np.int64)


def random_logits(rng, Y):
    return (rng.normal(size=Y.shape) * 2 + (Y * 2.0 - 1)).astype(np.float32)


def away_from(rng, s, lt, gap):
    """Moves scores within `gap` of their label's threshold `lt` away."""
    s = np.array(s)
    with np.errstate(invalid="ignore"):  # inf - inf
        near = np.abs(s.astype(np.float64) - lt) < gap
    s[near] = (np.broadcast_to(lt, s.shape)[near] + 4 * gap).astype(s.dtype)
    return s


LABEL_DTYPES = [np.uint8, np.int64, np.bool_, np.float32, np.float64,
                np.int32, np.int8]


def label_dtype(Y, k):
    return Y.astype(LABEL_DTYPES[k % len(LABEL_DTYPES)])


def build_cases(rng):
    cases = []
    sizes = [(17, 1), (17, 7), (17, 8), (17, 9), (17, 33), (17, 300),
             (1, 9), (15, 9), (16, 9), (1000, 9), (5000, 9), (1, 1),
             (16, 8), (15, 7), (1000, 33), (5000, 300), (5000, 1), (1, 300)]
    for k, (n, L) in enumerate(sizes):
        Y = random_labels(rng, n, L)
        z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
        cases.append(Case(f"rand_n{n}_L{L}", label_dtype(Y, k), z))

    # Rows with no true and no predicted labels, rows with every label.
    n, L = 40, 9
    Y = random_labels(rng, n, L)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    Y[:5] = 0
    z[:5] = -3.0 - rng.random((5, L)).astype(np.float32)
    Y[5:8] = 1
    z[8:10] = -4.0  # predicted nothing, some true
    Y[10:12] = 0  # true nothing, some predicted
    z[10:12] = np.abs(z[10:12]) + 0.5
    for zd in (None, "0", "1", "nan"):
        cases.append(Case(f"empty_rows_zd{zd}", Y.copy(), z.copy(), zd=zd))
    wz = rng.uniform(0, 2, n).astype(np.float32)
    wz[::4] = 0.0
    for zd in ("0", "1", "nan"):
        cases.append(Case(f"empty_rows_weighted_zd{zd}", Y.copy(), z.copy(),
                          w=wz, zd=zd))

    # Labels without support, labels never predicted, both.
    n, L = 200, 33
    Y = random_labels(rng, n, L)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    Y[:, [0, 5, 32]] = 0  # no support
    z[:, [5, 6, 32]] = -5.0  # never predicted (5, 32: neither)
    z[:, 0] = np.abs(z[:, 0]) + 1  # no support, always predicted
    for zd in ("0", "1", "nan"):
        cases.append(Case(f"no_support_zd{zd}", Y.astype(np.int64), z,
                          zd=zd))
        cases.append(Case(f"no_support_weighted_zd{zd}", Y.astype(np.uint8),
                          z, w=rng.uniform(0, 3, n), zd=zd))

    # No label has any support: weighted F1 special values (sklearn 1.2.1:
    # all zero_division when nothing is predicted, else P = F = 0, R = zd).
    n, L = 30, 7
    Y0 = np.zeros((n, L), dtype=np.int64)
    zneg = (-2 - rng.random((n, L))).astype(np.float32)
    zmix = random_logits(rng, Y0)
    zmix = away_from(rng, zmix, 0.0, THRESHOLD_GAP)
    zmix[0, 0] = 1.0
    for zd in ("0", "1", "nan"):
        cases.append(Case(f"no_support_at_all_nothing_predicted_zd{zd}",
                          Y0, zneg, zd=zd))
        cases.append(Case(f"no_support_at_all_some_predicted_zd{zd}", Y0,
                          zmix, zd=zd))
    # Every cell true.
    cases.append(Case("all_true", np.ones((n, L), np.uint8), zmix, zd="nan"))

    # Ties: scores rounded to halves (many ties in rows and across cells).
    n, L = 600, 9
    Y = random_labels(rng, n, L)
    Y[:, 0], Y[:, 1] = 1, 0  # every row has both: samples ROC-AUC defined
    z = np.round(random_logits(rng, Y) * 2) / 2 + 0.25  # never at 0
    cases.append(Case("ties_halves", Y, z.astype(np.float32)))
    zc = np.round(random_logits(rng, Y)).astype(np.float32) + 0.5
    zc[::3, :] = 2.5  # whole rows tied
    cases.append(Case("ties_rows", Y, zc, w=rng.uniform(0, 2, n)))
    cases.append(Case("ties_rows_zero_weights", Y, zc,
                      w=np.where(np.arange(n) % 5 == 0, 0.0, 1.5)))
    n, L = 50, 300
    Y = random_labels(rng, n, L, 0.01, 0.2)
    z = (np.round(random_logits(rng, Y)) + 0.5).astype(np.float32)
    cases.append(Case("ties_L300", Y, z))

    # +-inf logits: consistent with the labels (finite loss), then some
    # wrong (loss +inf).
    n, L = 300, 9
    Y = random_labels(rng, n, L)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    m = rng.random((n, L)) < 0.2
    z[m & (Y == 1)] = np.inf
    z[m & (Y == 0)] = -np.inf
    z[:3, :] = np.where(Y[:3, :] == 1, np.inf, -np.inf)  # rows of only inf
    z[3, :] = np.inf  # tied infinities
    Y[3, :2] = 0
    cases.append(Case("inf_logits", Y, z))
    cases.append(Case("inf_logits_weighted", Y, z,
                      w=rng.uniform(0, 2, n).astype(np.float32)))
    zw = z.copy()
    zw[10, 0] = np.inf if Y[10, 0] == 0 else -np.inf
    cases.append(Case("inf_logits_wrong", Y, zw))
    wzero = rng.uniform(0.5, 2, n)
    wzero[10] = 0.0  # the row with the infinite loss counts for nothing
    cases.append(Case("inf_logits_wrong_zero_weight", Y, zw, w=wzero))
    zx = z.copy()
    zx[20, :] = [100.0, -100.0, 0.5, -0.5, 17.0, -17.0, 88.0, -88.0, 30.0]
    cases.append(Case("extreme_logits", Y, zx))

    # Per-label thresholds (float64 file) incl. 0 and 1; float32 file.
    n, L = 400, 9
    Y = random_labels(rng, n, L)
    t = rng.uniform(0.05, 0.95, L)
    t[2], t[5] = 0.0, 1.0
    z = random_logits(rng, Y)
    lt = np.array([logit_threshold(v) for v in t])
    z = away_from(rng, z, lt[None, :], THRESHOLD_GAP)
    z[0, 2] = -np.inf  # not > 0 at t = 0
    cases.append(Case("thresholds_f64", Y, z, thresholds=t))
    cases.append(Case("thresholds_f64_weighted", Y, z, thresholds=t,
                      w=rng.uniform(0, 2, n), zd="1"))
    t32 = t.astype(np.float32)
    lt32 = np.array([logit_threshold(float(v)) for v in t32])
    z32 = away_from(rng, z, lt32[None, :], THRESHOLD_GAP)
    z32[0, 2] = -np.inf
    cases.append(Case("thresholds_f32", Y, z32, thresholds=t32))
    cases.append(Case("threshold_scalar", Y,
                      away_from(rng, z, logit_threshold(0.3), THRESHOLD_GAP),
                      threshold=0.3))

    # Probabilities: exact 0 and 1 (clipped in the loss), values exactly at
    # the threshold on purpose (not positive), per-label thresholds.
    n, L = 500, 8
    Y = random_labels(rng, n, L)
    p = rng.random((n, L)).astype(np.float32)
    p = away_from(rng, p, 0.5, THRESHOLD_GAP)
    p[:3, :] = 0.0
    p[3:6, :] = 1.0
    p[6, :] = 0.5  # exactly at t: negative
    cases.append(Case("probs", Y, p, kind="probs", at_threshold=True))
    cases.append(Case("probs_weighted", Y, p, kind="probs",
                      w=rng.uniform(0, 2, n).astype(np.float32),
                      at_threshold=True))
    tp = np.array([0.25, 0.5, 0.75, 0.1, 0.9, 0.0, 1.0, 0.3], np.float64)
    pt = p.copy()
    pt[7, :] = tp  # exactly at each threshold
    cases.append(Case("probs_thresholds", Y, pt, kind="probs", thresholds=tp,
                      at_threshold=True))
    cases.append(Case("probs_f64", Y.astype(np.float32),
                      away_from(rng, rng.random((n, L)), 0.5, THRESHOLD_GAP),
                      kind="probs"))

    # Logits exactly 0 at the default threshold: sigma(0) = 0.5 is not > 0.5.
    Y = random_labels(rng, 64, 9)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    z[::5, 3] = 0.0
    z[1, :] = -0.0
    cases.append(Case("logits_at_threshold", Y, z, at_threshold=True))

    # Predictions instead of scores.
    n, L = 1000, 33
    Y = random_labels(rng, n, L)
    Pm = random_labels(rng, n, L)
    Pm[:4] = 0
    Y[:2] = 0
    cases.append(Case("pred_u8", Y.astype(np.uint8), pred=Pm.astype(np.uint8)))
    cases.append(Case("pred_i64_weighted", Y, pred=Pm,
                      w=np.where(rng.random(n) < 0.1, 0.0,
                                 rng.uniform(0, 3, n)), zd="1"))
    cases.append(Case("pred_bool_nan", Y.astype(bool), pred=Pm.astype(bool),
                      zd="nan"))
    cases.append(Case("pred_1d", Y[:, 0].astype(np.int64),
                      pred=Pm[:, 0].astype(np.int64)))

    # Sample weights, zero weights included, float32 and float64 files.
    n, L = 3000, 17
    Y = random_labels(rng, n, L)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    w = rng.uniform(0, 3, n)
    w[rng.random(n) < 0.15] = 0.0
    cases.append(Case("weights_f64", Y, z, w=w))
    cases.append(Case("weights_f32_zd_nan", Y, z, w=w.astype(np.float32),
                      zd="nan"))
    wi = np.zeros(n)
    wi[::7] = 2.0
    cases.append(Case("weights_mostly_zero", Y, z, w=wi, zd="1"))
    cases.append(Case("weights_L1", Y[:, :1], z[:, :1], w=w))

    # float64 scores: distinct in float32 per row and away from thresholds,
    # so the device's float32 ranking equals the stored one.
    n, L = 2000, 9
    Y = random_labels(rng, n, L)
    z64 = rng.normal(size=(n, L)) * 2 + (Y * 2.0 - 1)
    z64 = away_from(rng, z64, 0.0, THRESHOLD_GAP)
    cases.append(Case("scores_f64", Y, z64))
    cases.append(Case("scores_f64_weighted", Y.astype(np.float64), z64,
                      w=rng.uniform(0, 1, n)))
    # float64 scores that meet in float32 (0.1 and 0.1 + 1e-12): the label
    # ranking sees the float32 tie, the micro AUC ranks the stored values.
    zt = z64.copy()
    zt[:, 1] = zt[:, 0] + 1e-12
    cases.append(Case("scores_f64_float32_ties", Y, zt))

    # 1-D labels and scores (one label).
    n = 1000
    y1 = rng.integers(0, 2, n).astype(np.int64)
    z1 = away_from(rng, (rng.normal(size=n) * 2 + (y1 * 2.0 - 1))
                   .astype(np.float32), 0.0, THRESHOLD_GAP)
    cases.append(Case("one_label_1d", y1, z1))
    cases.append(Case("one_label_1d_float_labels", y1.astype(np.float32),
                      z1.astype(np.float64), w=rng.uniform(0, 2, n)))
    cases.append(Case("one_label_1d_probs", y1.astype(bool),
                      sigmoid(z1).astype(np.float32), kind="probs"))

    # More rows than one device chunk (2^20 rows) in one update (uint8
    # labels, float32 scores, no gradient: read in place), and more cells
    # than one CLI batch (2^22) with converted labels and a gradient.
    n = (1 << 20) + 3
    Y = random_labels(rng, n, 3)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    cases.append(Case("big_chunks", Y.astype(np.uint8), z, grad=False,
                      big=True))
    Y = random_labels(rng, n, 4)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    cases.append(Case("big_batches", Y.astype(np.int64), z, big=True,
                      w=rng.uniform(0, 2, n).astype(np.float32)))
    # Wide: many labels, few rows.
    Y = random_labels(rng, 24, 5000, 0.001, 0.05)
    Y[:, 0] = 1
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    cases.append(Case("wide_L5000", Y.astype(np.uint8), z))

    # --no-label-ranking.
    Y = random_labels(rng, 100, 9)
    z = away_from(rng, random_logits(rng, Y), 0.0, THRESHOLD_GAP)
    cases.append(Case("no_label_ranking", Y, z, label_ranking=False))
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True)
    ap.add_argument("--only", help="run the cases whose name contains this")
    opts = ap.parse_args()
    if torch is None:
        print(f"crosscheck_multilabel: note: {cc.TORCH_NOTE}")
    rng = np.random.default_rng(20261215)
    chk = cc.Checker()
    cases = build_cases(rng)
    tmp = tempfile.mkdtemp(prefix="clm_crosscheck_ml.")
    try:
        for c in cases:
            if opts.only and opts.only not in c.name:
                continue
            failed, total = chk.failed, chk.passed + chk.failed
            t0 = time.monotonic()
            check_case(chk, opts.cli, tmp, c)
            status = "ok" if chk.failed == failed else "FAILED"
            print(f"  {c.name}: {status} "
                  f"({chk.passed + chk.failed - total} comparisons, "
                  f"{time.monotonic() - t0:.1f} s)", flush=True)
    finally:
        for root, dirs, files in os.walk(tmp, topdown=False):
            for f in files:
                os.unlink(os.path.join(root, f))
            for dd in dirs:
                os.rmdir(os.path.join(root, dd))
        os.rmdir(tmp)
    print(f"{chk.passed} passed, {chk.failed} failed")
    return 1 if chk.failed else 0


if __name__ == "__main__":
    sys.exit(main())
