#!/usr/bin/python3
"""Cross-check calibration, sample weights and the loss options of
`clmetrics binary` and `clmetrics multiclass` against scikit-learn, NumPy in
float64 and, where it is installed, PyTorch.

Usage: /usr/bin/python3 tests/crosscheck_weights.py --cli build/clmetrics

Conventions of the references (see README "Calibration, weights and loss
options"):

* Sample weights are read as float32 by the CLI (a float64 file is rounded
  to float32), so the references use the weights rounded to float32.
  Weighted counts, metrics and means are scikit-learn's with sample_weight
  (confusion_matrix, precision_recall_fscore_support, accuracy_score,
  balanced_accuracy_score, matthews_corrcoef, cohen_kappa_score, log_loss,
  brier_score_loss, top_k_accuracy_score). The device sums weights in
  float32 partials added in float64: sums of weights agree to a relative
  WSUM_REL_TOL, metrics derived from them to METRIC_W_TOL absolute.
* --pos-weight and the per-sample gradient: PyTorch's BCEWithLogitsLoss
  (pos_weight=P, weight=w): bce_mean = sum(w l) / sum(w) (log_loss's
  weighted mean; without weights, PyTorch's mean over N), --grad-out =
  d(sum of w l)/dz, from autograd where torch is importable, else NumPy.
* Multi-class --class-weights / --ignore-index / --label-smoothing:
  torch.nn.functional.cross_entropy(weight, ignore_index, label_smoothing,
  reduction="mean") in float64 on the float32-rounded logits, and a NumPy
  transcription of its formula; ignored rows leave every metric (scikit-learn
  on the remaining rows).
* Multi-class --grad-out: each row's s_n * d l_n / d z (not divided by the
  normaliser) against a NumPy float64 transcription of
  (1 - e) w_y (p - onehot) + (e / K)(W p - w) (probabilities as logits
  log p; +inf logits share the mass) and, on finite logits, against torch
  autograd of cross_entropy(reduction="none") * s summed (reduction="sum"
  when unweighted); grad / loss.normalizer against autograd of the
  reduction="mean" loss (Σ s l / Σ s w_y with sample weights). Tolerance
  MC_GRAD_TOL(K) relative to the row's term magnitudes (see below).
* Calibration: confidence = sigma(z) (binary; the positive-class
  probability, torchmetrics' binary convention) or the top-label softmax
  probability (multi-class), bins (lo, hi] with the first [0, hi] over
  equal-width edges (torchmetrics' default of 15 bins): ECE (l1), RMSCE
  (l2), MCE (max) as torchmetrics' CalibrationError defines them, computed
  here in NumPy float64; scikit-learn's calibration_curve (uniform,
  unweighted) gives the same non-empty bins' frequency and confidence. The
  CLI computes sigma/softmax in float32, so a confidence within 1e-6 of an
  edge may fall in the neighbouring bin: such samples are counted and the
  comparison allows exactly that many moves.
"""

import argparse
import json
import math
from fractions import Fraction
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import crosscheck as cc  # noqa: E402  (skips itself without NumPy/sklearn)

import numpy as np  # noqa: E402
from sklearn.calibration import calibration_curve  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    average_precision_score,
    roc_auc_score,
    balanced_accuracy_score,
    brier_score_loss,
    cohen_kappa_score,
    confusion_matrix,
    matthews_corrcoef,
    precision_recall_fscore_support,
    top_k_accuracy_score,
)

torch = cc.torch

WSUM_REL_TOL = 1e-5  # sums of weights, relative
METRIC_W_TOL = 1e-5  # weighted metrics, absolute
LOSS_REL_TOL = 1e-5  # weighted loss means, relative
GRAD_TOL = 1e-5  # per-sample weighted gradients, relative to max(1, |w f|)
CAL_TOL = 1e-6  # calibration errors and bin means (float32 sigma/softmax)
RANK_REL_TOL = 1e-9  # weighted ROC-AUC / AP of the stored scores
RANK_SOFTMAX_REL_TOL = 1e-6  # of a float32 softmax (device exp)
EDGE_SLACK = 1e-6  # confidences this close to an edge may change bin


def MC_GRAD_TOL(K):
    """Multi-class --grad-out, relative to the element's term magnitude
    M_j = s (c1 p_j + [j = y]((1 - e) w_y + (e/K) W) + (e/K) w_j),
    c1 = (1 - e) w_y + (e/K) W. tests/test_multiclass_grad.c bounds the
    float32 evaluation by u s [c1 p_j (|x_j| + xb + K + 15) + 5 (e/K) w_j]
    (j != y) and u s [c1 q (xr + xb + 2K + 14) + 5 (e/K)(W - w_y)] (j = y),
    x_c = z_c - max: |x_c| <= 104 wherever exp(x_c) is not 0 in float32,
    xb <= K/e (x e^x <= 1/e) and xr <= 104, q <= 1: both are below
    u (3K + 128) M_j. PyTorch's own float64 result adds nothing visible."""
    return 2.0 ** -24 * (3 * K + 128)


def run(cli, args):
    proc = subprocess.run([cli] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=600)
    return proc.returncode, proc.stdout, proc.stderr


def run_json(chk, case, cli, args):
    rc, out, err = run(cli, args + ["--json"])
    if not chk.exact(case, "exit status", rc, 0):
        print(f"  command: {' '.join([cli] + args)}\n  stderr: {err.strip()}")
        return None
    return json.loads(out)


def f32(a):
    return np.asarray(a).astype(np.float32).astype(np.float64)


# ---------------------------------------------------------------------------
# Calibration reference
# ---------------------------------------------------------------------------


def cal_reference(conf, hit, w, edges):
    """Bins (lo, hi], first [0, hi]; weighted means, ECE/RMSCE/MCE."""
    B = len(edges) - 1
    b = np.searchsorted(np.asarray(edges[1:-1]), conf, side="left")
    near = np.zeros(len(conf), dtype=bool)
    for e in edges[1:-1]:
        near |= np.abs(conf - e) <= EDGE_SLACK
    W = math.fsum(w)
    rows = []
    ece = rms = 0.0
    mce = 0.0
    for k in range(B):
        m = b == k
        wk = math.fsum(w[m])
        if m.sum() == 0 or wk == 0:
            rows.append((int(m.sum()), wk, None, None))
            continue
        c = math.fsum(w[m] * conf[m]) / wk
        fr = math.fsum(w[m] * hit[m]) / wk
        rows.append((int(m.sum()), wk, c, fr))
        ece += wk / W * abs(fr - c)
        rms += wk / W * (fr - c) ** 2
        mce = max(mce, abs(fr - c))
    return {"rows": rows, "ece": ece, "rmsce": math.sqrt(rms), "mce": mce,
            "near": int(near.sum()), "n": len(conf)}


def check_calibration(chk, case, js, ref, brier, weighted):
    cal = js.get("calibration")
    if not chk.exact(case, "calibration present", cal is not None, True):
        return
    # Each confidence that may have crossed an edge moves at most one
    # count and changes the errors by at most its share of the weight.
    slack = ref["near"]
    tol = CAL_TOL + 2.0 * slack / max(ref["n"], 1)
    chk.close(case, "calibration.brier", cal["brier"], brier,
              CAL_TOL * max(1.0, abs(brier)))
    for key in ("ece", "rmsce", "mce"):
        chk.close(case, f"calibration.{key}", cal[key], ref[key],
                  tol if key != "mce" else (CAL_TOL if slack == 0 else 1.0))
    got = cal["bins"]
    if not chk.exact(case, "calibration bins", len(got), len(ref["rows"])):
        return
    counts = np.array([g["count"] for g in got])
    want = np.array([r[0] for r in ref["rows"]])
    chk.close(case, "calibration bin counts (moved)",
              float(np.abs(counts - want).sum()), 0.0, 2.0 * slack)
    if slack == 0:
        for k, (g, r) in enumerate(zip(got, ref["rows"])):
            if r[2] is None:
                chk.exact(case, f"bin {k} empty", g["confidence"], None)
                continue
            chk.close(case, f"bin {k} confidence", g["confidence"], r[2],
                      CAL_TOL)
            chk.close(case, f"bin {k} frequency", g["frequency"], r[3],
                      CAL_TOL if not weighted else METRIC_W_TOL)


# ---------------------------------------------------------------------------
# Binary
# ---------------------------------------------------------------------------


def sk_weighted_ranking(y01, s, w):
    """scikit-learn's weighted (roc_auc, average_precision); None where
    undefined (no positive or no negative weight)."""
    y01 = np.asarray(y01).astype(np.int64)
    r = cc.finite_scores(s)[0]
    wp = math.fsum(w[y01 == 1])
    wn = math.fsum(w[y01 == 0])
    auc = float(roc_auc_score(y01, r, sample_weight=w)) if wp and wn else None
    ap = float(average_precision_score(y01, r, sample_weight=w)) \
        if wp else None
    return auc, ap


def exact_mcc(y, pred, w):
    """Binary MCC of the weighted cells in exact rational arithmetic.
    scikit-learn's matthews_corrcoef forms n_correct * n_samples - t.p in
    float64, which cancels to 0 when one weight dwarfs the others (1e30
    next to ones: the exact value here is -0.37, scikit-learn says 0.0)."""
    cell = {}
    for key, m in (("tp", (y == 1) & pred), ("fp", (y == 0) & pred),
                   ("fn", (y == 1) & ~pred), ("tn", (y == 0) & ~pred)):
        cell[key] = sum((Fraction(float(v)) for v in w[m]), Fraction(0))
    tp, fp, fn, tn = cell["tp"], cell["fp"], cell["fn"], cell["tn"]
    den = (tp + fp) * (tp + fn) * (tn + fp) * (tn + fn)
    if den == 0:
        return 0.0
    return float(tp * tn - fp * fn) / math.sqrt(float(den))


def binary_case(chk, cli, d, name, y, z, kind, w=None, pos_weight=None,
                bins=15, w_dtype=np.float32, ranking=False):
    case = f"bin_{name}"
    os.makedirs(d, exist_ok=True)
    lp, sp, gp = (os.path.join(d, f) for f in ("y.npy", "s.npy", "g.npy"))
    rp = os.path.join(d, "rel.csv")
    np.save(lp, y)
    np.save(sp, z)
    args = ["binary", "--labels", lp, "--scores", sp, "--grad-out", gp,
            "--calibration-bins", str(bins), "--reliability-out", rp]
    if not ranking:
        args += ["--no-ranking"]
    if kind == "probs":
        args += ["--scores-kind", "probs"]
    wv = np.ones(len(y))
    if w is not None:
        wp = os.path.join(d, "w.npy")
        np.save(wp, w.astype(w_dtype))
        args += ["--weights", wp]
        wv = f32(w)
    P = 1.0 if pos_weight is None else float(pos_weight)
    if pos_weight is not None:
        args += ["--pos-weight", repr(P)]
    js = run_json(chk, case, cli, args)
    if js is None:
        return
    yi = np.asarray(y).astype(np.int64)
    s32 = f32(z)
    p = cc.sigmoid(s32) if kind == "logits" else s32
    pred = (s32 > 0.0) if kind == "logits" else (s32 > 0.5)
    W = math.fsum(wv)
    # Weighted confusion and metrics (scikit-learn with sample_weight).
    cm = confusion_matrix(yi, pred.astype(np.int64), labels=[0, 1],
                          sample_weight=wv)
    conf = js["confusion"]
    for key, val in (("tn", cm[0, 0]), ("fp", cm[0, 1]), ("fn", cm[1, 0]),
                     ("tp", cm[1, 1])):
        chk.close(case, f"confusion.{key}", conf[key], float(val),
                  WSUM_REL_TOL * W)
    if w is not None:
        chk.close(case, "weight_sum", js["weight_sum"], W, WSUM_REL_TOL * W)
        cnt = confusion_matrix(yi, pred.astype(np.int64), labels=[0, 1])
        chk.exact(case, "counts.tp", js["counts"]["tp"], int(cnt[1, 1]))
    pr, rc_, f1, _ = precision_recall_fscore_support(
        yi, pred.astype(np.int64), average="binary", sample_weight=wv,
        zero_division=0)
    for key, val in (("accuracy", accuracy_score(yi, pred, sample_weight=wv)),
                     ("precision", pr), ("recall", rc_), ("f1", f1),
                     ("balanced_accuracy",
                      balanced_accuracy_score(yi, pred, sample_weight=wv)),
                     ("mcc", exact_mcc(yi, pred, wv))):
        chk.close(case, key, js[key], float(val), METRIC_W_TOL)
    # Loss with pos_weight and weights.
    f = np.where(yi == 1, P, 1.0)
    if kind == "logits":
        l_i = np.where(yi == 1, cc.softplus(-s32), cc.softplus(s32))
        g = cc.sigmoid(s32) - yi
    else:
        q = np.clip(s32, cc.EPS32, 1.0 - cc.EPS32)
        l_i = np.where(yi == 1, -np.log(q), -np.log1p(-q))
        g = s32 - yi
    wl = wv * f * l_i
    bce_mean = math.fsum(wl) / W
    chk.close(case, "loss.bce_mean", js["loss"]["bce_mean"], bce_mean,
              LOSS_REL_TOL * max(1.0, abs(bce_mean)))
    chk.close(case, "loss.pos_weight", js["loss"]["pos_weight"], P, 0.0)
    grad = np.load(gp).astype(np.float64)
    want_g = wv * f * g
    chk.array(case, "grad-out", grad, want_g,
              GRAD_TOL * np.maximum(1.0, np.abs(wv * f)))
    # PyTorch's own formula turns an infinite logit into NaN (inf - inf);
    # the NumPy reference above covers those rows.
    if torch is not None and kind == "logits" and np.isfinite(s32).all():
        zt = torch.tensor(s32, dtype=torch.float64, requires_grad=True)
        yt = torch.tensor(yi.astype(np.float64))
        lossf = torch.nn.BCEWithLogitsLoss(
            weight=torch.tensor(wv), reduction="sum",
            pos_weight=torch.tensor(P, dtype=torch.float64))
        loss = lossf(zt, yt)
        loss.backward()
        chk.close(case, "torch BCEWithLogitsLoss sum / sum(w)",
                  js["loss"]["bce_mean"], float(loss) / W,
                  LOSS_REL_TOL * max(1.0, abs(float(loss) / W)))
        chk.array(case, "torch autograd dL/dz", grad, zt.grad.numpy(),
                  GRAD_TOL * np.maximum(1.0, np.abs(wv * f)))
    if ranking:
        auc, ap = sk_weighted_ranking(yi, z, wv)
        chk.close(case, "roc_auc (sample_weight)", js.get("roc_auc"), auc,
                  RANK_REL_TOL * abs(auc or 0.0))
        chk.close(case, "average_precision (sample_weight)",
                  js.get("average_precision"), ap,
                  RANK_REL_TOL * abs(ap or 0.0))
    # Calibration: the positive-class probability against the label.
    edges = np.linspace(0.0, 1.0, bins + 1)
    ref = cal_reference(p, yi.astype(np.float64), wv, edges)
    brier = brier_score_loss(yi, p, sample_weight=wv)
    check_calibration(chk, case, js, ref, float(brier), w is not None)
    if w is None and ref["near"] == 0:
        prob_true, prob_pred = calibration_curve(yi, p, n_bins=bins)
        nonempty = [b for b in js["calibration"]["bins"] if b["count"]]
        chk.array(case, "sklearn calibration_curve prob_true",
                  [b["frequency"] for b in nonempty], prob_true, CAL_TOL)
        chk.array(case, "sklearn calibration_curve prob_pred",
                  [b["confidence"] for b in nonempty], prob_pred, CAL_TOL)
    # The CSV holds the JSON's table.
    with open(rp) as fh:
        lines = fh.read().strip().split("\n")
    chk.exact(case, "reliability csv header", lines[0],
              "bin,lo,hi,count,weight,confidence,frequency,gap")
    chk.exact(case, "reliability csv rows", len(lines) - 1, bins)
    chk.exact(case, "reliability csv counts",
              [int(x.split(",")[3]) for x in lines[1:]],
              [b["count"] for b in js["calibration"]["bins"]])


def binary_errors(chk, cli, d, rng):
    os.makedirs(d, exist_ok=True)
    n = 50
    y = rng.integers(0, 2, n).astype(np.uint8)
    z = rng.normal(size=n).astype(np.float32)
    lp, sp, wp = (os.path.join(d, f) for f in ("y.npy", "s.npy", "w.npy"))
    np.save(lp, y)
    np.save(sp, z)
    for name, bad, text in (("nan", np.nan, "NaN"), ("neg", -1.0, "negative"),
                            ("inf", np.inf, "inf")):
        for dt in (np.float32, np.float64):
            w = np.ones(n, dtype=dt)
            w[17] = bad
            np.save(wp, w)
            rc, out, err = run(cli, ["binary", "--labels", lp, "--scores", sp,
                                     "--weights", wp])
            case = f"bin_bad_weight_{name}_{np.dtype(dt).name}"
            chk.exact(case, "exit status", rc, 1)
            chk.exact(case, "stdout empty", out, "")
            chk.exact(case, "names file and index",
                      wp in err and "17" in err and "weight" in err, True)
    np.save(wp, np.zeros(n, dtype=np.float32))
    rc, out, err = run(cli, ["binary", "--labels", lp, "--scores", sp,
                             "--weights", wp])
    chk.exact("bin_all_zero_weights", "exit status", rc, 1)
    chk.exact("bin_all_zero_weights", "message",
              "sum to 0" in err, True)
    np.save(wp, np.ones(n + 1, dtype=np.float32))
    rc, out, err = run(cli, ["binary", "--labels", lp, "--scores", sp,
                             "--weights", wp])
    chk.exact("bin_weights_length", "exit status", rc, 1)
    chk.exact("bin_weights_length", "message", "length mismatch" in err, True)


# ---------------------------------------------------------------------------
# Multi-class
# ---------------------------------------------------------------------------


def softmax64(z):
    z = np.asarray(z, dtype=np.float64)
    m = z.max(axis=1, keepdims=True)
    e = np.exp(z - m)
    return e / e.sum(axis=1, keepdims=True)


def np_cross_entropy(z, y, cw, ii, eps):
    """PyTorch's CrossEntropyLoss(weight, ignore_index, label_smoothing)
    mean, in float64."""
    K = z.shape[1]
    keep = y != ii if ii is not None else np.ones(len(y), dtype=bool)
    z, y = z[keep], y[keep]
    w = np.ones(K) if cw is None else cw
    m = z.max(axis=1, keepdims=True)
    logp = z - m - np.log(np.exp(z - m).sum(axis=1, keepdims=True))
    nll = -w[y] * logp[np.arange(len(y)), y]
    smooth = -(logp * w[None, :]).sum(axis=1)
    num = math.fsum((1.0 - eps) * nll + eps / K * smooth)
    return num / math.fsum(w[y])


def np_mc_grad(s32, yi, keep, wv, cw, eps, kind):
    """Each row's s_n d l_n / d z in float64 (zero rows where ignored) and
    the term magnitudes M the tolerance scales with."""
    n, K = s32.shape
    if kind == "probs":
        tot = s32.sum(axis=1, keepdims=True)
        P = np.where(tot > 0, s32 / np.where(tot > 0, tot, 1.0), 1.0 / K)
    else:
        m = s32.max(axis=1, keepdims=True)
        top = np.isinf(m) & (m > 0)
        with np.errstate(invalid="ignore"):
            E = np.where(top, (s32 == np.inf).astype(np.float64),
                         np.exp(s32 - np.where(top, 0.0, m)))
        P = E / E.sum(axis=1, keepdims=True)
    cwv = np.ones(K) if cw is None else np.asarray(cw, dtype=np.float64)
    W = cwv.sum()
    ys = np.where(keep, yi, 0)
    onehot = np.eye(K)[ys]
    wy = cwv[ys][:, None]
    G = (1 - eps) * wy * (P - onehot) + eps / K * (W * P - cwv[None, :])
    c1 = (1 - eps) * wy + eps / K * W
    M = c1 * P + onehot * ((1 - eps) * wy + eps / K * W) + \
        eps / K * cwv[None, :]
    G *= wv[:, None]
    M *= wv[:, None]
    G[~keep] = 0.0
    M[~keep] = 0.0
    return G, M


def check_mc_grad(chk, case, gp, js, s32, yi, keep, wv, w, cw, ii, eps,
                  kind):
    n, K = s32.shape
    grad = np.load(gp)
    chk.exact(case, "grad-out dtype", str(grad.dtype), "float32")
    chk.exact(case, "grad-out shape", grad.shape, (n, K))
    if grad.shape != (n, K):
        return
    grad = grad.astype(np.float64)
    G, M = np_mc_grad(s32, yi, keep, wv, cw, eps, kind)
    tol = MC_GRAD_TOL(K) * M + 1e-37
    chk.array(case, "grad-out (NumPy float64)", grad, G, tol)
    chk.exact(case, "grad-out ignored rows are 0",
              bool((grad[~keep] == 0).all()), True)
    if torch is None:
        return
    # Probabilities are logits log p; rows with an infinite logit (or a
    # zero probability) are NaN in PyTorch's formula: the NumPy reference
    # above covers them.
    zz = np.log(s32) if kind == "probs" else s32
    if not np.isfinite(zz).all():
        return
    tw = None if cw is None else torch.tensor(np.asarray(cw, np.float64))
    iit = -100 if ii is None else ii
    yt = torch.tensor(yi, dtype=torch.long)
    zt = torch.tensor(zz, dtype=torch.float64, requires_grad=True)
    if w is None:
        loss = torch.nn.functional.cross_entropy(
            zt, yt, weight=tw, ignore_index=iit, label_smoothing=eps,
            reduction="sum")
    else:
        loss = (torch.nn.functional.cross_entropy(
            zt, yt, weight=tw, ignore_index=iit, label_smoothing=eps,
            reduction="none") * torch.tensor(wv)).sum()
    loss.backward()
    chk.array(case, "torch autograd (sum)", grad, zt.grad.numpy(), tol)
    # reduction="mean": the same gradient over the JSON's normaliser.
    norm = js["loss"]["normalizer"]
    zt = torch.tensor(zz, dtype=torch.float64, requires_grad=True)
    if w is None:
        mean = torch.nn.functional.cross_entropy(
            zt, yt, weight=tw, ignore_index=iit, label_smoothing=eps,
            reduction="mean")
    else:
        cwv = np.ones(K) if cw is None else np.asarray(cw, np.float64)
        den = math.fsum((wv * cwv[np.where(keep, yi, 0)])[keep])
        mean = (torch.nn.functional.cross_entropy(
            zt, yt, weight=tw, ignore_index=iit, label_smoothing=eps,
            reduction="none") * torch.tensor(wv)).sum() / den
        chk.close(case, "loss.normalizer = sum(s w_y)", norm, den,
                  WSUM_REL_TOL * den)
    mean.backward()
    chk.array(case, "grad-out / normalizer = torch mean autograd",
              grad / norm, zt.grad.numpy(), tol / norm)


def multiclass_case(chk, cli, d, name, y, z, kind="logits", w=None, cw=None,
                    ii=None, eps=0.0, top_k=None, pred=None, bins=15,
                    ranking=False, grad=False, grad_only=False):
    case = f"mc_{name}"
    os.makedirs(d, exist_ok=True)
    lp, sp = os.path.join(d, "y.npy"), os.path.join(d, "s.npy")
    gp = os.path.join(d, "g.npy")
    np.save(lp, y)
    K = z.shape[1] if z is not None else int(max(y.max(), pred.max()) + 1)
    if pred is not None:
        np.save(sp, pred)
        args = ["multiclass", "--labels", lp, "--pred", sp,
                "--classes", str(K)]
    else:
        np.save(sp, z)
        args = ["multiclass", "--labels", lp, "--scores", sp,
                "--calibration-bins", str(bins)]
        if not ranking:
            args += ["--no-ranking"]
        if kind == "probs":
            args += ["--scores-kind", "probs"]
    wv = np.ones(len(y))
    if w is not None:
        wp = os.path.join(d, "w.npy")
        np.save(wp, w)
        args += ["--weights", wp]
        wv = f32(w)
    if cw is not None:
        cp = os.path.join(d, "cw.npy")
        np.save(cp, cw)
        args += ["--class-weights", cp]
    if ii is not None:
        args += ["--ignore-index", str(ii)]
    if eps:
        args += ["--label-smoothing", repr(eps)]
    if top_k:
        args += ["--top-k", str(top_k)]
    if grad:
        args += ["--grad-out", gp]
    js = run_json(chk, case, cli, args)
    if js is None:
        return
    yi = np.asarray(y).astype(np.int64)
    keep = yi != ii if ii is not None else np.ones(len(yi), dtype=bool)
    chk.exact(case, "ignored", js["ignored"], int((~keep).sum()))
    if pred is not None:
        yp = np.asarray(pred).astype(np.int64)
        s32 = None
    else:
        s32 = f32(z)
        yp = np.argmax(s32, axis=1)
    yk, pk, wk = yi[keep], yp[keep], wv[keep]
    W = math.fsum(wk)
    labels = list(range(K))
    cm = confusion_matrix(yk, pk, labels=labels, sample_weight=wk)
    chk.array(case, "confusion_matrix", js["confusion_matrix"], cm,
              WSUM_REL_TOL * W)
    p, r, f, sup = precision_recall_fscore_support(
        yk, pk, labels=labels, sample_weight=wk, zero_division=0)
    pc = js["per_class"]
    chk.array(case, "per_class precision", [c["precision"] for c in pc], p,
              METRIC_W_TOL)
    chk.array(case, "per_class recall", [c["recall"] for c in pc], r,
              METRIC_W_TOL)
    chk.array(case, "per_class f1", [c["f1"] for c in pc], f, METRIC_W_TOL)
    chk.array(case, "per_class support", [c["support"] for c in pc], sup,
              WSUM_REL_TOL * W)
    for avg in ("macro", "weighted", "micro"):
        ap, ar, af, _ = precision_recall_fscore_support(
            yk, pk, labels=labels, average=avg, sample_weight=wk,
            zero_division=0)
        chk.close(case, f"{avg}.f1", js[avg]["f1"], float(af), METRIC_W_TOL)
    for key, val in (
            ("accuracy", accuracy_score(yk, pk, sample_weight=wk)),
            ("balanced_accuracy",
             balanced_accuracy_score(yk, pk, sample_weight=wk)),
            ("mcc", matthews_corrcoef(yk, pk, sample_weight=wk)),
            ("cohen_kappa",
             cohen_kappa_score(yk, pk, labels=labels, sample_weight=wk))):
        chk.close(case, key, js[key], float(val), METRIC_W_TOL)
    if s32 is None:
        return
    if grad:
        check_mc_grad(chk, case, gp, js, s32, yi, keep, wv, w, cw, ii, eps,
                      kind)
    if grad_only:  # infinite logits: the float64 references below are NaN
        return
    if kind == "logits":
        want = np_cross_entropy(s32 * 1.0, yi, cw, ii, eps) if w is None \
            else None
        if w is not None:
            # Sample weights multiply each row's loss and normaliser.
            Kc = s32.shape[1]
            cwv = np.ones(Kc) if cw is None else cw
            zz, yy, ww = s32[keep], yi[keep], wv[keep]
            m = zz.max(axis=1, keepdims=True)
            logp = zz - m - np.log(np.exp(zz - m).sum(axis=1, keepdims=True))
            l_n = (1 - eps) * -cwv[yy] * logp[np.arange(len(yy)), yy] + \
                eps / Kc * -(logp * cwv[None, :]).sum(axis=1)
            want = math.fsum(ww * l_n) / math.fsum(ww * cwv[yy])
        chk.close(case, "loss.cross_entropy_mean",
                  js["loss"]["cross_entropy_mean"], want,
                  LOSS_REL_TOL * max(1.0, abs(want)))
        if torch is not None and w is None:
            tl = torch.nn.functional.cross_entropy(
                torch.tensor(s32, dtype=torch.float64),
                torch.tensor(yi, dtype=torch.long),
                weight=None if cw is None else torch.tensor(cw),
                ignore_index=-100 if ii is None else ii,
                label_smoothing=eps, reduction="mean")
            chk.close(case, "torch cross_entropy",
                      js["loss"]["cross_entropy_mean"], float(tl),
                      LOSS_REL_TOL * max(1.0, abs(float(tl))))
    if top_k and K > 2:
        want = top_k_accuracy_score(yk, s32[keep], k=top_k, labels=labels,
                                    sample_weight=wk)
        chk.close(case, "top_k_accuracy", js["top_k_accuracy"], float(want),
                  METRIC_W_TOL)
    if ranking:
        # One-vs-rest of the float32 softmax (logits) or the stored
        # probabilities, over the kept rows, with the sample weights.
        R = cc.softmax32(np.asarray(z)[keep]) if kind == "logits" \
            else np.asarray(z)[keep]
        rel = RANK_SOFTMAX_REL_TOL if kind == "logits" else RANK_REL_TOL
        aucs, aps, pw = [], [], []
        for c in range(K):
            a, b = sk_weighted_ranking(yk == c, R[:, c], wk)
            aucs.append(a)
            aps.append(b)
            pw.append(math.fsum(wk[yk == c]))
        per = js["per_class"]
        for c in range(K):
            chk.close(case, f"class {c} roc_auc", per[c].get("roc_auc"),
                      aucs[c], rel * abs(aucs[c] or 0.0))
            chk.close(case, f"class {c} average_precision",
                      per[c].get("average_precision"), aps[c],
                      rel * abs(aps[c] or 0.0))
        for key, vals in (("roc_auc", aucs), ("average_precision", aps)):
            keep_c = [c for c in range(K) if vals[c] is not None]
            v = np.array([vals[c] for c in keep_c])
            macro = float(np.mean(v))
            weighted = float(np.average(v, weights=np.array(pw)[keep_c]))
            chk.close(case, f"{key}.macro", js[key]["macro"], macro,
                      rel * abs(macro))
            chk.close(case, f"{key}.weighted", js[key]["weighted"], weighted,
                      rel * abs(weighted))
    # Calibration: top-label, class-wise and the multi-class Brier score.
    P = softmax64(s32) if kind == "logits" else s32
    Pk = P[keep]
    conf = Pk.max(axis=1)
    hit = (np.argmax(Pk, axis=1) == yk).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ref = cal_reference(conf, hit, wk, edges)
    onehot = np.eye(K)[yk]
    brier = math.fsum(wk * ((Pk - onehot) ** 2).sum(axis=1)) / W
    check_calibration(chk, case, js, ref, brier, w is not None)
    cw_ece = []
    near = 0
    for c in range(K):
        rc_ = cal_reference(Pk[:, c], onehot[:, c], wk, edges)
        cw_ece.append(rc_["ece"])
        near += rc_["near"]
    chk.close(case, "calibration.classwise_ece",
              js["calibration"]["classwise_ece"], float(np.mean(cw_ece)),
              CAL_TOL + 2.0 * near / len(yk))


def multiclass_errors(chk, cli, d, rng):
    os.makedirs(d, exist_ok=True)
    n, K = 40, 3
    y = rng.integers(0, K, n).astype(np.int64)
    z = rng.normal(size=(n, K)).astype(np.float32)
    lp, sp, cp = (os.path.join(d, f) for f in ("y.npy", "s.npy", "cw.npy"))
    np.save(lp, y)
    np.save(sp, z)
    np.save(cp, np.array([1.0, -2.0, 1.0]))
    rc, out, err = run(cli, ["multiclass", "--labels", lp, "--scores", sp,
                             "--class-weights", cp])
    chk.exact("mc_bad_class_weight", "exit status", rc, 1)
    chk.exact("mc_bad_class_weight", "names class 1",
              cp in err and "class 1" in err, True)
    np.save(cp, np.array([1.0, 2.0]))
    rc, out, err = run(cli, ["multiclass", "--labels", lp, "--scores", sp,
                             "--class-weights", cp])
    chk.exact("mc_class_weight_count", "exit status", rc, 1)
    yy = y.copy()
    yy[:] = -100
    np.save(lp, yy)
    rc, out, err = run(cli, ["multiclass", "--labels", lp, "--scores", sp,
                             "--ignore-index", "-100"])
    chk.exact("mc_all_ignored", "exit status", rc, 1)
    chk.exact("mc_all_ignored", "message", "ignore" in err, True)
    yy = y.copy()
    yy[5] = -7
    np.save(lp, yy)
    rc, out, err = run(cli, ["multiclass", "--labels", lp, "--scores", sp,
                             "--ignore-index", "-100"])
    chk.exact("mc_bad_label_with_ignore", "exit status", rc, 1)
    chk.exact("mc_bad_label_with_ignore", "names index 5",
              "5" in err and "-7" in err, True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True)
    opts = ap.parse_args()
    if torch is None:
        print(f"crosscheck_weights: note: {cc.TORCH_NOTE}")
    rng = np.random.default_rng(20261202)
    chk = cc.Checker()
    tmp = tempfile.mkdtemp(prefix="clm_crosscheck_w.")
    n = 20011
    y = rng.integers(0, 2, n).astype(np.uint8)
    z = (rng.normal(size=n) * 3 + (y * 2.0 - 1)).astype(np.float32)
    w = rng.uniform(0, 3, n)
    w[rng.random(n) < 0.1] = 0.0
    zx = z.copy()
    zx[:6] = [np.inf, -np.inf, 100.0, -100.0, 0.0, -0.0]
    p = rng.random(n).astype(np.float32)
    p[:4] = [0.0, 1.0, 0.2, 0.4]  # exact ends and edges of 5 or 15 bins
    K = 7
    yk = rng.integers(0, K, n).astype(np.int64)
    zk = (rng.normal(size=(n, K)) * 2).astype(np.float32)
    zk[np.arange(n), yk] += 1.5
    pk = softmax64(zk).astype(np.float32)
    yign = yk.copy()
    yign[rng.random(n) < 0.05] = -100
    yign3 = yk.copy()
    yign3[rng.random(n) < 0.05] = 3
    cw = rng.uniform(0.2, 2.0, K)
    cw[2] = 0.0
    wk = rng.uniform(0, 2, n)
    wk[rng.random(n) < 0.1] = 0.0
    huge = np.ones(n)
    huge[123] = 1e30
    # float64 logits with +-100, 0, +-inf (never a whole row infinite), and
    # a finite float64 set of K = 12 (the CLI rounds both to float32).
    zkx = zk.astype(np.float64)
    ext = np.array([100.0, -100.0, 0.0, np.inf, -np.inf])
    rows = rng.choice(n, 600, replace=False)
    zkx[rows, rng.integers(0, K, 600)] = ext[rng.integers(0, 5, 600)]
    zkx[rows[:50], 0] = np.inf
    zkx[rows[:50], 1] = np.inf
    zkx[rows[50:100], yk[rows[50:100]]] = -np.inf
    n12 = 3001
    y12 = rng.integers(0, 12, n12).astype(np.int32)
    z12 = rng.normal(size=(n12, 12)) * 4
    z12[np.arange(n12), y12] += 2.0
    y12[rng.random(n12) < 0.05] = 5
    w12 = rng.uniform(0, 3, n12)
    cw12 = rng.uniform(0.1, 3.0, 12)
    cases = [
        lambda d: binary_case(chk, opts.cli, d, "plain", y, z, "logits"),
        lambda d: binary_case(chk, opts.cli, d, "weighted_f32", y, z,
                              "logits", w=w),
        lambda d: binary_case(chk, opts.cli, d, "weighted_f64", y, zx,
                              "logits", w=w, w_dtype=np.float64,
                              ranking=True),
        lambda d: binary_case(chk, opts.cli, d, "weighted_ties_ranked", y,
                              np.round(z * 4).astype(np.float32) / 4,
                              "logits", w=w, ranking=True),
        lambda d: binary_case(chk, opts.cli, d, "pos_weight3", y, zx,
                              "logits", pos_weight=3.0),
        lambda d: binary_case(chk, opts.cli, d, "pos_weight_weighted", y, z,
                              "logits", w=w, pos_weight=0.25),
        lambda d: binary_case(chk, opts.cli, d, "probs_weighted_5bins", y, p,
                              "probs", w=w, bins=5),
        lambda d: binary_case(chk, opts.cli, d, "huge_weight", y, z,
                              "logits", w=huge, w_dtype=np.float64),
        lambda d: binary_errors(chk, opts.cli, d, rng),
        lambda d: multiclass_case(chk, opts.cli, d, "plain", yk, zk,
                                  top_k=2, grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "weighted", yk, zk,
                                  w=wk, top_k=3, ranking=True, grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "class_weights_smooth",
                                  yk, zk, cw=cw, eps=0.1, grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "ignore_neg", yign, zk,
                                  ii=-100, eps=0.2, ranking=True, grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "ignore_in_range", yign3,
                                  zk, ii=3, cw=cw, grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "all_options_weighted",
                                  yign, zk, w=wk, cw=cw, ii=-100, eps=0.3,
                                  grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "grad_f64_extremes",
                                  yign, zkx, w=wk, cw=cw, ii=-100, eps=0.05,
                                  grad=True, grad_only=True),
        lambda d: multiclass_case(chk, opts.cli, d, "grad_f64_finite_k12",
                                  y12, z12, w=w12, cw=cw12, ii=5, eps=0.25,
                                  grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "probs_weighted", yk, pk,
                                  kind="probs", w=wk, ranking=True,
                                  grad=True),
        lambda d: multiclass_case(chk, opts.cli, d, "pred_weighted", yk, None,
                                  w=wk, pred=np.argmax(zk, axis=1)),
        lambda d: multiclass_case(chk, opts.cli, d, "pred_ignore", yign, None,
                                  ii=-100, pred=np.argmax(zk, axis=1)),
        lambda d: multiclass_errors(chk, opts.cli, d, rng),
    ]
    try:
        for i, fn in enumerate(cases):
            failed, total = chk.failed, chk.passed + chk.failed
            fn(os.path.join(tmp, f"c{i}"))
            status = "ok" if chk.failed == failed else "FAILED"
            print(f"  case {i}: {status} "
                  f"({chk.passed + chk.failed - total} comparisons)")
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
