#!/usr/bin/python3
"""Cross-check `clmetrics binary` and `clmetrics multiclass` against
scikit-learn, NumPy in float64 and, where it is installed, PyTorch.

Usage: /usr/bin/python3 tests/crosscheck.py --cli build/clmetrics

Writes random and extreme .npy inputs (fixed seed) to a temporary directory,
runs the CLI with --json and --grad-out (and --features/--weight-grad-out on
some cases) and compares every count, metric, loss and gradient with the
references. Conventions of the references:

* The CLI evaluates float32 scores; float64 files are converted to float32
  first, so the loss and gradient references use the scores rounded to
  float32 (then held in float64). Binary decisions are taken on the values as
  stored: the conversion never moves a float64 score across the threshold,
  so a float64 file is judged as scikit-learn judges it.
* Decision rule: predicted positive iff sigma(z) > t strictly; for logits
  z > log(t / (1 - t)) evaluated in float64, for probabilities p > t.
* BCE from probabilities clips p to [eps, 1 - eps] with eps = 2**-23
  (float32 machine epsilon), whatever the file's dtype. scikit-learn's
  log_loss clips with the eps of its input's dtype, so it is compared only
  on cases where no probability lies outside that range.
* A metric whose ratio is 0/0 takes the --zero-division value (null in the
  JSON for nan).

Multi-class (`clmetrics multiclass --json`, from --pred or from --scores):

* The class set is 0..K-1: every scikit-learn call gets labels=range(K).
  The confusion matrix must equal confusion_matrix(labels=range(K))
  exactly; precision/recall/F1 (per class and macro/micro/weighted),
  accuracy, balanced accuracy, MCC and Cohen's kappa agree to 1e-12
  absolute. scikit-learn's balanced_accuracy_score ignores classes absent
  from y_true, as the CLI does.
* With --scores the predicted label is NumPy's argmax (ties to the lowest
  index) of the scores rounded to float32. Cross-entropy: for logits
  PyTorch's cross_entropy in float64 (mean) and a NumPy log-sum-exp
  reference; for probabilities -log(clip(p_true, 2**-23, 1)); relative
  tolerance 1e-5. Top-k accuracy against top_k_accuracy_score (K > 2) and a
  NumPy count, on inputs where no other score ties the true class's score.
* zero_division nan: scikit-learn 1.2 takes only 0 and 1, so the
  reference is its zero_division=0 result with every 0/0 entry replaced by
  null, and macro/weighted averages that skip those entries (as
  scikit-learn >= 1.3 does). MCC and kappa, when 0/0, take the
  --zero-division value.

Ranking (`roc_auc`, `average_precision`, per class and averaged for
multi-class, and the --roc-out / --pr-out curves):

* The CLI ranks the stored scores (float32 as float32, float64 as float64,
  binary logits as logits; multi-class logits through a float32 softmax).
  The reference is scikit-learn's roc_auc_score / average_precision_score
  of the stored values in float64 (+-inf, which scikit-learn rejects,
  replaced by finite values beyond the others: the same order and ties),
  relative tolerance 1e-9; for multi-class logits, of NumPy's float32
  softmax, relative tolerance 1e-6 (the device's exp may round a last bit
  differently, which can reorder near-ties).
* Undefined values (one class present; no positives for average precision)
  are null, listed in `undefined`, warned about on stderr, exit status 0.
  Multi-class averages run over the classes where the value is defined:
  macro unweighted, weighted by positives.
* Curves with --curve-points above the number of distinct scores equal
  scikit-learn's roc_curve(drop_intermediate=False) and
  precision_recall_curve (reversed) point for point: rates exactly, and
  thresholds exactly as values (-0.0 == +0.0), after the leading row
  (inf,0,0) / (inf,1,0). With a small --curve-points M every row is a point
  of scikit-learn's curve, at most M + 1 rows, and both end points are
  there.

Prints each mismatch (case, key, got, expected) and a final line
"N passed, M failed"; exits 1 on any mismatch. Exits 0 with a note when
NumPy or scikit-learn is not importable; the PyTorch part is skipped with a
note when torch is not importable.
"""

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import warnings

try:
    import numpy as np
    from sklearn.metrics import (
        accuracy_score,
        average_precision_score,
        balanced_accuracy_score,
        cohen_kappa_score,
        confusion_matrix,
        f1_score,
        log_loss,
        matthews_corrcoef,
        precision_recall_curve,
        precision_recall_fscore_support,
        precision_score,
        recall_score,
        roc_auc_score,
        roc_curve,
        top_k_accuracy_score,
    )
except ImportError as exc:  # pragma: no cover - depends on the machine
    print(f"crosscheck: skipped: {exc} (install python3-numpy and "
          "python3-sklearn)")
    sys.exit(0)

try:
    import torch
except Exception as exc:  # optional; any failure to import skips it
    torch = None
    TORCH_NOTE = f"PyTorch part skipped: {exc}"
else:
    TORCH_NOTE = None

EPS32 = 2.0 ** -23
METRIC_TOL = 1e-12  # absolute, for metrics derived from exact counts
GRAD_TOL = 1e-6  # absolute, per-sample gradients
SUM_REL_TOL = 1e-5  # weight/bias gradient, relative to (1/N) sum |g||x|
BCE_REL_TOL = 1e-6  # loss, relative to the sum of the (non-negative) terms
CE_REL_TOL = 1e-5  # multi-class cross-entropy mean, relative


# ---------------------------------------------------------------------------
# Comparisons
# ---------------------------------------------------------------------------


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def _record(self, ok, case, key, got, expected, note=""):
        if ok:
            self.passed += 1
        else:
            self.failed += 1
            extra = f" ({note})" if note else ""
            print(f"MISMATCH [{case}] {key}: got {got!r}, "
                  f"expected {expected!r}{extra}")
        return ok

    def exact(self, case, key, got, expected):
        return self._record(got == expected, case, key, got, expected)

    def close(self, case, key, got, expected, tol, note=""):
        """|got - expected| <= tol; None only equals None; inf only equals
        the same inf."""
        if expected is None or got is None:
            ok = got is None and expected is None
        elif not isinstance(got, (int, float)):
            ok = False
        elif math.isinf(expected) or math.isinf(got):
            ok = got == expected
        elif math.isnan(expected):
            ok = math.isnan(got)
        else:
            ok = abs(got - expected) <= tol
        return self._record(ok, case, key, got, expected,
                            note or f"tol {tol:g}")

    def array(self, case, key, got, expected, tol):
        """One comparison for a whole array: element-wise |got - exp| <= tol
        (tol may be an array); reports the worst element."""
        got = np.asarray(got, dtype=np.float64)
        expected = np.asarray(expected, dtype=np.float64)
        if got.shape != expected.shape:
            return self._record(False, case, key + ".shape", got.shape,
                                expected.shape)
        tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), got.shape)
        same = (got == expected) | (np.isnan(got) & np.isnan(expected))
        with np.errstate(invalid="ignore"):
            err = np.where(same, 0.0, np.abs(got - expected))
        bad = ~(err <= tol)
        if not bad.any():
            return self._record(True, case, key, None, None)
        i = int(np.argmax(np.where(bad, np.where(np.isnan(err), np.inf, err)
                                   - tol, -np.inf)))
        return self._record(False, case, f"{key}[{i}]", float(got.flat[i]),
                            float(expected.flat[i]),
                            f"tol {float(tol.flat[i]):g}, "
                            f"{int(bad.sum())} of {bad.size} off")


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def sigmoid(z):
    z = np.asarray(z, dtype=np.float64)
    with np.errstate(over="ignore"):
        e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def softplus(x):
    """log(1 + exp(x)), exact at +-inf (inf and 0)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore"):
        return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def logit_threshold(t):
    if t <= 0.0:
        return -math.inf
    if t >= 1.0:
        return math.inf
    return math.log(t / (1.0 - t))


def zd_value(zd):
    return {None: 0.0, "0": 0.0, "1": 1.0, "nan": None}[zd]


def sk_zero_division(zd):
    """scikit-learn 1.2 takes 0 or 1 (nan arrived in 1.3)."""
    return 1 if zd == "1" else 0


def reference(y, s, kind, t, X):
    """Float64 reference of everything the CLI reports."""
    yi = np.asarray(y).astype(np.int64)
    yf = yi.astype(np.float64)
    s32 = np.asarray(s).astype(np.float32).astype(np.float64)
    s64 = np.asarray(s).astype(np.float64)
    if kind == "logits":
        pred = s64 > logit_threshold(t)
        g = sigmoid(s32) - yf
        bce_i = np.where(yi == 1, softplus(-s32), softplus(s32))
    else:
        pred = s64 > t
        g = s32 - yf
        q = np.clip(s32, EPS32, 1.0 - EPS32)
        bce_i = np.where(yi == 1, -np.log(q), -np.log1p(-q))
    n = len(yi)
    ref = {
        "yi": yi,
        "s32": s32,
        "pred": pred.astype(np.int64),
        "g": g,
        "bce_sum": math.fsum(bce_i),
        "bce_abs": math.fsum(np.abs(bce_i[np.isfinite(bce_i)])),
    }
    ref["bce_mean"] = ref["bce_sum"] / n
    ref["bias"] = math.fsum(g) / n
    ref["bias_scale"] = math.fsum(np.abs(g)) / n
    if X is not None:
        X64 = np.asarray(X).astype(np.float32).astype(np.float64)
        ref["wg"] = X64.T @ g / n
        ref["wg_scale"] = np.abs(X64).T @ np.abs(g) / n
        ref["X64"] = X64
    return ref


# ---------------------------------------------------------------------------
# Running the CLI
# ---------------------------------------------------------------------------


def run_cli(cli, args):
    proc = subprocess.run([cli] + args, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def check_case(chk, cli, tmp, case):
    name = case["name"]
    y, s, kind = case["y"], case["s"], case.get("kind", "logits")
    t, zd, X = case.get("t"), case.get("zd"), case.get("X")
    d = os.path.join(tmp, name)
    os.makedirs(d)
    lp, sp = os.path.join(d, "labels.npy"), os.path.join(d, "scores.npy")
    gp = os.path.join(d, "grad.npy")
    np.save(lp, y)
    np.save(sp, s)
    args = ["binary", "--labels", lp, "--scores", sp, "--json",
            "--grad-out", gp]
    if kind == "probs":
        args += ["--scores-kind", "probs"]
    if t is not None:
        args += ["--threshold", repr(float(t))]
    if zd is not None:
        args += ["--zero-division", zd]
    wp = None
    if X is not None:
        xp, wp = os.path.join(d, "features.npy"), os.path.join(d, "wgrad.npy")
        np.save(xp, X)
        args += ["--features", xp, "--weight-grad-out", wp]
    t_eff = 0.5 if t is None else float(t)

    rc, out, err = run_cli(cli, args)
    if not chk.exact(name, "exit status", rc, 0):
        print(f"  command: {' '.join([cli] + args)}\n  stderr: {err.strip()}")
        return
    try:
        js = json.loads(out)
    except ValueError as exc:
        chk.exact(name, "stdout is JSON", f"{exc}: {out!r}", "one object")
        return

    ref = reference(y, s, kind, t_eff, X)
    yi, pred, n = ref["yi"], ref["pred"], len(ref["yi"])

    # Counts, exactly, against scikit-learn's confusion matrix.
    tn, fp, fn, tp = (int(v) for v in
                      confusion_matrix(yi, pred, labels=[0, 1]).ravel())
    chk.exact(name, "n", js.get("n"), n)
    chk.exact(name, "threshold", js.get("threshold"), t_eff)
    conf = js.get("confusion", {})
    for key, want in (("tp", tp), ("fp", fp), ("tn", tn), ("fn", fn)):
        chk.exact(name, f"confusion.{key}", conf.get(key), want)

    # Metrics: scikit-learn where defined, the zero-division value where the
    # ratio is 0/0.
    zdv, skz = zd_value(zd), sk_zero_division(zd)
    undefined = {
        "precision": tp + fp == 0,
        "recall": tp + fn == 0,
        "f1": tp + fp + fn == 0,
        "specificity": tn + fp == 0,
        "mcc": min(tp + fp, tp + fn, tn + fp, tn + fn) == 0,
        "roc_auc": tp + fn == 0 or tn + fp == 0,
        "average_precision": tp + fn == 0,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = {
            "accuracy": accuracy_score(yi, pred),
            "precision": precision_score(yi, pred, pos_label=1,
                                         zero_division=skz),
            "recall": recall_score(yi, pred, pos_label=1, zero_division=skz),
            "f1": f1_score(yi, pred, pos_label=1, zero_division=skz),
            "specificity": recall_score(yi, pred, pos_label=0,
                                        zero_division=skz),
            "balanced_accuracy": balanced_accuracy_score(yi, pred),
            "mcc": matthews_corrcoef(yi, pred),
        }
    for key, want in sk.items():
        want = float(want)
        if undefined.get(key):
            want = zdv
        chk.close(name, key, js.get(key), want, METRIC_TOL)
    chk.exact(name, "undefined", sorted(js.get("undefined", [])),
              sorted(k for k, v in undefined.items() if v))

    # Ranking: scikit-learn on the stored scores.
    check_binary_ranking(chk, name, js, yi, s)

    # Loss: NumPy float64 reference (and scikit-learn for probabilities
    # where its clipping agrees).
    loss = js.get("loss", {})
    tol = BCE_REL_TOL * ref["bce_abs"]
    chk.close(name, "loss.bce_sum", loss.get("bce_sum"), ref["bce_sum"], tol)
    chk.close(name, "loss.bce_mean", loss.get("bce_mean"), ref["bce_mean"],
              tol / n)
    if "bce_mean" in case:  # a value fixed by the numerics contract
        chk.exact(name, "loss.bce_mean (contract)", loss.get("bce_mean"),
                  case["bce_mean"])
    s32 = ref["s32"]
    if kind == "probs" and np.all((s32 >= EPS32) & (s32 <= 1 - EPS32)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            skl = float(log_loss(yi, s32, labels=[0, 1]))
        chk.close(name, "loss.bce_mean vs sklearn log_loss",
                  loss.get("bce_mean"), skl, 1e-6 * abs(skl))

    # Gradients.
    bias = js.get("gradient", {}).get("bias")
    chk.close(name, "gradient.bias", bias, ref["bias"],
              SUM_REL_TOL * ref["bias_scale"])
    g = np.load(gp)
    chk.exact(name, "grad file dtype/shape", (str(g.dtype), g.shape),
              ("float32", (n,)))
    chk.array(name, "grad", g, ref["g"], GRAD_TOL)
    if X is not None:
        w = np.load(wp)
        D = ref["wg"].shape[0]
        chk.exact(name, "weight grad file dtype/shape", (str(w.dtype), w.shape),
                  ("float32", (D,)))
        wtol = SUM_REL_TOL * ref["wg_scale"]
        chk.array(name, "weight_grad", w, ref["wg"], wtol)
        chk.array(name, "gradient.weights (JSON)",
                  js.get("gradient", {}).get("weights", []), ref["wg"], wtol)

    # PyTorch: BCEWithLogitsLoss (mean) and autograd for dL/dz, dL/dW, dL/db.
    if torch is not None and kind == "logits":
        if not np.all(np.isfinite(s32)):
            return  # BCEWithLogitsLoss is NaN at +-inf logits
        zt = torch.tensor(s32, dtype=torch.float64)
        yt = torch.tensor(yi.astype(np.float64))
        lossf = torch.nn.BCEWithLogitsLoss(reduction="mean")
        if X is None:
            zt.requires_grad_(True)
            lt = lossf(zt, yt)
            lt.backward()
            dz = zt.grad.numpy() * n
        else:
            Xt = torch.tensor(ref["X64"])
            gen = torch.Generator().manual_seed(7)
            W = torch.randn(Xt.shape[1], dtype=torch.float64, generator=gen,
                            requires_grad=True)
            b = torch.zeros((), dtype=torch.float64, requires_grad=True)
            lin = Xt @ W + b
            z = lin + (zt - lin).detach()  # value: the stored z; graph: XW+b
            z.retain_grad()
            lt = lossf(z, yt)
            lt.backward()
            dz = z.grad.numpy() * n
            chk.array(name, "torch dL/dW", w, W.grad.numpy(),
                      SUM_REL_TOL * ref["wg_scale"])
            chk.close(name, "torch dL/db", bias, float(b.grad),
                      SUM_REL_TOL * ref["bias_scale"])
        chk.close(name, "torch bce_mean", loss.get("bce_mean"),
                  float(lt.detach()), BCE_REL_TOL * ref["bce_abs"] / n)
        chk.array(name, "torch dL/dz", g, dz, GRAD_TOL)


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


EXTREME_LOGITS = np.array([100.0, -100.0, 88.7, -88.7, 0.0, -0.0, np.inf,
                           -np.inf])


def make_cases(rng):
    cases = []

    def add(name, y, s, **kw):
        cases.append(dict(name=name, y=y, s=s, **kw))

    def linear(n, d, pos_rate, dtype_x=np.float32):
        """Labels, features and logits of a noisy linear model."""
        X = rng.normal(size=(n, d)).astype(dtype_x)
        w = rng.normal(size=d)
        bias = math.log(pos_rate / (1 - pos_rate))
        z = X.astype(np.float64) @ w + bias + rng.normal(scale=1.5, size=n)
        y = (rng.random(n) < sigmoid(X.astype(np.float64) @ w + bias))
        return y, X, z

    def with_consistent_inf(z, y):
        """+inf logits get label 1 and -inf label 0, so the loss is
        finite."""
        y = y.copy()
        y[np.isposinf(z)] = 1
        y[np.isneginf(z)] = 0
        return y

    # N = 1.
    # z = +inf with y = 1 costs exactly 0; +inf with y = 0 (or -inf with
    # y = 1) costs +inf, which the JSON writes as 1e999.
    add("n1_pos_inf_y1", np.array([1], np.uint8),
        np.array([np.inf], np.float32), bce_mean=0.0)
    add("n1_pos_inf_y0", np.array([0], np.uint8),
        np.array([np.inf], np.float32), bce_mean=math.inf)
    add("n1_neg_inf_y1", np.array([1], np.uint8),
        np.array([-np.inf], np.float32), bce_mean=math.inf)
    add("n1_zero_logit", np.array([True]), np.array([0.0], np.float64),
        zd="nan")
    add("n1_prob_at_threshold", np.array([0], np.int64),
        np.array([0.25], np.float32), kind="probs", t=0.25, zd="1")
    add("n1_prob_one_features", np.array([1.0], np.float64),
        np.array([1.0], np.float32), kind="probs",
        X=np.array([[0.5, -2.0]], np.float32))

    # N = 7: extremes.
    z7 = np.array([100.0, -100.0, 88.7, -88.7, 0.0, -0.0, np.inf])
    add("n7_extremes_f32", np.array([1, 0, 0, 1, 1, 0, 1], np.uint8),
        z7.astype(np.float32), X=rng.normal(size=(7, 3)).astype(np.float32))
    add("n7_extremes_f64_bool",
        np.array([1, 0, 0, 1, 0, 1, 1], bool),
        np.array([np.inf, -np.inf, 100.0, -88.7, -0.0, 0.0, 88.7]))
    add("n7_infinite_loss", np.array([0, 0, 1, 1, 0, 1, 0], np.uint8),
        np.array([np.inf, -1.0, 2.0, -np.inf, 0.5, 88.7, -100.0],
                 np.float32), bce_mean=math.inf)
    add("n7_probs_edges", np.array([0, 1, 1, 0, 0, 1, 1], np.int64),
        np.array([0.0, 1.0, 0.5, 0.5, 1.0, 0.0, 0.3], np.float32),
        kind="probs")
    add("n7_probs_threshold_0.3_f64", np.array([0, 1, 0, 1, 0, 1, 0], np.uint8),
        np.array([0.3, 0.3, 0.0, 1.0, 0.2999999, 0.30000001, 0.7]),
        kind="probs", t=0.3, zd="0")
    all_neg_y = np.zeros(7, np.uint8)
    all_neg_z = -rng.random(7).astype(np.float32) - 0.01
    add("n7_all_negative_nan", all_neg_y, all_neg_z, zd="nan")
    add("n7_all_negative_one", all_neg_y, all_neg_z, zd="1")
    add("n7_all_negative_default", all_neg_y, all_neg_z)
    add("n7_all_positive", np.ones(7, np.int64),
        (rng.random(7) + 0.01).astype(np.float32), zd="nan")
    add("n7_threshold_0_logits", np.array([1, 0, 1, 0, 1, 0, 1], np.uint8),
        np.array([-np.inf, -100.0, -1.0, 0.0, 5.0, np.inf, -np.inf],
                 np.float32), t=0.0, zd="nan")
    add("n7_threshold_1_probs", np.array([1, 0, 1, 0, 1, 0, 1], np.uint8),
        np.array([1.0, 0.0, 0.999, 1.0, 0.5, 0.1, 1.0], np.float32),
        kind="probs", t=1.0, zd="nan")

    # N = 1000.
    y, X, z = linear(1000, 5, 0.5)
    add("n1000_balanced_logits_f32", y.astype(np.uint8), z.astype(np.float32),
        X=X)
    y, X, z = linear(1000, 2, 0.5, np.float64)
    add("n1000_balanced_logits_f64_bool_t0.7", y, z, t=0.7, X=X)
    y = (rng.random(1000) < 0.03)
    p = np.clip(0.6 * y + rng.beta(1.2, 6.0, size=1000) * 0.8, 0, 1)
    add("n1000_imbalanced_probs_f64_labels_f64_t0.1", y.astype(np.float64), p,
        kind="probs", t=0.1, zd="1")
    y, X, z = linear(1000, 3, 0.1)
    mask = rng.random(1000) < 0.1
    z[mask] = rng.choice(EXTREME_LOGITS, size=int(mask.sum()))
    y = with_consistent_inf(z, y)
    add("n1000_imbalanced_extremes_int64_t0.25", y.astype(np.int64),
        z.astype(np.float32), t=0.25, zd="nan", X=X)
    y = rng.random(1000) < 0.5
    # Half the probabilities sit exactly on 0, 1, the threshold or other
    # exact binary fractions; the rest are uniform.
    p = rng.choice(np.array([0.0, 0.5, 1.0, 0.25, 0.75], np.float32),
                   size=1000)
    p = np.where(rng.random(1000) < 0.5, p,
                 rng.random(1000).astype(np.float32)).astype(np.float32)
    add("n1000_probs_at_threshold_features", y.astype(np.uint8), p,
        kind="probs", t=0.5, X=rng.normal(size=(1000, 4)).astype(np.float32))

    # N = 100003.
    y, X, z = linear(100003, 4, 0.5)
    add("n100003_balanced_logits_f32", y.astype(np.uint8),
        z.astype(np.float32), X=X)
    y = rng.random(100003) < 0.01
    p = np.clip(0.5 * y + rng.beta(1.0, 8.0, size=100003), 0, 1)
    p[rng.random(100003) < 0.01] = 0.3
    p[rng.random(100003) < 0.001] = 0.0
    p[rng.random(100003) < 0.001] = 1.0
    add("n100003_imbalanced_probs_f64_int64_t0.3", y.astype(np.int64), p,
        kind="probs", t=0.3, zd="0")
    y, X, z = linear(100003, 1, 0.05)
    mask = rng.random(100003) < 0.01
    z[mask] = rng.choice(EXTREME_LOGITS, size=int(mask.sum()))
    y = with_consistent_inf(z, y)
    add("n100003_imbalanced_extremes_bool", y, z.astype(np.float32),
        zd="nan")
    return cases


# ---------------------------------------------------------------------------
# Multi-class
# ---------------------------------------------------------------------------


def nan_average(values, weights=None):
    """Mean of the non-NaN entries, weighted when `weights` is given (the
    plain mean when their weights are all zero); NaN when all are NaN, as
    scikit-learn >= 1.3's _nanaverage."""
    values = np.asarray(values, dtype=np.float64)
    keep = ~np.isnan(values)
    if not keep.any():
        return math.nan
    if weights is None:
        return float(np.mean(values[keep]))
    w = np.asarray(weights, dtype=np.float64)[keep]
    if w.sum() == 0:
        return float(np.mean(values[keep]))
    return float(np.average(values[keep], weights=w))


def none_to_nan(values):
    return [math.nan if v is None else v for v in values]


def nan_to_none(v):
    return None if v is not None and math.isnan(v) else v


def mc_reference(y, pred_file, s, kind, K, top_k):
    """Float64 reference inputs of a multi-class case: true labels, predicted
    labels (NumPy argmax of the scores as stored: the CLI's float32 copy of
    float64 scores keeps every row's argmax), cross-entropy and top-k hits
    (on the float32-rounded scores)."""
    yi = np.asarray(y).astype(np.int64)
    ref = {"yi": yi}
    if s is None:
        ref["pred"] = np.asarray(pred_file).astype(np.int64)
        return ref
    s32 = np.asarray(s).astype(np.float32).astype(np.float64)
    ref["s32"] = s32
    ref["pred"] = np.argmax(np.asarray(s), axis=1).astype(np.int64)
    rows = np.arange(len(yi))
    true_score = s32[rows, yi]
    if kind == "logits":
        m = np.max(s32, axis=1)
        lse = m + np.log(np.sum(np.exp(s32 - m[:, None]), axis=1))
        ce_i = lse - true_score
    else:
        ce_i = -np.log(np.clip(true_score, EPS32, 1.0))
    ref["ce_mean"] = math.fsum(ce_i) / len(yi)
    ref["ce_abs"] = math.fsum(np.abs(ce_i)) / len(yi)
    if top_k:
        above = np.sum(s32 > true_score[:, None], axis=1)
        ref["ties"] = int(np.sum(np.sum(s32 == true_score[:, None], axis=1)
                                 > 1))
        ref["top_k"] = float(np.mean(above < top_k))
    return ref


def check_mc_case(chk, cli, tmp, case):
    name = case["name"]
    y, K = case["y"], case["K"]
    pred, s = case.get("pred"), case.get("s")
    kind, zd, top_k = case.get("kind", "logits"), case.get("zd"), \
        case.get("top_k")
    d = os.path.join(tmp, name)
    os.makedirs(d)
    lp = os.path.join(d, "labels.npy")
    np.save(lp, y)
    args = ["multiclass", "--labels", lp, "--json"]
    if s is None:
        pp = os.path.join(d, "pred.npy")
        np.save(pp, pred)
        args += ["--pred", pp]
    else:
        sp = os.path.join(d, "scores.npy")
        np.save(sp, s)
        args += ["--scores", sp]
        if kind == "probs":
            args += ["--scores-kind", "probs"]
    if case.get("classes"):
        args += ["--classes", str(case["classes"])]
    if zd is not None:
        args += ["--zero-division", zd]
    if top_k:
        args += ["--top-k", str(top_k)]

    rc, out, err = run_cli(cli, args)
    if not chk.exact(name, "exit status", rc, 0):
        print(f"  command: {' '.join([cli] + args)}\n  stderr: {err.strip()}")
        return
    try:
        js = json.loads(out)
    except ValueError as exc:
        chk.exact(name, "stdout is JSON", f"{exc}: {out!r}", "one object")
        return

    ref = mc_reference(y, pred, s, kind, K, top_k)
    yi, yp, n = ref["yi"], ref["pred"], len(ref["yi"])
    labels = list(range(K))
    chk.exact(name, "task", js.get("task"), "multiclass")
    chk.exact(name, "n", js.get("n"), n)
    chk.exact(name, "classes", js.get("classes"), K)
    chk.exact(name, "zero_division", js.get("zero_division"),
              "0" if zd is None else zd)

    # Confusion matrix, exactly.
    cm = confusion_matrix(yi, yp, labels=labels)
    got_cm = js.get("confusion_matrix")
    try:
        got_cm = np.asarray(got_cm, dtype=np.int64)
    except (TypeError, ValueError):
        got_cm = np.zeros((0, 0), np.int64)
    if got_cm.shape != cm.shape:
        chk.exact(name, "confusion_matrix.shape", got_cm.shape, cm.shape)
    else:
        diff = np.argwhere(got_cm != cm)
        if len(diff):
            i, j = diff[0]
            chk.exact(name, f"confusion_matrix[{i}][{j}] ({len(diff)} cells "
                      "off)", int(got_cm[i, j]), int(cm[i, j]))
        else:
            chk.exact(name, "confusion_matrix", True, True)
    support = cm.sum(axis=1)
    predicted = cm.sum(axis=0)

    # Per-class metrics and averages.
    zdv, skz = zd_value(zd), sk_zero_division(zd)
    undef_p = predicted == 0
    undef_r = support == 0
    undef_f = (support + predicted) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, sup = precision_recall_fscore_support(
            yi, yp, labels=labels, average=None, zero_division=skz)
        avgs = {a: precision_recall_fscore_support(
            yi, yp, labels=labels, average=a, zero_division=skz)[:3]
            for a in ("macro", "micro", "weighted")}
        scalars = {
            "accuracy": accuracy_score(yi, yp),
            "balanced_accuracy": balanced_accuracy_score(yi, yp),
            "mcc": matthews_corrcoef(yi, yp),
            "cohen_kappa": cohen_kappa_score(yi, yp, labels=labels),
        }
    t_k, p_k = support.astype(np.float64), predicted.astype(np.float64)
    if zd == "nan":
        p = np.where(undef_p, math.nan, p)
        r = np.where(undef_r, math.nan, r)
        f = np.where(undef_f, math.nan, f)
        avgs["macro"] = tuple(nan_average(v) for v in (p, r, f))
        avgs["weighted"] = tuple(nan_average(v, support) for v in (p, r, f))
    if (n * n - p_k @ p_k == 0) or (n * n - t_k @ t_k == 0):
        scalars["mcc"] = zdv  # 0/0: scikit-learn says 0
    if n - (t_k @ p_k) / n == 0:
        scalars["cohen_kappa"] = zdv  # 0/0: scikit-learn says nan

    per = js.get("per_class") or []
    if chk.exact(name, "per_class length", len(per), K):
        chk.exact(name, "per_class.label", [c.get("label") for c in per],
                  labels)
        chk.exact(name, "per_class.support",
                  [c.get("support") for c in per], [int(v) for v in sup])
        if "predicted" in per[0]:
            chk.exact(name, "per_class.predicted",
                      [c.get("predicted") for c in per],
                      [int(v) for v in predicted])
        for key, want, und in (("precision", p, undef_p),
                               ("recall", r, undef_r), ("f1", f, undef_f)):
            got = [c.get(key) for c in per]
            if zd == "nan":
                chk.exact(name, f"per_class.{key} nulls",
                          [i for i, v in enumerate(got) if v is None],
                          [int(i) for i in np.flatnonzero(und)])
            chk.array(name, f"per_class.{key}", none_to_nan(got), want,
                      METRIC_TOL)
    for a, vals in avgs.items():
        obj = js.get(a) or {}
        for key, want in zip(("precision", "recall", "f1"), vals):
            chk.close(name, f"{a}.{key}", obj.get(key),
                      nan_to_none(float(want)), METRIC_TOL)
    for key, want in scalars.items():
        want = None if want is None else float(want)
        chk.close(name, key, js.get(key), nan_to_none(want), METRIC_TOL)

    # Ranking: per class one-vs-rest and the averages.
    if s is not None:
        check_mc_ranking(chk, name, js, yi, s, kind, K)

    # Loss and top-k accuracy.
    loss = js.get("loss")
    if s is None:
        chk.exact(name, "no loss without scores", loss, None)
        return
    ce = (loss or {}).get("cross_entropy_mean")
    tol = CE_REL_TOL * max(ref["ce_abs"], 1e-300)
    chk.close(name, "loss.cross_entropy_mean", ce, ref["ce_mean"], tol)
    if torch is not None and kind == "logits":
        tl = torch.nn.functional.cross_entropy(
            torch.tensor(ref["s32"], dtype=torch.float64),
            torch.tensor(yi, dtype=torch.long), reduction="mean")
        chk.close(name, "torch cross_entropy", ce, float(tl), tol)
    if top_k:
        chk.exact(name, "reference top-k inputs have no ties", ref["ties"], 0)
        got = js.get("top_k_accuracy")
        chk.close(name, "top_k_accuracy", got, ref["top_k"], METRIC_TOL)
        if K > 2:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                skk = top_k_accuracy_score(yi, ref["s32"], k=top_k,
                                           labels=labels)
            chk.close(name, "top_k_accuracy vs sklearn", got, float(skk),
                      METRIC_TOL)
    else:
        chk.exact(name, "no top_k_accuracy unless asked",
                  "top_k_accuracy" in js, False)


def untie_true(s, y):
    """Raises each row's true-class score to the next float32 above any
    other score equal to it, so that top-k counts have no ties."""
    s = np.array(s, dtype=np.float32)
    rows = np.arange(len(y))
    while True:
        t = s[rows, y]
        tied = np.sum(s == t[:, None], axis=1) > 1
        if not tied.any():
            return s
        idx = np.flatnonzero(tied)
        s[idx, y[idx]] = np.nextafter(t[idx], np.float32(np.inf))


def make_mc_cases(rng):
    cases = []

    def add(name, y, K, **kw):
        cases.append(dict(name=name, y=y, K=K, **kw))

    def priors(K, skew):
        if not skew:
            return np.full(K, 1.0 / K)
        w = 1.0 / np.arange(1, K + 1) ** 1.3  # Zipf-like
        w = rng.permutation(w)
        return w / w.sum()

    def labels(n, K, skew=False):
        return rng.choice(K, size=n, p=priors(K, skew))

    def noisy_pred(y, K, acc, skew=False):
        """Right with probability acc, else a class drawn from the
        priors."""
        wrong = labels(len(y), K, skew)
        return np.where(rng.random(len(y)) < acc, y, wrong)

    def logits(y, K, signal=2.0, scale=1.0):
        z = rng.normal(scale=scale, size=(len(y), K))
        z[np.arange(len(y)), y] += signal
        return z

    def probs(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    # Hand-sized: classes absent from the predictions and from the truth.
    y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 2], np.int64)
    p = np.array([0, 0, 1, 1, 1, 1, 2, 2, 0, 0], np.int64)
    add("mc_k3_n10_int64", y, 3, pred=p)
    y7 = np.array([0, 1, 1, 2, 0, 1, 2], np.int32)
    p7 = np.array([0, 1, 1, 1, 0, 0, 1], np.int32)  # class 2 never predicted
    for zd in ("0", "1", "nan"):
        add(f"mc_k3_n7_unpredicted_class_zd{zd}", y7, 3, pred=p7, zd=zd)
    # --classes 5: classes 3, 4 absent from both; 2 only in predictions.
    y6 = np.array([0, 1, 0, 1, 1, 0], np.uint8)
    p6 = np.array([0, 2, 0, 1, 2, 1], np.uint8)
    for zd in ("0", "1", "nan"):
        add(f"mc_k5_n6_absent_classes_zd{zd}", y6, 5, pred=p6, classes=5,
            zd=zd)
    # All true labels one class: MCC and kappa 0/0 unless predictions vary.
    add("mc_k4_one_true_class_zdnan", np.zeros(9, np.int64), 4,
        pred=np.zeros(9, np.int64), classes=4, zd="nan")
    add("mc_k4_one_true_class_zd1", np.zeros(9, np.int64), 4,
        pred=np.array([0, 0, 1, 0, 3, 0, 0, 0, 0], np.int64), zd="1")

    # Predicted labels, larger N, every label dtype.
    y = labels(1001, 2)
    add("mc_k2_uniform_n1001_int64", y.astype(np.int64), 2,
        pred=noisy_pred(y, 2, 0.7).astype(np.int64))
    y = labels(100003, 3, skew=True)
    add("mc_k3_skewed_n100003_int32_uint8", y.astype(np.int32), 3,
        pred=noisy_pred(y, 3, 0.6, skew=True).astype(np.uint8), zd="1")
    y = labels(200000, 10)
    add("mc_k10_uniform_n200000_uint8", y.astype(np.uint8), 10,
        pred=noisy_pred(y, 10, 0.5).astype(np.uint8))
    # K = 10 with class 7 never true and class 3 never predicted, in
    # integral float64, plus two classes absent from both (--classes 12).
    y = labels(54321, 10, skew=True)
    y[y == 7] = 0
    p = noisy_pred(y, 10, 0.55)
    p[p == 3] = 4
    for zd in ("0", "1", "nan"):
        add(f"mc_k12_absent_f64_zd{zd}", y.astype(np.float64), 12,
            pred=p.astype(np.float64), classes=12, zd=zd)
    y = labels(199999, 100, skew=True)
    add("mc_k100_skewed_n199999_int64_int32", y.astype(np.int64), 100,
        pred=noisy_pred(y, 100, 0.4, skew=True).astype(np.int32), zd="1")
    y = labels(200000, 1000)
    add("mc_k1000_uniform_n200000_int32", y.astype(np.int32), 1000,
        pred=noisy_pred(y, 1000, 0.3).astype(np.int32), zd="0")
    y = labels(50001, 1000, skew=True)  # many classes absent
    add("mc_k1000_skewed_n50001_int64_nan", y.astype(np.int64), 1000,
        pred=noisy_pred(y, 1000, 0.3, skew=True).astype(np.int64),
        classes=1000, zd="nan")

    # Scores: logits (float32, float64) and probabilities.
    y = labels(5003, 2)
    add("mc_k2_logits_f32_top1", y.astype(np.int64), 2,
        s=untie_true(logits(y, 2), y), top_k=1)
    y = labels(20011, 3, skew=True)
    z = untie_true(logits(y, 3, signal=1.0), y).astype(np.float64)
    add("mc_k3_logits_f64_top2", y.astype(np.int32), 3, s=z, top_k=2,
        zd="1")
    y = labels(10007, 3)
    pr = probs(logits(y, 3, signal=1.5))
    onehot = rng.random(len(y)) < 0.02  # confident, sometimes wrong: p = 0
    pr[onehot] = np.eye(3)[rng.integers(0, 3, size=int(onehot.sum()))]
    add("mc_k3_probs_f32_with_zeros", y.astype(np.uint8), 3,
        s=pr.astype(np.float32), kind="probs")
    y = labels(50000, 10, skew=True)
    add("mc_k10_skewed_logits_f32_top3", y.astype(np.int64), 10,
        s=untie_true(logits(y, 10, signal=1.5, scale=3.0), y), top_k=3)
    y = labels(20001, 10)
    pr = probs(logits(y, 10, signal=1.0))
    add("mc_k10_probs_f64_top5_nan", y.astype(np.float64), 10,
        s=untie_true(pr, y).astype(np.float64), kind="probs", top_k=5,
        zd="nan")
    # Quantized logits: many ties, so argmax must pick the lowest index.
    y = labels(10000, 10)
    zq = np.round(logits(y, 10, signal=0.5)).astype(np.float32)
    zq[:100] = 1.0  # whole rows tied: prediction 0
    add("mc_k10_tied_logits_argmax", y.astype(np.int32), 10, s=zq)
    y = labels(20000, 100, skew=True)
    add("mc_k100_logits_f32_top5", y.astype(np.int64), 100,
        s=untie_true(logits(y, 100, signal=3.0, scale=2.0), y), top_k=5)
    y = labels(2003, 1000)
    add("mc_k1000_logits_f64_top10_nan", y.astype(np.int64), 1000,
        s=untie_true(logits(y, 1000, signal=4.0, scale=1.5), y)
        .astype(np.float64), top_k=10, zd="nan")
    y = labels(2000, 1000, skew=True)
    add("mc_k1000_probs_f32_top1", y.astype(np.int32), 1000,
        s=untie_true(probs(logits(y, 1000, signal=5.0)).astype(np.float32),
                     y), kind="probs", top_k=1, zd="1")
    return cases

# ---------------------------------------------------------------------------
# Ranking: ROC-AUC, average precision, curves
# ---------------------------------------------------------------------------


RANK_REL_TOL = 1e-9  # exact values against scikit-learn's float64 sums
RANK_SOFTMAX_REL_TOL = 1e-6  # multi-class logits: a float32 softmax each


def finite_scores(s):
    """float64 copy of stored scores with +inf / -inf replaced by finite
    values above / below all others (the same order and ties: scikit-learn
    rejects infinities); returns (scores, value for +inf, value for -inf)."""
    r = np.array(s, dtype=np.float64)
    fin = r[np.isfinite(r)]
    hi = float(fin.max()) if fin.size else 0.0
    lo = float(fin.min()) if fin.size else 0.0
    step = max(hi - lo, abs(hi), abs(lo), 1.0)
    big, small = hi + step, lo - step
    r[np.isposinf(r)] = big
    r[np.isneginf(r)] = small
    return r, big, small


def sk_ranking(y01, s):
    """scikit-learn's (roc_auc, average_precision) of 0/1 labels and stored
    scores; None where undefined."""
    y01 = np.asarray(y01).astype(np.int64)
    r = finite_scores(s)[0]
    pos = int(y01.sum())
    neg = len(y01) - pos
    auc = float(roc_auc_score(y01, r)) if pos and neg else None
    ap = float(average_precision_score(y01, r)) if pos else None
    return auc, ap


def close_rel(chk, case, key, got, want, rel):
    tol = 0.0 if want is None else rel * abs(want)
    return chk.close(case, key, got, want, tol, f"rel {rel:g}")


def check_binary_ranking(chk, name, js, yi, s):
    auc, ap = sk_ranking(yi, s)
    close_rel(chk, name, "roc_auc", js.get("roc_auc", "missing"), auc,
              RANK_REL_TOL)
    close_rel(chk, name, "average_precision",
              js.get("average_precision", "missing"), ap, RANK_REL_TOL)


def softmax32(z):
    """Row softmax in float32 as the library computes it: z - max in
    float32, exp rounded to float32, the sum accumulated column by column."""
    z = np.asarray(z).astype(np.float32)
    m = z.max(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        d = z - m
        e = np.exp(d.astype(np.float64)).astype(np.float32)
    e[z == m] = 1.0
    total = np.zeros(len(z), np.float32)
    for j in range(z.shape[1]):
        total += e[:, j]
    return e / total[:, None]


def mc_rank_reference(yi, s, kind, K):
    """Per-class (auc, ap) lists (None where undefined), the macro and
    weighted averages over the defined classes, and the ranked matrix."""
    p = softmax32(s) if kind == "logits" else np.asarray(s)
    aucs, aps = [], []
    for c in range(K):
        a, b = sk_ranking(yi == c, p[:, c])
        aucs.append(a)
        aps.append(b)
    pos = np.bincount(yi, minlength=K).astype(np.float64)

    def averages(vals):
        keep = [i for i, v in enumerate(vals) if v is not None]
        if not keep:
            return None, None
        v = np.array([vals[i] for i in keep])
        return float(np.mean(v)), float(np.average(v, weights=pos[keep]))

    return aucs, aps, averages(aucs), averages(aps), p


def check_mc_ranking(chk, name, js, yi, s, kind, K):
    rel = RANK_SOFTMAX_REL_TOL if kind == "logits" else RANK_REL_TOL
    aucs, aps, auc_avg, ap_avg, p = mc_rank_reference(yi, s, kind, K)
    per = js.get("per_class") or [{}] * K
    for key, want in (("roc_auc", aucs), ("average_precision", aps)):
        got = [c.get(key, "missing") for c in per]
        chk.exact(name, f"per_class.{key} nulls",
                  [i for i, v in enumerate(got) if v is None],
                  [i for i, v in enumerate(want) if v is None])
        want = np.array(none_to_nan(want), dtype=np.float64)
        tol = rel * np.nan_to_num(np.abs(want))
        chk.array(name, f"per_class.{key}",
                  [v if isinstance(v, (int, float)) and not isinstance(v, bool)
                   else math.nan for v in got],
                  want, tol)
    for key, avg in (("roc_auc", auc_avg), ("average_precision", ap_avg)):
        obj = js.get(key) or {}
        close_rel(chk, name, f"{key}.macro", obj.get("macro", "missing"),
                  avg[0], rel)
        close_rel(chk, name, f"{key}.weighted",
                  obj.get("weighted", "missing"), avg[1], rel)
    # scikit-learn's own one-vs-rest averages where it defines them: K > 2,
    # every class present, rows summing to 1.
    if K > 2 and all(a is not None for a in aucs) and \
            np.allclose(1, p.sum(axis=1)):
        obj = js.get("roc_auc") or {}
        for avg in ("macro", "weighted"):
            want = float(roc_auc_score(yi, p, multi_class="ovr",
                                       average=avg))
            close_rel(chk, name, f"roc_auc.{avg} vs roc_auc_score(ovr)",
                      obj.get(avg), want, rel)


def read_curve(path):
    """A curve CSV as (header, {column: float64 array})."""
    with open(path) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for line in f if line.strip()]
    cols = {h: np.array([float(r[i]) for r in rows], dtype=np.float64)
            for i, h in enumerate(header)}
    return header, cols


def sk_curves(y01, s):
    """scikit-learn's full ROC and PR curves in the CLI's row order:
    (thresholds, fpr, tpr) and (thresholds, precision, recall), each
    starting with the threshold-less point as threshold inf."""
    r, big, small = finite_scores(s)
    fpr, tpr, thr = roc_curve(y01, r, drop_intermediate=False)
    thr = np.array(thr, dtype=np.float64)
    thr[thr == big] = np.inf
    thr[thr == small] = -np.inf
    thr[0] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prec, rec, pthr = precision_recall_curve(y01, r)
    pthr = np.array(pthr, dtype=np.float64)[::-1]
    pthr[pthr == big] = np.inf
    pthr[pthr == small] = -np.inf
    return ((thr, fpr, tpr),
            (np.r_[np.inf, pthr], prec[::-1], rec[::-1]))


def check_curve_file(chk, name, what, cols, names, want):
    """The rows equal scikit-learn's points exactly (NaN equals NaN; the
    thresholds as values, so -0.0 equals +0.0)."""
    for col, w in zip(names, want):
        chk.array(name, f"{what}.{col}", cols.get(col, []), w, 0.0)


def check_curve_subset(chk, name, what, cols, names, want, max_rows):
    """At most max_rows rows, the leading threshold-less row, the first and
    last points of the full curve, and every row one of its points."""
    got = [cols.get(c, np.zeros(0)) for c in names]
    nrows = len(got[0])
    chk.exact(name, f"{what} rows <= {max_rows}", nrows <= max_rows, True)
    if nrows < 3:
        chk.exact(name, f"{what} rows >= 3", nrows, ">= 3")
        return
    rows = list(zip(*[g.tolist() for g in got]))
    full = list(zip(*[w.tolist() for w in want]))
    chk.exact(name, f"{what} first row", rows[0], full[0])
    chk.exact(name, f"{what} first point", rows[1], full[1])
    chk.exact(name, f"{what} last point", rows[-1], full[-1])
    index = {p[0]: p for p in full}
    stray = [r for r in rows if index.get(r[0]) != r]
    chk.exact(name, f"{what} rows are curve points", stray[:3], [])
    thr = [r[0] for r in rows[1:]]
    chk.exact(name, f"{what} thresholds descending",
              all(a > b for a, b in zip(thr, thr[1:])), True)


def run_ranking_cli(cli, d, y, s, extra=(), multi=False, kind=None):
    os.makedirs(d, exist_ok=True)
    lp, sp = os.path.join(d, "labels.npy"), os.path.join(d, "scores.npy")
    np.save(lp, y)
    np.save(sp, s)
    args = ["multiclass" if multi else "binary", "--labels", lp, "--scores",
            sp, "--json"] + list(extra)
    if kind == "probs":
        args += ["--scores-kind", "probs"]
    rc, out, err = run_cli(cli, args)
    js = None
    if rc == 0:
        try:
            js = json.loads(out)
        except ValueError:
            js = None
    return rc, js, err, args


def check_ranking_case(chk, cli, tmp, case):
    """A binary ranking case: values against scikit-learn, the curves in
    full (--curve-points above n) and, with small_m, thinned."""
    name, y, s = case["name"], case["y"], case["s"]
    d = os.path.join(tmp, name)
    roc_p, pr_p = os.path.join(d, "roc.csv"), os.path.join(d, "pr.csv")
    n = len(y)
    extra = ["--roc-out", roc_p, "--pr-out", pr_p,
             "--curve-points", str(case.get("curve_points", n + 7))]
    rc, js, err, args = run_ranking_cli(cli, d, y, s, extra,
                                        kind=case.get("kind"))
    if not chk.exact(name, "exit status", rc, 0) or js is None:
        print(f"  command: {' '.join([cli] + args)}\n  stderr: {err.strip()}")
        return
    yi = np.asarray(y).astype(np.int64)
    check_binary_ranking(chk, name, js, yi, s)
    pos, neg = int(yi.sum()), n - int(yi.sum())
    undef = set(js.get("undefined", []))
    chk.exact(name, "roc_auc in undefined", "roc_auc" in undef,
              pos == 0 or neg == 0)
    chk.exact(name, "average_precision in undefined",
              "average_precision" in undef, pos == 0)
    chk.exact(name, "ROC-AUC warning on stderr",
              "ROC-AUC is undefined" in err, pos == 0 or neg == 0)
    chk.exact(name, "average precision warning on stderr",
              "average precision is undefined" in err, pos == 0)
    if "passes_above" in case:
        passes = (js.get("timing") or {}).get("ranking_passes", 0)
        chk.exact(name, f"timing.ranking_passes > {case['passes_above']}",
                  passes > case["passes_above"], True)
    if pos == 0 or neg == 0:
        return
    roc_want, pr_want = sk_curves(yi, s)
    roc_h, roc = read_curve(roc_p)
    pr_h, pr = read_curve(pr_p)
    chk.exact(name, "roc header", roc_h, ["threshold", "fpr", "tpr"])
    chk.exact(name, "pr header", pr_h, ["threshold", "precision", "recall"])
    roc_names = ("threshold", "fpr", "tpr")
    pr_names = ("threshold", "precision", "recall")
    m = case.get("curve_points", n + 7)
    if m > len(roc_want[0]):
        check_curve_file(chk, name, "roc", roc, roc_names, roc_want)
        check_curve_file(chk, name, "pr", pr, pr_names, pr_want)
    else:
        check_curve_subset(chk, name, "roc", roc, roc_names, roc_want, m + 1)
        check_curve_subset(chk, name, "pr", pr, pr_names, pr_want, m + 1)


def make_ranking_cases(rng):
    cases = []

    def add(name, y, s, **kw):
        cases.append(dict(name=name, y=y, s=s, **kw))

    n = 50000
    y = (rng.random(n) < 0.3).astype(np.uint8)
    add("rank_heavy_ties_f32", y,
        np.round(rng.normal(size=n) * 2 + y).astype(np.float32))
    y = rng.random(20000) < 0.5
    add("rank_three_values_probs_f64", y,
        rng.choice(np.array([0.0, 0.5, 1.0]), size=20000), kind="probs")
    add("rank_all_equal_f32", (rng.random(1001) < 0.4).astype(np.int64),
        np.full(1001, 0.25, np.float32))
    for dt in (np.float32, np.float64):
        n = 20000
        y = (rng.random(n) < 0.2).astype(np.uint8)
        z = (rng.normal(size=n) + 1.5 * y).astype(dt)
        z[rng.random(n) < 0.03] = np.inf
        z[rng.random(n) < 0.03] = -np.inf
        z[rng.random(n) < 0.01] = 0.0
        add(f"rank_inf_logits_{np.dtype(dt).name}", y, z)
    y = (rng.random(10000) < 0.5).astype(np.uint8)
    zs = rng.choice(np.array([-0.0, 0.0, 1e-30, -1e-30, 1.0], np.float32),
                    size=10000)
    add("rank_signed_zeros_f32", y, zs)
    add("rank_signed_zeros_f64", y, zs.astype(np.float64))
    n = 30000
    y = (rng.random(n) < 0.4).astype(np.uint8)
    z = 0.5 + rng.integers(0, 3000, n) * 1e-12 + y * 5e-13
    add("rank_f64_1e-12_apart", y, z, kind="probs")
    add("rank_single_class_negative", np.zeros(777, np.uint8),
        rng.normal(size=777).astype(np.float32))
    add("rank_single_class_positive", np.ones(777, np.int64),
        rng.normal(size=777).astype(np.float32))
    n = 10007
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = rng.normal(size=n).astype(np.float32) + y
    add("rank_curve_points_5", y, z, curve_points=5)
    add("rank_curve_points_2", y, z, curve_points=2)
    y = (rng.random(n) < 0.3).astype(np.uint8)
    add("rank_curve_points_100_ties", y,
        np.round(rng.normal(size=n) * 30 + 20 * y).astype(np.float32),
        curve_points=100)
    return cases


def check_ranking_budget(chk, cli, tmp, rng):
    """A 64 KiB budget over 200000 distinct float64 scores: several passes,
    the same values as the default budget and as scikit-learn."""
    name = "rank_budget_64K_n200000"
    n = 200000
    y = (rng.random(n) < 0.3).astype(np.uint8)
    z = rng.normal(size=n) + 0.7 * y
    d = os.path.join(tmp, name)
    rc0, js0, err0, _ = run_ranking_cli(cli, d, y, z)
    rc1, js1, err1, args = run_ranking_cli(cli, d, y, z,
                                           ["--ranking-memory", "64K"])
    if not (chk.exact(name, "exit status (default)", rc0, 0)
            and chk.exact(name, "exit status (64K)", rc1, 0)):
        print(f"  command: {' '.join([cli] + args)}\n  stderr: "
              f"{(err0 + err1).strip()}")
        return
    check_binary_ranking(chk, name, js1, y, z)
    for key in ("roc_auc", "average_precision"):
        chk.exact(name, f"{key} with 64K == default budget", js1.get(key),
                  js0.get(key))
    passes = (js1.get("timing") or {}).get("ranking_passes", 0)
    chk.exact(name, "timing.ranking_passes > 2 with 64K", passes > 2, True)


def check_mc_ranking_curves(chk, cli, tmp, rng):
    """Multi-class curves: each class's rows against scikit-learn's curves
    of that class against the rest (probabilities, and logits through the
    float32 softmax)."""
    for kind in ("probs", "logits"):
        name = f"rank_mc_k4_curves_{kind}"
        n, K = 5000, 4
        y = rng.integers(0, K, n).astype(np.int32)
        z = rng.normal(size=(n, K)).astype(np.float32)
        z[np.arange(n), y] += 1.0
        z = np.round(z, 1)  # ties
        s = softmax32(z) if kind == "probs" else z
        d = os.path.join(tmp, name)
        roc_p, pr_p = os.path.join(d, "roc.csv"), os.path.join(d, "pr.csv")
        rc, js, err, args = run_ranking_cli(
            cli, d, y, s, ["--roc-out", roc_p, "--pr-out", pr_p,
                           "--curve-points", str(n + 1)],
            multi=True, kind=kind)
        if not chk.exact(name, "exit status", rc, 0) or js is None:
            print(f"  command: {' '.join([cli] + args)}\n  stderr: "
                  f"{err.strip()}")
            continue
        check_mc_ranking(chk, name, js, y.astype(np.int64), s, kind, K)
        p = softmax32(s) if kind == "logits" else s
        roc_h, roc = read_curve(roc_p)
        pr_h, pr = read_curve(pr_p)
        chk.exact(name, "roc header", roc_h,
                  ["class", "threshold", "fpr", "tpr"])
        chk.exact(name, "pr header", pr_h,
                  ["class", "threshold", "precision", "recall"])
        for c in range(K):
            roc_want, pr_want = sk_curves((y == c).astype(np.int64), p[:, c])
            rsel = {k: v[roc.get("class", np.zeros(0)) == c]
                    for k, v in roc.items()}
            psel = {k: v[pr.get("class", np.zeros(0)) == c]
                    for k, v in pr.items()}
            if kind == "probs":
                check_curve_file(chk, name, f"class {c} roc", rsel,
                                 ("threshold", "fpr", "tpr"), roc_want)
                check_curve_file(chk, name, f"class {c} pr", psel,
                                 ("threshold", "precision", "recall"),
                                 pr_want)
            else:
                # The device's softmax may round a value one float32 step
                # away: compare the number of points and the rates loosely.
                for what, sel, names, want in (
                        ("roc", rsel, ("threshold", "fpr", "tpr"), roc_want),
                        ("pr", psel, ("threshold", "precision", "recall"),
                         pr_want)):
                    got_t = sel.get("threshold", np.zeros(0))
                    if not chk.exact(name, f"class {c} {what} points",
                                     len(got_t), len(want[0])):
                        continue
                    for col, w in zip(names, want):
                        tol = RANK_SOFTMAX_REL_TOL * np.where(
                            np.isfinite(w), np.abs(w), 0)
                        chk.array(name, f"class {c} {what}.{col}", sel[col],
                                  w, tol)


def strip_timing(text):
    obj = json.loads(text)
    obj.pop("timing", None)
    return json.dumps(obj, sort_keys=True)


def check_determinism(chk, cli, tmp, rng):
    """Repeated runs give bit-identical JSON (timing aside), for any
    work-group size the device may use the counts are the same, and a
    chunked run gives the same counts."""
    n, K = 300007, 12
    y = (rng.random(n) < 0.4).astype(np.uint8)
    z = rng.normal(size=n).astype(np.float32) * 3
    yt = rng.integers(0, K, n).astype(np.int32)
    s = rng.normal(size=(n, K)).astype(np.float32)
    paths = {}
    for name, arr in [("y", y), ("z", z), ("yt", yt), ("s", s)]:
        paths[name] = os.path.join(tmp, f"det_{name}.npy")
        np.save(paths[name], arr)
    runs = {
        "binary": ["binary", "--labels", paths["y"], "--scores", paths["z"],
                   "--json"],
        "multiclass": ["multiclass", "--labels", paths["yt"], "--scores",
                       paths["s"], "--top-k", "3", "--json"],
    }
    for task, args in runs.items():
        outs = []
        for _ in range(3):
            rc, out, err = run_cli(cli, args)
            chk.exact(f"determinism/{task}", "exit", rc, 0)
            outs.append(strip_timing(out) if rc == 0 else err)
        chk.exact(f"determinism/{task}", "identical JSON over 3 runs",
                  outs[0] == outs[1] == outs[2], True)
        env = dict(os.environ, CLMETRICS_CHUNK="4099")
        proc = subprocess.run([cli] + args, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env,
                              timeout=300)
        if proc.returncode == 0:
            a, b = json.loads(outs[0]), json.loads(proc.stdout)
            key = "confusion" if task == "binary" else "confusion_matrix"
            chk.exact(f"determinism/{task}", "counts with 4099-sample chunks",
                      a[key], b[key])
        else:
            chk.exact(f"determinism/{task}", "chunked exit", proc.returncode,
                      0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cli", required=True, help="path of the clmetrics CLI")
    ap.add_argument("--keep", action="store_true",
                    help="keep the temporary directory")
    opts = ap.parse_args()
    if not os.access(opts.cli, os.X_OK):
        print(f"crosscheck: {opts.cli} is not an executable")
        return 1
    if TORCH_NOTE:
        print(f"crosscheck: note: {TORCH_NOTE}")
    else:
        print(f"crosscheck: PyTorch {torch.__version__} found: checking "
              "BCEWithLogitsLoss and autograd too")
    rng = np.random.default_rng(20240611)
    chk = Checker()
    tmp = tempfile.mkdtemp(prefix="clm_crosscheck.")
    try:
        work = [(c, check_case) for c in make_cases(rng)]
        work += [(c, check_mc_case) for c in make_mc_cases(rng)]
        work += [(c, check_ranking_case) for c in make_ranking_cases(rng)]
        for case, check in work:
            failed, total = chk.failed, chk.passed + chk.failed
            check(chk, opts.cli, tmp, case)
            status = "ok" if chk.failed == failed else "FAILED"
            count = chk.passed + chk.failed - total
            print(f"  {case['name']}: {status} ({count} comparisons)")
        for label, check in (("rank_budget_64K_n200000", check_ranking_budget),
                             ("rank_mc_k4_curves", check_mc_ranking_curves)):
            failed, total = chk.failed, chk.passed + chk.failed
            check(chk, opts.cli, tmp, rng)
            status = "ok" if chk.failed == failed else "FAILED"
            count = chk.passed + chk.failed - total
            print(f"  {label}: {status} ({count} comparisons)")
        failed = chk.failed
        check_determinism(chk, opts.cli, tmp, rng)
        print("  determinism: " + ("ok" if chk.failed == failed else "FAILED"))
    finally:
        if opts.keep:
            print(f"crosscheck: inputs kept in {tmp}")
        else:
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
