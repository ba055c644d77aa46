"""sample_weight in the classification, score and ranking metrics, against
scikit-learn 1.2 with the same weights.

Tolerances. The device reads weights as float32 (the weighted confusion
matrix is then summed in float64 in row order on the host). With float64
weights each weight is rounded by at most 2^-24 relative, so every sum of
weights (a confusion cell, a support) is within 2^-24 relative of
scikit-learn's, and ratios of such sums within 2 * 2^-24: tests hold sums
and ratios to the brief's relative 1e-5 (and 1e-6 absolute for the
differences MCC and kappa subtract, whose terms are at most 1). With
weights that are float32 numbers the weights are identical, so only the
order of float64 additions differs: relative 1e-12. Ranking with such
weights runs in long double on the host: relative 1e-9 (the brief's bound;
the library documents about 1e-13).
"""

import pickle
import warnings

import numpy as np
import pytest

import clmetrics as cm
from clmetrics import _core

sk = pytest.importorskip("sklearn.metrics")

RNG = np.random.default_rng(20261202)


def _quiet(f, *a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return f(*a, **k)


def outcome(f, *a, **k):
    """f's result, or the type of the exception it raised."""
    try:
        return _quiet(f, *a, **k)
    except (ZeroDivisionError, ValueError) as exc:
        return type(exc)


def close(a, b, rel, abs_=0.0):
    if isinstance(b, type):
        assert a is b
    elif isinstance(b, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, rel, abs_)
    elif b is None:
        assert a is None
    else:
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float),
                                   rtol=rel, atol=abs_)


def weight_sets(n):
    """(name, weights, rel): random float64, float32 numbers, with zeros, one
    huge weight, integers."""
    w = RNG.random(n) * 3
    w32 = w.astype(np.float32).astype(np.float64)
    zeros = w32.copy()
    zeros[RNG.random(n) < 0.3] = 0
    huge = w32.copy()
    huge[n // 2] = 1e6
    ints = RNG.integers(0, 5, n)
    return [
        ("float64", w, 1e-5),
        ("float32-exact", w32, 1e-12),
        ("zeros", zeros, 1e-12),
        ("huge", huge, 1e-12),
        ("int", ints, 1e-12),
    ]


def labels_for(kind, n):
    if kind == "binary":
        return RNG.integers(0, 2, n), RNG.integers(0, 2, n)
    if kind == "multiclass":
        t = RNG.integers(0, 5, n)
        p = np.where(RNG.random(n) < 0.5, t, RNG.integers(0, 5, n))
        return t, p
    t = RNG.choice(np.array(["ant", "bee", "cat"]), n)
    p = np.where(RNG.random(n) < 0.6, t, RNG.choice(np.array(["ant", "bee", "cat"]), n))
    return t, p


# ---------------------------------------------------------------------------
# Classification metrics
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["binary", "multiclass", "strings"])
@pytest.mark.parametrize("n", [1, 7, 257, 10007])
def test_classification_weighted(kind, n):
    t, p = labels_for(kind, n)
    for name, w, rel in weight_sets(n):
        abs_ = 1e-6 if rel > 1e-9 else 1e-12
        ctx = f"{kind} n={n} weights={name}"
        cmat = cm.confusion_matrix(t, p, sample_weight=w)
        smat = sk.confusion_matrix(t, p, sample_weight=w)
        assert cmat.dtype == smat.dtype, ctx
        close(cmat, smat, rel)
        for norm in ("true", "pred", "all"):
            close(_quiet(cm.confusion_matrix, t, p, sample_weight=w, normalize=norm),
                  _quiet(sk.confusion_matrix, t, p, sample_weight=w, normalize=norm),
                  rel, abs_)
        averages = [None, "micro", "macro", "weighted"]
        if kind == "binary":
            averages.append("binary")
        for avg in averages:
            for f in ("precision_recall_fscore_support",):
                close(_quiet(getattr(cm, f), t, p, average=avg, sample_weight=w),
                      _quiet(getattr(sk, f), t, p, average=avg, sample_weight=w),
                      rel, abs_)
            for f in ("precision_score", "recall_score", "f1_score"):
                close(_quiet(getattr(cm, f), t, p, average=avg, sample_weight=w),
                      _quiet(getattr(sk, f), t, p, average=avg, sample_weight=w),
                      rel, abs_)
            close(_quiet(cm.fbeta_score, t, p, beta=0.5, average=avg, sample_weight=w),
                  _quiet(sk.fbeta_score, t, p, beta=0.5, average=avg, sample_weight=w),
                  rel, abs_)
        if float(np.sum(w)) > 0:
            for normalize in (True, False):
                close(cm.accuracy_score(t, p, normalize=normalize, sample_weight=w),
                      sk.accuracy_score(t, p, normalize=normalize, sample_weight=w), rel)
        for adjusted in (False, True):
            close(outcome(cm.balanced_accuracy_score, t, p, sample_weight=w, adjusted=adjusted),
                  outcome(sk.balanced_accuracy_score, t, p, sample_weight=w, adjusted=adjusted),
                  rel, abs_)
        close(_quiet(cm.matthews_corrcoef, t, p, sample_weight=w),
              _quiet(sk.matthews_corrcoef, t, p, sample_weight=w), rel, abs_)
        if kind != "strings":
            for kw in (None, "linear", "quadratic"):
                close(_quiet(cm.cohen_kappa_score, t, p, weights=kw, sample_weight=w),
                      _quiet(sk.cohen_kappa_score, t, p, weights=kw, sample_weight=w),
                      rel, abs_)
        a = _quiet(cm.classification_report, t, p, sample_weight=w, output_dict=True)
        b = _quiet(sk.classification_report, t, p, sample_weight=w, output_dict=True)
        assert a.keys() == b.keys(), ctx
        for key in b:
            if isinstance(b[key], dict):
                assert a[key].keys() == b[key].keys()
                for m in b[key]:
                    close(a[key][m], b[key][m], rel, abs_)
            else:
                close(a[key], b[key], rel, abs_)
        if rel < 1e-9:
            assert (_quiet(cm.classification_report, t, p, sample_weight=w, digits=4)
                    == _quiet(sk.classification_report, t, p, sample_weight=w, digits=4)), ctx


def test_classification_labels_and_zero_classes():
    t = np.array([0, 1, 2, 2, 1, 0, 3, 3])
    p = np.array([0, 2, 2, 1, 1, 0, 3, 0])
    # Class 3 weighs nothing: scikit-learn keeps it as a label with 0 support.
    w = np.array([1, 2, 0.5, 1, 1, 3, 0, 0])
    for labels in (None, [0, 1, 2], [3, 2, 1, 0, 7]):
        close(cm.confusion_matrix(t, p, labels=labels, sample_weight=w),
              sk.confusion_matrix(t, p, labels=labels, sample_weight=w), 1e-12)
        for avg in (None, "macro", "weighted", "micro"):
            with warnings.catch_warnings(record=True) as ours:
                warnings.simplefilter("always")
                a = cm.precision_recall_fscore_support(t, p, labels=labels, average=avg,
                                                       sample_weight=w)
            with warnings.catch_warnings(record=True) as theirs:
                warnings.simplefilter("always")
                b = sk.precision_recall_fscore_support(t, p, labels=labels, average=avg,
                                                       sample_weight=w)
            close(a, b, 1e-12)
            assert len(ours) == len(theirs)
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        a = cm.balanced_accuracy_score(t, p, sample_weight=w)
    assert a == pytest.approx(_quiet(sk.balanced_accuracy_score, t, p, sample_weight=w), rel=1e-12)
    assert any("not in y_true" in str(x.message) for x in ours)


def test_all_zero_weights():
    t = np.array([0, 1, 1, 0, 2])
    p = np.array([0, 1, 0, 0, 2])
    w = np.zeros(5)
    close(cm.confusion_matrix(t, p, sample_weight=w),
          sk.confusion_matrix(t, p, sample_weight=w), 0)
    with pytest.raises(ZeroDivisionError):
        sk.accuracy_score(t, p, sample_weight=w)
    with pytest.raises(ZeroDivisionError):
        cm.accuracy_score(t, p, sample_weight=w)
    assert cm.accuracy_score(t, p, normalize=False, sample_weight=w) == 0.0
    for avg in ("macro", "weighted", "micro"):
        with pytest.warns(cm.UndefinedMetricWarning):
            a = cm.f1_score(t, p, average=avg, sample_weight=w)
        assert a == _quiet(sk.f1_score, t, p, average=avg, sample_weight=w)
    assert cm.matthews_corrcoef(t, p, sample_weight=w) == 0.0
    with pytest.raises(ZeroDivisionError):
        cm.log_loss([0, 1], np.array([0.2, 0.7], np.float32), sample_weight=[0, 0])
    with pytest.raises(ZeroDivisionError):
        cm.top_k_accuracy_score([0, 1, 2], np.eye(3, dtype=np.float32), k=1,
                                sample_weight=[0, 0, 0])


@pytest.mark.parametrize("bad, where", [(np.nan, 3), (np.inf, 0), (-np.inf, 5),
                                        (-1.0, 2), (1e39, 4)])
def test_bad_weights(bad, where):
    t = np.array([0, 1, 1, 0, 1, 0])
    p = np.array([0, 1, 0, 0, 1, 1])
    w = np.ones(6)
    w[where] = bad
    funcs = [
        lambda: cm.confusion_matrix(t, p, sample_weight=w),
        lambda: cm.f1_score(t, p, sample_weight=w),
        lambda: cm.accuracy_score(t, p, sample_weight=w),
        lambda: cm.matthews_corrcoef(t, p, sample_weight=w),
        lambda: cm.cohen_kappa_score(t, p, sample_weight=w),
        lambda: cm.classification_report(t, p, sample_weight=w),
        lambda: cm.log_loss(t, np.full(6, 0.3, np.float32), sample_weight=w),
        lambda: cm.top_k_accuracy_score(t, np.full(6, 0.3), k=1, sample_weight=w),
        lambda: cm.roc_auc_score(t, np.arange(6.0), sample_weight=w),
        lambda: cm.brier_score_loss(t, np.full(6, 0.3), sample_weight=w),
    ]
    for f in funcs:
        with pytest.raises(ValueError, match=f"index {where}"):
            f()


def test_weight_shapes():
    with pytest.raises(ValueError, match="sample_weight.shape"):
        cm.f1_score([0, 1, 1], [0, 1, 0], sample_weight=[1, 2])
    with pytest.raises(ValueError, match="1D"):
        cm.f1_score([0, 1], [0, 1], sample_weight=[[1, 2]])
    # A scalar weight is broadcast, as scikit-learn's _check_sample_weight.
    assert cm.f1_score([0, 1, 1], [0, 1, 0], sample_weight=2.0) == pytest.approx(
        sk.f1_score([0, 1, 1], [0, 1, 0], sample_weight=[2.0, 2.0, 2.0]))


def test_float32_weights_in_place():
    t = RNG.integers(0, 4, 1000).astype(np.int32)
    p = RNG.integers(0, 4, 1000).astype(np.int32)
    w = RNG.random(1000).astype(np.float32)
    cm.confusion_matrix(t, p, sample_weight=w)
    assert _core._last_weights() == w.ctypes.data
    y = RNG.integers(0, 2, 1000).astype(np.uint8)
    s = RNG.random(1000).astype(np.float32)
    cm.roc_auc_score(y, s, sample_weight=w)
    assert _core._last_weights() == w.ctypes.data
    # float64 weights are converted once (not in place).
    cm.roc_auc_score(y, s, sample_weight=w.astype(np.float64))
    assert _core._last_weights() != 0


def test_unweighted_path_unchanged():
    t, p = labels_for("multiclass", 5000)
    assert cm.confusion_matrix(t, p).dtype == np.int64
    ones = np.ones(len(t))
    np.testing.assert_array_equal(cm.confusion_matrix(t, p, sample_weight=ones),
                                  cm.confusion_matrix(t, p).astype(float))


# ---------------------------------------------------------------------------
# log_loss and top_k_accuracy_score
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [2, 255, 4097])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_loss_weighted(n, dtype):
    y = RNG.integers(0, 2, n)
    y[0], y[-1] = 0, 1
    p = RNG.random(n).astype(dtype)
    p[: n // 10] = 0  # clipped
    k3 = RNG.random((n, 3)).astype(dtype)
    y3 = RNG.integers(0, 3, n)
    for name, w, rel in weight_sets(n):
        if float(np.sum(w)) == 0:
            continue
        # The device sums float32 loss terms per work-group: relative 1e-5
        # covers its documented (D + 12) 2^-24 bound; the host path 1e-12
        # with float32-exact weights.
        r = 1e-5 if dtype == np.float32 else rel
        for normalize in (True, False):
            close(cm.log_loss(y, p, sample_weight=w, normalize=normalize),
                  sk.log_loss(y, p, sample_weight=w, normalize=normalize), r)
            close(cm.log_loss(y3, k3, sample_weight=w, labels=[0, 1, 2], normalize=normalize),
                  sk.log_loss(y3, k3, sample_weight=w, labels=[0, 1, 2], normalize=normalize),
                  rel)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [1, 2, 4, 6])
def test_top_k_weighted(dtype, k):
    n = 3001
    y = RNG.integers(0, 6, n)
    s = RNG.random((n, 6)).astype(dtype)
    device = dtype == np.float32 and k < 6
    for name, w, rel in weight_sets(n):
        if device:
            # The device sums the hits' weights in float32 per work-group
            # (added in float64): the brief's relative 1e-5 on sums.
            rel = 1e-5
        for normalize in (True, False):
            close(_quiet(cm.top_k_accuracy_score, y, s, k=k, sample_weight=w,
                         normalize=normalize),
                  _quiet(sk.top_k_accuracy_score, y, s, k=k, sample_weight=w,
                         normalize=normalize), rel)
    yb = RNG.integers(0, 2, n)
    sb = RNG.random(n).astype(dtype)
    w = RNG.random(n)
    close(_quiet(cm.top_k_accuracy_score, yb, sb, k=1, sample_weight=w),
          _quiet(sk.top_k_accuracy_score, yb, sb, k=1, sample_weight=w), 1e-5)


# ---------------------------------------------------------------------------
# Ranking
# ---------------------------------------------------------------------------


def ranking_weights(n):
    """Weights that are float32 numbers (identical for scikit-learn), with
    zeros and one large weight; and small integers."""
    w = RNG.random(n).astype(np.float32).astype(np.float64) * 4
    w[RNG.random(n) < 0.2] = 0
    if n > 2:
        w[n // 3] = 1e4
    return [("float", w), ("int", RNG.integers(0, 4, n).astype(np.float64))]


@pytest.mark.parametrize("n", [2, 9, 1000, 20011])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ties", [False, True])
def test_ranking_binary_weighted(n, dtype, ties):
    y = RNG.integers(0, 2, n)
    y[0], y[1] = 0, 1
    s = RNG.random(n)
    if ties:
        s = np.round(s * 20) / 20
    s = s.astype(dtype)
    for name, w in ranking_weights(n):
        wpos = w[y == 1].sum()
        wneg = w[y == 0].sum()
        if wpos > 0 and wneg > 0:
            close(cm.roc_auc_score(y, s, sample_weight=w),
                  sk.roc_auc_score(y, s, sample_weight=w), 1e-9)
        if wpos > 0:
            close(cm.average_precision_score(y, s, sample_weight=w),
                  sk.average_precision_score(y, s, sample_weight=w), 1e-9)
        a = _quiet(cm.roc_curve, y, s, sample_weight=w, drop_intermediate=False)
        b = _quiet(sk.roc_curve, y, s, sample_weight=w, drop_intermediate=False)
        for x, z in zip(a, b):
            assert x.shape == z.shape
        close(a[0], b[0], 1e-9)
        close(a[1], b[1], 1e-9)
        np.testing.assert_array_equal(a[2][1:], b[2][1:].astype(dtype))
        if name == "int":  # exact sums: the same points are dropped
            a = _quiet(cm.roc_curve, y, s, sample_weight=w)
            b = _quiet(sk.roc_curve, y, s, sample_weight=w)
            assert a[0].shape == b[0].shape
            close(a[:2], b[:2], 1e-9)
        a = _quiet(cm.precision_recall_curve, y, s, sample_weight=w)
        b = _quiet(sk.precision_recall_curve, y, s, sample_weight=w)
        assert a[0].shape == b[0].shape
        close(a[0], b[0], 1e-9)
        close(a[1], b[1], 1e-9)
        np.testing.assert_array_equal(a[2], b[2].astype(dtype))


def test_ranking_zero_weight_class():
    y = np.array([0, 1, 1, 0, 1, 0])
    s = np.array([0.1, 0.4, 0.35, 0.8, 0.2, 0.5])
    w = np.array([1.0, 0, 0, 2, 0, 1])  # every positive weighs 0
    with pytest.warns(UserWarning, match="No positive class"):
        assert cm.average_precision_score(y, s, sample_weight=w) == 0.0
    a = _quiet(cm.precision_recall_curve, y, s, sample_weight=w)
    b = _quiet(sk.precision_recall_curve, y, s, sample_weight=w)
    close(a, b, 0)
    a = _quiet(cm.roc_curve, y, s, sample_weight=w)
    b = _quiet(sk.roc_curve, y, s, sample_weight=w)
    close(a[:2], b[:2], 0)


@pytest.mark.parametrize("average", ["macro", "weighted", None, "micro"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_ranking_multiclass_weighted(average, dtype):
    n, k = 3000, 4
    y = RNG.integers(0, k, n)
    s = RNG.random((n, k))
    s = (s / s.sum(axis=1, keepdims=True)).astype(dtype)
    for name, w in ranking_weights(n):
        onehot = np.eye(k)[y]
        per_auc = np.array([sk.roc_auc_score(onehot[:, c], s[:, c], sample_weight=w)
                            for c in range(k)])
        per_ap = np.array([sk.average_precision_score(onehot[:, c], s[:, c], sample_weight=w)
                           for c in range(k)])
        support = (onehot * w[:, None]).sum(axis=0)
        wr = np.repeat(w, k)
        ref = {
            None: (per_auc, per_ap),
            "macro": (per_auc.mean(), per_ap.mean()),
            "weighted": (np.average(per_auc, weights=support),
                         np.average(per_ap, weights=support)),
            "micro": (sk.roc_auc_score(onehot.ravel(), s.ravel(), sample_weight=wr),
                      sk.average_precision_score(onehot.ravel(), s.ravel(), sample_weight=wr)),
        }[average]
        close(cm.roc_auc_score(y, s, multi_class="ovr", average=average, sample_weight=w),
              ref[0], 1e-9)
        if average != "micro":
            close(cm.roc_auc_score(y, s, multi_class="ovr", average=average,
                                   sample_weight=w),
                  sk.roc_auc_score(y, s, multi_class="ovr", average=average,
                                   sample_weight=w), 1e-9)
        close(cm.average_precision_score(y, s, average=average, sample_weight=w),
              ref[1], 1e-9)


# ---------------------------------------------------------------------------
# Evaluators
# ---------------------------------------------------------------------------


def test_binary_evaluator_weighted():
    n = 5000
    y = RNG.integers(0, 2, n).astype(np.uint8)
    z = RNG.normal(size=n).astype(np.float32)
    w = RNG.random(n).astype(np.float32)
    ev = cm.BinaryEvaluator(weighted=True)
    parts = []
    for lo in range(0, n, 1700):
        e = cm.BinaryEvaluator(weighted=True)
        e.update(y[lo:lo + 1700], z[lo:lo + 1700], sample_weight=w[lo:lo + 1700])
        parts.append(pickle.loads(pickle.dumps(e)))
    ev.update(y, z, sample_weight=w)
    merged = parts[0]
    for e in parts[1:]:
        merged.merge(e)
    a, b = ev.compute(), merged.compute()
    pred = (z > 0).astype(int)
    w64 = w.astype(np.float64)
    for r in (a, b):
        assert r["weighted"] and r["n"] == n
        assert r["weight_sum"] == pytest.approx(w64.sum(), rel=1e-5)
        assert r["precision"] == pytest.approx(sk.precision_score(y, pred, sample_weight=w64),
                                               rel=1e-5)
        assert r["f1"] == pytest.approx(sk.f1_score(y, pred, sample_weight=w64), rel=1e-5)
        assert r["mcc"] == pytest.approx(sk.matthews_corrcoef(y, pred, sample_weight=w64),
                                         rel=1e-5, abs=1e-6)
        assert sum(r["counts"].values()) == n
    # Unweighted batches of a weighted evaluator count 1 each.
    e = cm.BinaryEvaluator(weighted=True).update(y, z)
    assert e.compute()["weight_sum"] == n
    with pytest.raises(ValueError, match="weighted=True"):
        cm.BinaryEvaluator().update(y, z, sample_weight=w)
    with pytest.raises(ValueError, match="merge"):
        cm.BinaryEvaluator().merge(cm.BinaryEvaluator(weighted=True))
    with pytest.raises(ValueError, match="merge"):
        cm.BinaryEvaluator().merge(cm.BinaryEvaluator(pos_weight=2.0))


def test_binary_evaluator_pos_weight_pickle():
    n = 999
    y = RNG.integers(0, 2, n).astype(np.uint8)
    z = RNG.normal(size=n).astype(np.float32)
    ev = cm.BinaryEvaluator(pos_weight=3.0).update(y, z)
    back = pickle.loads(pickle.dumps(ev))
    assert back.pos_weight == 3.0
    assert back.compute()["loss"] == ev.compute()["loss"]
    ref = bce_reference(y, z, 3.0, None)
    assert ev.compute()["loss"]["bce_mean"] == pytest.approx(ref / n, rel=1e-5)
    back.update(y, z)
    assert back.n == 2 * n


def test_multiclass_evaluator_weighted_options():
    n, k = 4000, 5
    y = RNG.integers(0, k, n).astype(np.int32)
    y[RNG.random(n) < 0.1] = -100
    x = RNG.normal(size=(n, k)).astype(np.float32)
    w = RNG.random(n).astype(np.float32)
    cw = [1.0, 2.0, 0.5, 0.0, 1.5]
    opts = dict(weighted=True, class_weight=cw, ignore_index=-100, label_smoothing=0.1,
                top_k=2)
    ev = cm.MulticlassEvaluator(k, **opts)
    halves = [cm.MulticlassEvaluator(k, **opts) for _ in range(2)]
    ev.update(y, x, sample_weight=w)
    halves[0].update(y[:1500], x[:1500], sample_weight=w[:1500])
    halves[1].update(y[1500:], x[1500:], sample_weight=w[1500:])
    merged = pickle.loads(pickle.dumps(halves[0])).merge(pickle.loads(pickle.dumps(halves[1])))
    a, b = ev.compute(), merged.compute()
    keep = y != -100
    pred = x.argmax(axis=1)
    w64 = w.astype(np.float64)
    for r in (a, b):
        assert r["ignored"] == int((~keep).sum())
        assert r["n"] == int(keep.sum())
        assert r["accuracy"] == pytest.approx(
            sk.accuracy_score(y[keep], pred[keep], sample_weight=w64[keep]), rel=1e-5)
        assert r["macro"]["f1"] == pytest.approx(
            sk.f1_score(y[keep], pred[keep], average="macro", sample_weight=w64[keep]),
            rel=1e-5)
        close(np.array(r["confusion_matrix"]),
              sk.confusion_matrix(y[keep], pred[keep], labels=range(k),
                                  sample_weight=w64[keep]), 1e-5, 1e-9)
        # Loss: PyTorch's weighted mean with smoothing, per-sample weights on top.
        ref_sum, ref_norm = ce_reference(x[keep], y[keep], np.array(cw), 0.1, w64[keep])
        assert r["loss"]["cross_entropy_mean"] == pytest.approx(ref_sum / ref_norm, rel=1e-5)
        assert r["top_k_accuracy"] == pytest.approx(
            _quiet(sk.top_k_accuracy_score, y[keep], x[keep], k=2, labels=range(k),
                   sample_weight=w64[keep]), rel=1e-5)
    with pytest.raises(ValueError, match="merge"):
        cm.MulticlassEvaluator(k).merge(cm.MulticlassEvaluator(k, label_smoothing=0.2))
    with pytest.raises(ValueError, match="merge"):
        cm.MulticlassEvaluator(k).merge(cm.MulticlassEvaluator(k, weighted=True))


# ---------------------------------------------------------------------------
# Loss options: bce_with_logits(pos_weight, weight), cross_entropy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 255, 256, 257, 100003])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_bce_pos_weight_and_weight(n, reduction):
    y = RNG.integers(0, 2, n).astype(np.uint8)
    z = (RNG.normal(size=n) * 4).astype(np.float32)
    z[: min(n, 3)] = [100.0, -100.0, 0.0][: min(n, 3)]
    x = RNG.normal(size=(n, 3)).astype(np.float32)
    w = RNG.random(n).astype(np.float32)
    w[RNG.random(n) < 0.1] = 0
    for pw, ww in ((2.5, None), (None, w), (0.3, w)):
        r = cm.bce_with_logits(y, z, x, reduction=reduction, pos_weight=pw, weight=ww)
        P = 1.0 if pw is None else float(np.float32(pw))
        w64 = None if ww is None else ww.astype(np.float64)
        ref = bce_reference(y, z, P, w64)
        s_i = np.where(y == 1, P, 1.0) * (1.0 if w64 is None else w64)
        g = s_i * (1 / (1 + np.exp(-z.astype(np.float64))) - y)
        div = n if reduction == "mean" else 1
        # Documented bounds: loss (D + 12) u sum|t_i|, per-sample gradient
        # 16 u s_i, weight gradient (256 + 17) u sum s_i |x_ij| (u = 2^-24,
        # D <= 37): relative 1e-5 of the magnitudes covers all of them.
        assert abs(r.loss - ref / div) <= 1e-5 * abs(ref / div) + 1e-30
        np.testing.assert_allclose(r.grad, g / div, rtol=0, atol=1e-6 * s_i.max() / div + 1e-30)
        mag = (s_i[:, None] * np.abs(x)).sum(axis=0) / div
        np.testing.assert_allclose(r.weight_grad, (g[:, None] * x).sum(axis=0) / div,
                                   rtol=0, atol=2e-5 * mag.max())
        assert abs(r.bias_grad - g.sum() / div) <= 1e-5 * s_i.sum() / div
    with pytest.raises(ValueError, match="pos_weight"):
        cm.bce_with_logits(y, z, pos_weight=-1.0)
    with pytest.raises(ValueError, match="index 0"):
        cm.bce_with_logits(y, z, weight=np.full(n, np.nan))


def test_bce_against_torch():
    torch = pytest.importorskip("torch")
    n = 5003
    y = RNG.integers(0, 2, n).astype(np.uint8)
    z = (RNG.normal(size=n) * 3).astype(np.float32)
    w = RNG.random(n).astype(np.float32)
    for reduction in ("mean", "sum"):
        zt = torch.tensor(z, requires_grad=True)
        lt = torch.nn.functional.binary_cross_entropy_with_logits(
            zt, torch.tensor(y, dtype=torch.float32), weight=torch.tensor(w),
            pos_weight=torch.tensor(1.7), reduction=reduction)
        lt.backward()
        r = cm.bce_with_logits(y, z, reduction=reduction, pos_weight=1.7, weight=w)
        assert r.loss == pytest.approx(lt.item(), rel=1e-5)
        # Each side within 16 u s_i of the exact gradient (s_i <= 1.7).
        div = n if reduction == "mean" else 1
        np.testing.assert_allclose(r.grad, zt.grad.numpy(), rtol=0,
                                   atol=32 * 2.0**-24 * 1.7 / div)


@pytest.mark.parametrize("n", [1, 63, 64, 65, 20011])
@pytest.mark.parametrize("k", [2, 7])
def test_cross_entropy_reference(n, k):
    x = (RNG.normal(size=(n, k)) * 3).astype(np.float32)
    y = RNG.integers(0, k, n)
    y[RNG.random(n) < 0.1] = -100
    cw = RNG.random(k) * 2
    cw[0] = 0
    for weight, eps in ((None, 0.0), (cw, 0.0), (None, 0.2), (cw, 0.3)):
        keep = y != -100
        wv = np.ones(k) if weight is None else weight
        ref_sum, ref_norm = ce_reference(x[keep], y[keep], wv, eps, np.ones(int(keep.sum())))
        mag = ce_reference(np.abs(x[keep]) + np.log(k) * 0, y[keep], wv, eps,
                           np.ones(int(keep.sum())))[0]
        # (R + 2K + 16) 2^-24 relative to the terms' magnitudes (R <= 256).
        tol = (256 + 2 * k + 16) * 2.0**-24 * max(abs(ref_sum), mag) + 1e-12
        got = cm.cross_entropy(x, y, weight=weight, label_smoothing=eps, reduction="sum")
        assert abs(got - ref_sum) <= tol
        mean = cm.cross_entropy(x, y, weight=weight, label_smoothing=eps)
        if ref_norm == 0:
            assert np.isnan(mean)
        else:
            assert abs(mean - ref_sum / ref_norm) <= tol / ref_norm
    assert np.isnan(cm.cross_entropy(x, np.full(n, -100)))
    assert cm.cross_entropy(x, np.full(n, 3), ignore_index=3, reduction="sum") == 0.0
    with pytest.raises(NotImplementedError):
        cm.cross_entropy(x, y, reduction="none")
    with pytest.raises(NotImplementedError):
        cm.cross_entropy(x, x)
    with pytest.raises(ValueError, match="index 1"):
        cm.cross_entropy(x, y, weight=[1.0, -1.0] + [1.0] * (k - 2))


def test_cross_entropy_against_torch():
    torch = pytest.importorskip("torch")
    n, k = 4099, 6
    x = (RNG.normal(size=(n, k)) * 2).astype(np.float32)
    y = RNG.integers(0, k, n)
    y[::17] = -100
    cw = (RNG.random(k) + 0.1).astype(np.float32)
    for weight in (None, cw):
        for eps in (0.0, 0.1):
            for reduction in ("mean", "sum"):
                ref = torch.nn.functional.cross_entropy(
                    torch.tensor(x), torch.tensor(y),
                    weight=None if weight is None else torch.tensor(weight),
                    ignore_index=-100, reduction=reduction, label_smoothing=eps).item()
                got = cm.cross_entropy(x, y, weight=weight, reduction=reduction,
                                       label_smoothing=eps)
                assert got == pytest.approx(ref, rel=1e-5)


# ---------------------------------------------------------------------------
# References (NumPy float64)
# ---------------------------------------------------------------------------


def bce_reference(y, z, pos_weight, w):
    z = z.astype(np.float64)
    y = y.astype(np.float64)
    log_sig = -np.logaddexp(0, -z)
    log_one_minus = -np.logaddexp(0, z)
    l = -(pos_weight * y * log_sig + (1 - y) * log_one_minus)
    if w is not None:
        l = l * w
    return l.sum()


def ce_reference(x, y, cw, eps, s):
    x = x.astype(np.float64)
    logp = x - np.logaddexp.reduce(x, axis=1, keepdims=True)
    k = x.shape[1]
    nll = -logp[np.arange(len(y)), y]
    l = (1 - eps) * cw[y] * nll + (eps / k) * (-(logp * cw[None, :]).sum(axis=1))
    return (s * l).sum(), (s * cw[y]).sum()


def test_pos_label_absent_from_single_class_data():
    # pos_label=1 with only label 0 present: every sum for label 1 is 0, as
    # scikit-learn (this used to read class 0's sums).
    for w in (None, [1.0, 2.0]):
        a = _quiet(cm.precision_recall_fscore_support, [0, 0], [0, 0], average="binary",
                   sample_weight=w)
        b = _quiet(sk.precision_recall_fscore_support, [0, 0], [0, 0], average="binary",
                   sample_weight=w)
        close(a, b, 0)
        assert _quiet(cm.f1_score, [0, 0], [0, 0], sample_weight=w) == 0.0


def test_float64_weights_converted_in_batches():
    # float64 weights go to the extension as they are and are converted to
    # float32 in batches of 2^22 rows: results equal those of the same
    # weights as float32 (exactly where the library's sums do not depend on
    # batching: the host-summed weighted matrix and the weighted ranking).
    n = (1 << 22) + 5
    t = RNG.integers(0, 3, n).astype(np.int32)
    p = RNG.integers(0, 3, n).astype(np.int32)
    w32 = RNG.random(n).astype(np.float32)
    w64 = w32.astype(np.float64)
    np.testing.assert_array_equal(cm.confusion_matrix(t, p, sample_weight=w64),
                                  cm.confusion_matrix(t, p, sample_weight=w32))
    assert _core._last_weights() == w32.ctypes.data
    y = (t == 1).astype(np.uint8)
    s = RNG.random(n).astype(np.float32)
    assert cm.roc_auc_score(y, s, sample_weight=w64) == cm.roc_auc_score(
        y, s, sample_weight=w32)
    assert _core._last_weights() == w32.ctypes.data
    cm.roc_auc_score(y, s, sample_weight=w64)
    assert _core._last_weights() == w64.ctypes.data  # no copy made
    # Device-summed weights: batching changes the float32 partials only.
    a = cm.BinaryEvaluator(scores="probs", weighted=True).update(y, s, w64).compute()
    b = cm.BinaryEvaluator(scores="probs", weighted=True).update(y, s, w32).compute()
    assert a["weight_sum"] == pytest.approx(b["weight_sum"], rel=1e-6)
    assert a["f1"] == pytest.approx(b["f1"], rel=1e-6)
    assert a["mcc"] == pytest.approx(b["mcc"], rel=1e-5, abs=1e-6)
    x = RNG.random((n, 3)).astype(np.float32)
    a = cm.MulticlassEvaluator(3, weighted=True, top_k=2).update(t, x, w64).compute()
    b = cm.MulticlassEvaluator(3, weighted=True, top_k=2).update(t, x, w32).compute()
    # Each batch's matrix is summed in float64, then added: 1e-12 relative.
    np.testing.assert_allclose(a["confusion_matrix"], b["confusion_matrix"], rtol=1e-12)
    assert a["top_k_accuracy"] == pytest.approx(b["top_k_accuracy"], rel=1e-6)
    assert a["loss"]["cross_entropy_mean"] == pytest.approx(
        b["loss"]["cross_entropy_mean"], rel=1e-6)
    assert cm.calibration_error(y, s, sample_weight=w64) == pytest.approx(
        cm.calibration_error(y, s, sample_weight=w32), rel=1e-6, abs=1e-7)
    # A bad float64 weight in the second batch is named by its index.
    bad = w64.copy()
    bad[n - 2] = np.nan
    for f in (lambda: cm.confusion_matrix(t, p, sample_weight=bad),
              lambda: cm.roc_auc_score(y, s, sample_weight=bad),
              lambda: cm.BinaryEvaluator(weighted=True).update(y, s, bad),
              lambda: cm.MulticlassEvaluator(3, weighted=True).update(t, p, bad),
              lambda: cm.MulticlassEvaluator(3, weighted=True).update(t, x, bad),
              lambda: cm.calibration_error(y, s, sample_weight=bad)):
        with pytest.raises(ValueError, match=f"index {n - 2}"):
            f()
