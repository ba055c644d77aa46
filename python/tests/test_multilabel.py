"""Multilabel indicator matrices against scikit-learn 1.2.

Tolerances. Unweighted counts are exact and every ratio is derived as
scikit-learn derives it (per label on the host in float64; per sample by
the library in float64, added in row order): relative 1e-12. Weighted
per-label cells are compensated float32 sums on the device, added in
float64 (about 1e-7 relative of the exact sum): per-label and micro / macro
/ weighted values are held to 1e-6; the per-sample sums are float64 sums of
w_r times each row's exact ratio, so with weights that are float32 numbers
(the same weights scikit-learn reads) samples averages, subset accuracy and
the Hamming loss hold 1e-12. Label ranking average precision sums each
row's fractions in float32 (compensated) on the device: 1e-6. Coverage,
ranking loss and the samples ROC-AUC come from exact pair counts: 1e-12.
The per-label ROC-AUC / AP use the exact binary ranking: 1e-12 (weighted,
long double on the host: 1e-9, the bound of test_weights.py).
"""

import pickle
import warnings

import numpy as np
import pytest

import clmetrics as cm
from clmetrics import _core

sk = pytest.importorskip("sklearn.metrics")

SHAPES = [(1, 2), (7, 3), (64, 5), (257, 17), (1000, 40)]
AVERAGES = [None, "micro", "macro", "weighted", "samples"]


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


def close(a, b, rel):
    if isinstance(b, type):
        assert a is b, (a, b)
    elif isinstance(b, tuple):
        assert isinstance(a, tuple) and len(a) == len(b)
        for x, y in zip(a, b):
            close(x, y, rel)
    elif b is None:
        assert a is None
    else:
        assert np.shape(a) == np.shape(b)
        np.testing.assert_allclose(np.asarray(a, dtype=float),
                                   np.asarray(b, dtype=float), rtol=rel, atol=0)


def pair(shape, seed, p_true=0.3, empty=True):
    """(y_true, y_pred) int64 0/1 matrices with (when big enough) an empty
    row in both, a row empty only in y_pred, a label never true, a label
    never predicted and a label neither true nor predicted."""
    rng = np.random.default_rng(seed)
    t = (rng.random(shape) < p_true).astype(np.int64)
    p = np.where(rng.random(shape) < 0.7, t, 1 - t)
    n, L = shape
    if empty and n >= 3 and L >= 3:
        t[0] = 0
        p[0] = 0
        p[1] = 0
        t[:, 0] = 0
        p[:, 1] = 0
        t[:, 2] = 0
        p[:, 2] = 0
    return t, p


def weights(n, seed, zeros=True):
    """float32 numbers (so scikit-learn reads the same weights), some 0."""
    rng = np.random.default_rng(seed)
    w = rng.uniform(0.1, 3.0, n).astype(np.float32)
    if zeros and n > 2:
        w[rng.choice(n, max(1, n // 5), replace=False)] = 0
        w[n // 2] = 1.5  # keep a nonzero row
    return w


# ---------------------------------------------------------------------------
# precision / recall / F / support, Jaccard
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", ["warn", 0, 1])
def test_prfs_unweighted(shape, average, zero_division):
    t, p = pair(shape, 11 + shape[0])
    got = _quiet(cm.precision_recall_fscore_support, t, p, average=average,
                 zero_division=zero_division)
    want = _quiet(sk.precision_recall_fscore_support, t, p, average=average,
                  zero_division=zero_division)
    close(got, want, 1e-12)
    if average is None:
        assert got[3].dtype == want[3].dtype == np.int64
    for f in ("precision_score", "recall_score", "f1_score"):
        close(_quiet(getattr(cm, f), t, p, average=average,
                     zero_division=zero_division),
              _quiet(getattr(sk, f), t, p, average=average,
                     zero_division=zero_division), 1e-12)
    close(_quiet(cm.jaccard_score, t, p, average=average, zero_division=zero_division),
          _quiet(sk.jaccard_score, t, p, average=average, zero_division=zero_division),
          1e-12)


@pytest.mark.parametrize("shape", SHAPES[1:])
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("zero_division", [0, 1])
def test_prfs_weighted(shape, average, zero_division):
    t, p = pair(shape, 23 + shape[1])
    w = weights(shape[0], 5)
    rel = 1e-12 if average == "samples" else 1e-6
    for wi in (w, w.astype(np.float64)):
        got = outcome(cm.precision_recall_fscore_support, t, p, average=average,
                      zero_division=zero_division, sample_weight=wi)
        want = outcome(sk.precision_recall_fscore_support, t, p, average=average,
                       zero_division=zero_division, sample_weight=w.astype(np.float64))
        close(got, want, rel)
        close(outcome(cm.jaccard_score, t, p, average=average,
                      zero_division=zero_division, sample_weight=wi),
              outcome(sk.jaccard_score, t, p, average=average,
                      zero_division=zero_division,
                      sample_weight=w.astype(np.float64)), rel)
    if average is None:
        assert got[3].dtype == np.float64


@pytest.mark.parametrize("beta", [0.5, 2.0, np.inf])
@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
def test_fbeta(beta, average):
    t, p = pair((120, 6), 3)
    close(_quiet(cm.fbeta_score, t, p, beta=beta, average=average),
          _quiet(sk.fbeta_score, t, p, beta=beta, average=average), 1e-12)


def test_fbeta_samples():
    t, p = pair((50, 4), 8)
    close(_quiet(cm.fbeta_score, t, p, beta=1, average="samples"),
          _quiet(sk.fbeta_score, t, p, beta=1, average="samples"), 1e-12)
    close(_quiet(cm.fbeta_score, t, p, beta=np.inf, average="samples"),
          _quiet(sk.fbeta_score, t, p, beta=np.inf, average="samples"), 1e-12)
    with pytest.raises(NotImplementedError, match="beta"):
        cm.fbeta_score(t, p, beta=2, average="samples")


def _nan_reference(t, p, w, average, metric):
    """scikit-learn >= 1.3 with zero_division=np.nan: 0/0 values are NaN and
    left out of the averages."""
    w64 = np.ones(len(t)) if w is None else w.astype(np.float64)
    tp = (t & p).astype(np.float64)
    fp = ((1 - t) & p).astype(np.float64)
    fn = (t & (1 - p)).astype(np.float64)

    def ratio(num, den):
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)

    def parts(a_tp, a_fp, a_fn):
        return {"precision": (a_tp, a_tp + a_fp), "recall": (a_tp, a_tp + a_fn),
                "f1": (2 * a_tp, 2 * a_tp + a_fp + a_fn),
                "jaccard": (a_tp, a_tp + a_fp + a_fn)}[metric]

    if average == "samples":
        v = ratio(*parts(tp.sum(1), fp.sum(1), fn.sum(1)))
        keep = ~np.isnan(v)
        return np.nan if not keep.any() else np.average(v[keep], weights=w64[keep])
    wt = w64[:, None]
    ltp, lfp, lfn = (tp * wt).sum(0), (fp * wt).sum(0), (fn * wt).sum(0)
    if average == "micro":
        return float(ratio(*parts(ltp.sum(), lfp.sum(), lfn.sum())))
    v = ratio(*parts(ltp, lfp, lfn))
    if average is None:
        return v
    keep = ~np.isnan(v)
    if not keep.any():
        return np.nan
    if average == "macro":
        return float(v[keep].mean())
    sup = (ltp + lfn)[keep]
    return float(np.average(v[keep], weights=sup)) if sup.sum() > 0 else np.nan


@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("weighted", [False, True])
def test_zero_division_nan(average, weighted):
    t, p = pair((90, 7), 4)
    w = weights(90, 9) if weighted else None
    rel = 1e-12 if (average == "samples" or not weighted) else 1e-6
    got = cm.precision_recall_fscore_support(t, p, average=average,
                                             zero_division=np.nan, sample_weight=w)
    for i, metric in enumerate(("precision", "recall", "f1")):
        close(got[i], _nan_reference(t, p, w, average, metric), rel)
    close(cm.jaccard_score(t, p, average=average, zero_division=np.nan,
                           sample_weight=w),
          _nan_reference(t, p, w, average, "jaccard"), rel)


def test_labels_subset():
    t, p = pair((80, 6), 2)
    for labels in ([3, 1], [0], [5, 4, 3, 2, 1, 0], np.array([2, 2, 4])):
        for average in AVERAGES:
            close(_quiet(cm.precision_recall_fscore_support, t, p, labels=labels,
                         average=average),
                  _quiet(sk.precision_recall_fscore_support, t, p, labels=labels,
                         average=average), 1e-12)
            close(_quiet(cm.jaccard_score, t, p, labels=labels, average=average),
                  _quiet(sk.jaccard_score, t, p, labels=labels, average=average),
                  1e-12)
        close(cm.multilabel_confusion_matrix(t, p, labels=labels),
              sk.multilabel_confusion_matrix(t, p, labels=labels), 0)
    for bad in ([6], [-1], [1, 7]):
        with pytest.raises(ValueError, match="labels"):
            cm.precision_score(t, p, labels=bad, average="macro")
        with pytest.raises(ValueError):
            sk.precision_score(t, p, labels=bad, average="macro")


def test_warnings():
    t, p = pair((30, 5), 6)
    with pytest.warns(cm.UndefinedMetricWarning, match="samples with no predicted"):
        cm.precision_score(t, p, average="samples")
    with pytest.warns(cm.UndefinedMetricWarning, match="labels with no predicted"):
        cm.precision_score(t, p, average="macro")
    with pytest.warns(cm.UndefinedMetricWarning, match="samples with no true"):
        cm.recall_score(t, p, average="samples")
    with pytest.warns(cm.UndefinedMetricWarning, match="Jaccard"):
        cm.jaccard_score(t, p, average="samples")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cm.precision_score(t, p, average="samples", zero_division=1)
        cm.f1_score(np.eye(3, dtype=int), np.eye(3, dtype=int), average="samples")
    # A row of weight 0 is ill-defined in scikit-learn (its counts are scaled
    # by its weight).
    full = np.ones((4, 3), dtype=int)
    with pytest.warns(cm.UndefinedMetricWarning):
        cm.precision_score(full, full, average="samples", sample_weight=[1, 0, 1, 1])
    with pytest.warns(UserWarning, match="pos_label"):
        cm.precision_score(t, p, average="macro", pos_label=2, zero_division=0)


# ---------------------------------------------------------------------------
# multilabel_confusion_matrix, accuracy, Hamming, zero-one
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_multilabel_confusion_matrix(shape):
    t, p = pair(shape, 31)
    got = cm.multilabel_confusion_matrix(t, p)
    want = sk.multilabel_confusion_matrix(t, p)
    assert got.dtype == want.dtype == np.int64 and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
    w = weights(shape[0], 2)
    got = cm.multilabel_confusion_matrix(t, p, sample_weight=w)
    want = sk.multilabel_confusion_matrix(t, p, sample_weight=w.astype(np.float64))
    assert got.dtype == want.dtype == np.float64
    close(got, want, 1e-6)
    iw = np.arange(shape[0]) % 3  # integer weights: exact float32 sums
    got = cm.multilabel_confusion_matrix(t, p, sample_weight=iw)
    want = sk.multilabel_confusion_matrix(t, p, sample_weight=iw)
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got, want)


def test_multilabel_confusion_matrix_1d():
    """1-D targets (and (n, 1) columns) take the multi-class counts."""
    rng = np.random.default_rng(1)
    t = rng.integers(0, 4, 60)
    p = rng.integers(0, 4, 60)
    for labels in (None, [2, 0], [3, 1, 7]):
        got = cm.multilabel_confusion_matrix(t, p, labels=labels)
        want = sk.multilabel_confusion_matrix(t, p, labels=labels)
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    w = weights(60, 3)
    close(cm.multilabel_confusion_matrix(t, p, sample_weight=w),
          sk.multilabel_confusion_matrix(t, p, sample_weight=w.astype(np.float64)),
          1e-12)
    b = (t > 1).reshape(-1, 1).astype(int)
    np.testing.assert_array_equal(cm.multilabel_confusion_matrix(b, 1 - b),
                                  sk.multilabel_confusion_matrix(b, 1 - b))
    assert (cm.multilabel_confusion_matrix(b, 1 - b).dtype
            == sk.multilabel_confusion_matrix(b, 1 - b).dtype)
    with pytest.raises(ValueError, match="Samplewise"):
        cm.multilabel_confusion_matrix(t, p, samplewise=True)


@pytest.mark.parametrize("shape", SHAPES)
def test_accuracy_hamming_zero_one(shape):
    t, p = pair(shape, 41)
    p[-1] = t[-1]  # at least one exact row
    for f in ("accuracy_score", "hamming_loss", "zero_one_loss"):
        close(getattr(cm, f)(t, p), getattr(sk, f)(t, p), 1e-12)
    close(cm.accuracy_score(t, p, normalize=False),
          sk.accuracy_score(t, p, normalize=False), 0)
    close(cm.zero_one_loss(t, p, normalize=False),
          sk.zero_one_loss(t, p, normalize=False), 0)
    w = weights(shape[0], 4)
    w64 = w.astype(np.float64)
    for f in ("accuracy_score", "hamming_loss", "zero_one_loss"):
        close(outcome(getattr(cm, f), t, p, sample_weight=w),
              outcome(getattr(sk, f), t, p, sample_weight=w64), 1e-12)
    close(cm.accuracy_score(t, p, normalize=False, sample_weight=w),
          sk.accuracy_score(t, p, normalize=False, sample_weight=w64), 1e-12)
    close(cm.zero_one_loss(t, p, normalize=False, sample_weight=w),
          sk.zero_one_loss(t, p, normalize=False, sample_weight=w64), 1e-12)


def test_zero_weights():
    t, p = pair((10, 4), 5)
    z = np.zeros(10)
    for f in ("accuracy_score", "zero_one_loss"):
        assert outcome(getattr(cm, f), t, p, sample_weight=z) is ZeroDivisionError
        assert outcome(getattr(sk, f), t, p, sample_weight=z) is ZeroDivisionError
    assert outcome(cm.precision_score, t, p, average="samples",
                   sample_weight=z) is ZeroDivisionError
    assert outcome(sk.precision_score, t, p, average="samples",
                   sample_weight=z) is ZeroDivisionError
    assert np.isnan(_quiet(cm.hamming_loss, t, p, sample_weight=z))
    assert np.isnan(_quiet(sk.hamming_loss, t, p, sample_weight=z))
    close(_quiet(cm.precision_score, t, p, average="micro", sample_weight=z, zero_division=1),
          _quiet(sk.precision_score, t, p, average="micro", sample_weight=z, zero_division=1), 0)


def test_one_dimensional_unchanged():
    """hamming_loss, jaccard_score and zero_one_loss of 1-D targets, and (n, 1)
    columns, which stay binary targets as in scikit-learn."""
    rng = np.random.default_rng(7)
    t = rng.integers(0, 3, 100)
    p = rng.integers(0, 3, 100)
    w = weights(100, 1)
    for f in ("hamming_loss", "zero_one_loss", "accuracy_score"):
        close(getattr(cm, f)(t, p), getattr(sk, f)(t, p), 1e-12)
        close(getattr(cm, f)(t, p, sample_weight=w),
              getattr(sk, f)(t, p, sample_weight=w.astype(np.float64)), 1e-12)
    for average in (None, "micro", "macro", "weighted"):
        close(_quiet(cm.jaccard_score, t, p, average=average),
              _quiet(sk.jaccard_score, t, p, average=average), 1e-12)
        close(_quiet(cm.jaccard_score, t, p, average=average, sample_weight=w),
              _quiet(sk.jaccard_score, t, p, average=average,
                     sample_weight=w.astype(np.float64)), 1e-12)
    close(cm.jaccard_score(t > 0, p > 0), sk.jaccard_score(t > 0, p > 0), 1e-12)
    close(cm.jaccard_score(t, p, labels=[2, 5], average=None, zero_division=0),
          _quiet(sk.jaccard_score, t, p, labels=[2, 5], average=None,
                 zero_division=0), 1e-12)
    col_t, col_p = (t > 0).reshape(-1, 1), (p > 0).reshape(-1, 1)
    close(cm.f1_score(col_t, col_p), sk.f1_score(col_t, col_p), 1e-12)
    close(cm.accuracy_score(col_t, col_p), sk.accuracy_score(col_t, col_p), 1e-12)
    with pytest.raises(ValueError, match="Samplewise"):
        cm.precision_score(t, p, average="samples")


# ---------------------------------------------------------------------------
# Label ranking
# ---------------------------------------------------------------------------


def scores(shape, seed, ties=False, dtype=np.float32):
    rng = np.random.default_rng(seed)
    if ties:
        s = rng.integers(-2, 3, shape) / 2.0
    else:
        s = rng.standard_normal(shape)
    return s.astype(np.float32).astype(dtype)


RANKING = ("coverage_error", "label_ranking_average_precision_score",
           "label_ranking_loss")


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_label_ranking(shape, ties, dtype):
    t, _ = pair(shape, 51 + shape[1], p_true=0.4)
    t[-1] = 1  # a row with every label true
    s = scores(shape, 3, ties, dtype)
    w = weights(shape[0], 8)
    for f in RANKING:
        rel = 1e-6 if f.startswith("label_ranking_average") else 1e-12
        close(getattr(cm, f)(t, s), getattr(sk, f)(t, s), rel)
        close(outcome(getattr(cm, f), t, s, sample_weight=w),
              outcome(getattr(sk, f), t, s, sample_weight=w.astype(np.float64)), rel)


def test_label_ranking_edge_cases():
    t = np.array([[1, 0, 0], [0, 0, 0], [1, 1, 1], [0, 1, 1]])
    s = np.array([[0.5, 0.5, 0.5], [1, 2, 3], [3, 2, 1], [np.inf, -np.inf, 0]],
                 dtype=np.float32)
    # +-inf are ranked (scikit-learn rejects them): compare with large values.
    s_fin = np.where(np.isinf(s), np.sign(s) * 1e30, s).astype(np.float32)
    for f in RANKING:
        rel = 1e-6 if f.startswith("label_ranking_average") else 1e-12
        close(getattr(cm, f)(t, s), getattr(sk, f)(t, s_fin), rel)
    one = np.array([[1], [0], [1]])
    s1 = np.array([[0.2], [0.3], [0.1]])
    close(cm.label_ranking_average_precision_score(one, s1),
          sk.label_ranking_average_precision_score(one, s1), 1e-12)
    for f in ("coverage_error", "label_ranking_loss"):
        with pytest.raises(ValueError, match="binary"):
            getattr(cm, f)(one, s1)
    z = np.zeros(4)
    assert outcome(cm.coverage_error, t, s_fin, sample_weight=z) is ZeroDivisionError
    assert outcome(sk.coverage_error, t, s_fin, sample_weight=z) is ZeroDivisionError
    assert outcome(cm.label_ranking_loss, t, s_fin, sample_weight=z) is ZeroDivisionError
    assert np.isnan(_quiet(cm.label_ranking_average_precision_score, t, s_fin,
                           sample_weight=z))


def test_label_ranking_errors():
    t = np.array([[1, 0], [0, 1]])
    with pytest.raises(ValueError, match="row 1, label 0"):
        cm.coverage_error(t, np.array([[0.1, 0.2], [np.nan, 0.3]]))
    with pytest.raises(ValueError, match="row 1, label 0"):
        cm.coverage_error(t, np.array([[0.1, 0.2], [np.nan, 0.3]], dtype=np.float32))
    with pytest.raises(ValueError, match="different shape"):
        cm.label_ranking_loss(t, np.zeros((2, 3)))
    with pytest.raises(ValueError, match="row 0, label 1"):
        cm.label_ranking_loss(np.array([[1, 2], [0, 1]]), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="row 0, label 1"):
        cm.label_ranking_loss(np.array([[1, 2], [0, 1]], dtype=np.uint8), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="2-D"):
        cm.coverage_error(np.array([1, 0]), np.array([0.1, 0.2]))


# ---------------------------------------------------------------------------
# ROC-AUC and average precision of indicator matrices
# ---------------------------------------------------------------------------


def ranking_pair(shape, seed, ties=False, dtype=np.float32):
    """Every label and every row with both classes (scikit-learn's AUC
    needs them)."""
    rng = np.random.default_rng(seed)
    n, L = shape
    t = (rng.random(shape) < 0.4).astype(np.int64)
    t[0] = 1
    t[1] = 0
    t[2:, :] |= (np.arange(n - 2)[:, None] % L == np.arange(L)[None, :])
    t[np.arange(2, n), (np.arange(2, n) + 1) % L] = 0
    return t, scores(shape, seed + 1, ties, dtype)


@pytest.mark.parametrize("shape", [(8, 2), (64, 5), (300, 12)])
@pytest.mark.parametrize("average", AVERAGES)
@pytest.mark.parametrize("ties", [False, True])
def test_roc_auc_average_precision(shape, average, ties):
    t, s = ranking_pair(shape, 61, ties)
    w = weights(shape[0], 3)
    for f in ("roc_auc_score", "average_precision_score"):
        rel = 1e-6 if (f == "average_precision_score" and average == "samples") else 1e-12
        if average == "samples" and f == "roc_auc_score":
            # every row with both classes, except rows 0 and 1
            tt, ss = t[2:], s[2:]
            ww = w[2:]
        else:
            tt, ss, ww = t, s, w
        close(_quiet(getattr(cm, f), tt, ss, average=average),
              _quiet(getattr(sk, f), tt, ss, average=average), rel)
        close(_quiet(getattr(cm, f), tt, ss.astype(np.float64), average=average),
              _quiet(getattr(sk, f), tt, ss, average=average), rel)
        wrel = rel if average == "samples" else 1e-9
        close(outcome(getattr(cm, f), tt, ss, average=average, sample_weight=ww),
              outcome(getattr(sk, f), tt, ss, average=average,
                      sample_weight=ww.astype(np.float64)), wrel)


def test_roc_auc_multilabel_errors_and_edges():
    t, s = ranking_pair((20, 4), 5)
    t_bad = t.copy()
    t_bad[:, 2] = 0
    for avg in (None, "macro", "weighted"):
        with pytest.raises(ValueError, match="Only one class"):
            cm.roc_auc_score(t_bad, s, average=avg)
    with pytest.raises(ValueError, match="Only one class"):
        cm.roc_auc_score(t, s, average="samples")  # rows 0 and 1
    # micro is defined when the raveled matrix has both classes
    close(cm.roc_auc_score(t_bad, s, average="micro"),
          sk.roc_auc_score(t_bad, s, average="micro"), 1e-12)
    # AP of a label without positives warns and scores 0, as scikit-learn 1.2
    with pytest.warns(UserWarning, match="No positive class"):
        got = cm.average_precision_score(t_bad, s, average=None)
    close(got, _quiet(sk.average_precision_score, t_bad, s, average=None), 1e-12)
    close(_quiet(cm.average_precision_score, t_bad, s, average="samples"),
          _quiet(sk.average_precision_score, t_bad, s, average="samples"), 1e-6)
    # no positive weight at all: 'weighted' is 0, as scikit-learn
    zero = np.zeros_like(t)
    zero[0, 0] = 1
    wz = np.ones(20)
    wz[0] = 0
    assert cm.roc_auc_score(zero, s, average="weighted", sample_weight=wz) == 0
    assert sk.roc_auc_score(zero, s, average="weighted", sample_weight=wz) == 0
    with pytest.raises(ValueError, match="pos_label"):
        cm.average_precision_score(t, s, pos_label=0)
    with pytest.raises(ValueError, match="different shape"):
        cm.roc_auc_score(t, s[:, :3])
    with pytest.raises(ValueError, match="average"):
        cm.roc_auc_score(t, s, average="binary")
    with pytest.raises(NotImplementedError):
        cm.roc_auc_score(t, s, max_fpr=0.5)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def test_input_dtypes_and_in_place():
    t, p = pair((40, 6), 13)
    want = sk.precision_recall_fscore_support(t, p, average="micro")
    for dt in (bool, np.uint8, np.int8, np.int32, np.float32, np.float64):
        close(cm.precision_recall_fscore_support(t.astype(dt), p.astype(dt),
                                                 average="micro"), want, 1e-12)
    torch = pytest.importorskip("torch")
    close(cm.precision_recall_fscore_support(torch.from_numpy(t), torch.from_numpy(p),
                                             average="micro"), want, 1e-12)
    tu, pu = t.astype(np.uint8), p.astype(bool)
    cm.f1_score(tu, pu, average="samples", zero_division=0)
    assert _core._last_buffers() == (tu.ctypes.data, pu.ctypes.data)
    s = scores((40, 6), 1)
    cm.coverage_error(tu, s)
    assert _core._last_buffers() == (tu.ctypes.data, s.ctypes.data)
    w = weights(40, 1)
    cm.label_ranking_loss(tu, s, sample_weight=w)
    assert _core._last_weights() == w.ctypes.data


def test_invalid_values():
    t, p = pair((10, 3), 2)
    bad = t.copy()
    bad[4, 1] = 2
    with pytest.raises(ValueError, match="row 4, label 1"):
        cm.f1_score(bad, p, average="macro")
    with pytest.raises(ValueError, match="row 4, label 1"):
        cm.f1_score(bad.astype(np.uint8), p, average="macro")  # the device's check
    with pytest.raises(ValueError, match="row 4, label 1: prediction 2"):
        cm.f1_score(t.astype(np.uint8), bad.astype(np.uint8), average="macro")
    with pytest.raises(ValueError, match="row 4, label 1"):
        cm.roc_auc_score(bad.astype(np.uint8), np.zeros((10, 3)))
    fb = t.astype(float)
    fb[3, 2] = np.nan
    with pytest.raises(ValueError, match="row 3, label 2"):
        cm.hamming_loss(fb, p)
    fb[3, 2] = 0.5
    with pytest.raises(ValueError, match="row 3, label 2"):
        cm.accuracy_score(fb, p)
    with pytest.raises(ValueError, match="mix of multilabel-indicator and binary"):
        cm.accuracy_score(t, p[:, 0])
    with pytest.raises(ValueError, match="different numbers of labels"):
        cm.accuracy_score(t, p[:, :2])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        cm.accuracy_score(t, p[:5])
    with pytest.raises(ValueError, match="average='binary'"):
        cm.f1_score(t, p)
    with pytest.raises(ValueError, match="0 sample"):
        cm.f1_score(t[:0], p[:0], average="micro")
    with pytest.raises(ValueError, match="index 2"):
        cm.f1_score(t, p, average="micro", sample_weight=[1, 1, -1] + [1] * 7)
    with pytest.raises(NotImplementedError, match="samplewise"):
        cm.multilabel_confusion_matrix(t, p, samplewise=True)
    with pytest.raises(ValueError, match="0/1"):
        cm.f1_score(t.astype(str), p.astype(str), average="micro")


# ---------------------------------------------------------------------------
# MultilabelEvaluator
# ---------------------------------------------------------------------------


def test_evaluator_scores_batches_merge_pickle():
    n, L = 500, 7
    t, _ = pair((n, L), 71)
    rng = np.random.default_rng(2)
    z = rng.standard_normal((n, L)).astype(np.float32)
    thr = [0.5, 0.3, 0.7, 0.5, 0.9, 0.1, 0.5]
    pred = (1 / (1 + np.exp(-z.astype(np.float64))) > np.array(thr)).astype(int)
    w = weights(n, 4)
    one = cm.MultilabelEvaluator(L, threshold=thr, zero_division=0, weighted=True)
    one.update(t, z, sample_weight=w)
    a = cm.MultilabelEvaluator(L, threshold=thr, zero_division=0, weighted=True)
    b = cm.MultilabelEvaluator(L, threshold=thr, zero_division=0, weighted=True)
    a.update(t[:123], z[:123], sample_weight=w[:123])
    b.update(t[123:300], z[123:300].astype(np.float64), sample_weight=w[123:300])
    b.update(t[300:], z[300:], sample_weight=w[300:])
    a.merge(pickle.loads(pickle.dumps(b)))
    ra, r1 = a.compute(), one.compute()
    assert a.n == n
    for k in ("micro", "macro", "weighted", "samples"):
        # weighted per-label cells are compensated float32 sums per batch
        close(tuple(ra[k].values()), tuple(r1[k].values()),
              1e-12 if k == "samples" else 1e-6)
        want = sk.precision_recall_fscore_support(t, pred, average=k, zero_division=0,
                                                  sample_weight=w.astype(np.float64))
        close(tuple(r1[k][m] for m in ("precision", "recall", "f1")), want[:3],
              1e-12 if k == "samples" else 1e-6)
    close(r1["subset_accuracy"],
          sk.accuracy_score(t, pred, sample_weight=w.astype(np.float64)), 1e-12)
    close(r1["hamming_loss"],
          sk.hamming_loss(t, pred, sample_weight=w.astype(np.float64)), 1e-12)
    close(r1["coverage_error"],
          _quiet(sk.coverage_error, t, z, sample_weight=w.astype(np.float64)), 1e-12)
    close(r1["label_ranking_average_precision"],
          sk.label_ranking_average_precision_score(t, z, sample_weight=w.astype(np.float64)),
          1e-6)
    close(r1["label_ranking_loss"],
          sk.label_ranking_loss(t, z, sample_weight=w.astype(np.float64)), 1e-12)
    close(a.multilabel_confusion_matrix(),
          sk.multilabel_confusion_matrix(t, pred, sample_weight=w.astype(np.float64)),
          1e-6)
    assert r1["per_label"][0]["counts"]["support"] == int(t[:, 0].sum())
    other = cm.MultilabelEvaluator(L, threshold=0.5, weighted=True)
    with pytest.raises(ValueError, match="cannot merge"):
        a.merge(other)


def test_evaluator_predictions_and_probs():
    t, p = pair((64, 5), 81)
    ev = cm.MultilabelEvaluator(5, from_predictions=True, zero_division=1)
    ev.update(t.astype(bool), p)
    r = ev.compute()
    for k in ("micro", "macro", "weighted", "samples"):
        close(tuple(r[k][m] for m in ("precision", "recall", "f1")),
              sk.precision_recall_fscore_support(t, p, average=k, zero_division=1)[:3],
              1e-12)
    assert "coverage_error" not in r and "loss" not in r
    np.testing.assert_array_equal(ev.multilabel_confusion_matrix(),
                                  sk.multilabel_confusion_matrix(t, p))
    probs = np.random.default_rng(1).random((64, 5))
    evp = cm.MultilabelEvaluator(5, scores="probs", threshold=0.25, zero_division=0)
    evp.update(t, probs)
    rp = evp.compute()
    close(rp["micro"]["f1"],
          sk.f1_score(t, (probs > 0.25).astype(int), average="micro"), 1e-12)
    bce = -(t * np.log(probs) + (1 - t) * np.log1p(-probs)).mean()
    close(rp["loss"]["bce_mean"], bce, 1e-5)
    with pytest.raises(ValueError, match="probability"):
        evp.update(t, probs + 1)
    assert evp.n == 64  # the failed batch left the state unchanged
    with pytest.raises(ValueError, match="shape"):
        evp.update(t[:, :4], probs[:, :4])
    with pytest.raises(ValueError, match="no samples"):
        cm.MultilabelEvaluator(3).compute()
    with pytest.warns(cm.UndefinedMetricWarning):
        cm.MultilabelEvaluator(5, from_predictions=True).update(t, p).compute()
