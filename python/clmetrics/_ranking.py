"""Ranking metrics: exact ROC-AUC, average precision and their curves,
computed by the library's bounded-memory ranking (clm_ranking_compute_arrays)
and returned as scikit-learn returns them."""

from __future__ import annotations

import warnings
from typing import Any, Optional, Tuple

import numpy as np

from . import _core
from ._classification import UndefinedMetricWarning
from ._multilabel import (
    evaluate_scores,
    indicator_u8,
    is_indicator,
    row_counts,
    score_matrix,
    weight_of_rows,
)
from ._validation import (
    _label_kind,
    _not_implemented,
    as_array,
    check_lengths,
    check_nonempty,
    column_or_1d,
    ensure_context,
    sample_weights,
)

ArrayLike = Any

# One curve point of the library: the samples scoring >= threshold (counts
# and sums of their weights).
_CURVE_DTYPE = np.dtype([("threshold", "<f8"), ("tp", "<u8"), ("fp", "<u8"),
                         ("tp_weight", "<f8"), ("fp_weight", "<f8")])

_AVERAGE_OPTIONS = (None, "micro", "macro", "weighted", "samples")

_ONE_CLASS_MSG = (
    "Only one class present in y_true. ROC AUC score is not defined in that case."
)


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def _score_array(y_score: ArrayLike) -> np.ndarray:
    """y_score as float32 or float64 (C-contiguous): float32/float64 arrays
    as they are (no copy when already contiguous), float16 widened to
    float32, every other dtype converted once to float64."""
    a = as_array(y_score)
    if a.dtype == np.float16:
        a = a.astype(np.float32)
    elif a.dtype not in (np.float32, np.float64):
        if a.dtype.kind not in "biuf":
            try:
                a = a.astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise ValueError(
                    f"y_score must be numeric, got dtype {a.dtype}"
                ) from exc
        else:
            a = a.astype(np.float64)
    return np.ascontiguousarray(a)


def _score_1d(s: np.ndarray) -> np.ndarray:
    if s.ndim == 2 and s.shape[1] == 1:
        s = s.reshape(-1)
    if s.ndim != 1:
        raise ValueError(
            f"y should be a 1d array, got an array of shape {s.shape} instead."
        )
    return np.ascontiguousarray(s)


def _unique_labels(t: np.ndarray) -> np.ndarray:
    """Sorted distinct labels (a count for bool and small-range integers,
    a sort otherwise); non-integral floats and mixed types raise
    ``ValueError``."""
    if t.dtype == np.bool_:
        has_true = bool(t.any())
        has_false = not bool(t.all())
        return np.array([v for v, h in ((False, has_false), (True, has_true)) if h],
                        dtype=bool)
    if t.dtype.kind in "iu" and len(t):
        lo, hi = int(t.min()), int(t.max())
        if hi - lo < (1 << 20) and -(1 << 62) < lo and hi < (1 << 62):
            if t.dtype.itemsize == 1 and lo >= 0:
                counts = np.bincount(t, minlength=hi + 1)[lo:]
            else:
                counts = np.bincount((t.astype(np.int64) - lo), minlength=hi - lo + 1)
            return (np.flatnonzero(counts) + lo).astype(t.dtype)
    _label_kind(t)
    return np.unique(t)


def _as_u8(y: np.ndarray, classes: np.ndarray, pos: Any) -> np.ndarray:
    """Labels as uint8 0/1 (1: y == pos), read in place for bool arrays and
    uint8 0/1 arrays whose positive class is 1, else computed once."""
    if y.dtype == np.bool_ and pos is not None and pos == True:  # noqa: E712
        return np.ascontiguousarray(y).view(np.uint8)
    if y.dtype == np.uint8 and pos == 1 and int(classes.max(initial=0)) <= 1:
        return np.ascontiguousarray(y)
    return (y == pos).view(np.uint8)


def _rank(labels: np.ndarray, scores: np.ndarray, k: int = 1,
          curve_points: int = 0, weights: Optional[np.ndarray] = None,
          multilabel: bool = False) -> dict:
    ensure_context()
    r = _core.ranking(labels, scores, k, False, curve_points, 0, False, weights,
                      multilabel)
    if not r["exact"]:  # the exact path always resolves every column
        raise RuntimeError("clmetrics: the ranking did not resolve exactly")
    return r


def _curve(c: dict) -> np.ndarray:
    if c["curve"] is None:
        raise RuntimeError("clmetrics: the ranking returned no curve")
    return np.frombuffer(c["curve"], dtype=_CURVE_DTYPE)


def _check_average(average: Optional[str]) -> None:
    if average not in _AVERAGE_OPTIONS:
        raise ValueError(f"average has to be one of {_AVERAGE_OPTIONS}")


def _binary_input(y_true: ArrayLike, y_score: ArrayLike):
    """(labels 1-D, scores 1-D float32/float64, sorted classes), validated."""
    t = column_or_1d(y_true, "y_true")
    s = _score_1d(_score_array(y_score))
    check_lengths(t, s)
    check_nonempty(len(t), t.shape)
    return t, s, _unique_labels(t)


def _check_pos_label(pos_label: Any, classes: np.ndarray) -> Any:
    """pos_label=None: 1 when the labels are in {0, 1} or {-1, 1} (or one of
    them), else ValueError, as scikit-learn's roc_curve."""
    if pos_label is None:
        ok = classes.dtype.kind not in "OUS" and any(
            np.array_equal(classes, ref) for ref in ([0, 1], [-1, 1], [0], [-1], [1])
        )
        if not ok:
            classes_repr = ", ".join(repr(c) for c in classes.tolist())
            raise ValueError(
                f"y_true takes value in {{{classes_repr}}} and pos_label is not "
                "specified: either make y_true take value in {0, 1} or "
                "{-1, 1} or pass pos_label explicitly."
            )
        return 1
    return pos_label


def _curve_input(y_true, y_score, pos_label, sample_weight):
    """Validation of roc_curve / precision_recall_curve: (u8 labels, scores,
    float32 weights or None)."""
    t, s, classes = _binary_input(y_true, y_score)
    if len(classes) > 2 and pos_label is None:
        raise ValueError("multiclass format is not supported")
    pos = _check_pos_label(pos_label, classes)
    w = sample_weights(sample_weight, len(t), device=True)
    return _as_u8(t, classes, pos), s, w


def _thresholds(pts: np.ndarray, s: np.ndarray,
                w: Optional[np.ndarray] = None) -> np.ndarray:
    """The curve's thresholds in the scores' dtype. The library ranks -0.0
    and +0.0 as one value; scikit-learn's threshold for that group is the
    stored value of its first sample in input order (among the samples of
    nonzero weight), so a zero threshold takes that sample's sign."""
    thr = pts["threshold"].astype(s.dtype)
    z = np.flatnonzero(thr == 0)
    if z.size:
        zero = s == 0
        if w is not None:
            zero &= w > 0
        first = int(np.argmax(zero))
        thr[z[0]] = s[first]
    return thr


def _full_curve(y_true, y_score, pos_label, sample_weight):
    """Every distinct threshold, descending: (fps, tps, thresholds), fps and
    tps as float64 counts (sums of weights with sample_weight; rows of
    weight 0 make no threshold, as scikit-learn drops them)."""
    y, s, w = _curve_input(y_true, y_score, pos_label, sample_weight)
    r = _rank(y, s, 1, curve_points=len(s) + 1, weights=w)
    c = r["classes"][0]
    pts = _curve(c)
    if len(pts) != c["distinct"]:
        raise RuntimeError(
            f"clmetrics: the curve has {len(pts)} points for "
            f"{c['distinct']} distinct scores"
        )
    if w is not None:
        return pts["fp_weight"].copy(), pts["tp_weight"].copy(), _thresholds(pts, s, w)
    fps = pts["fp"].astype(np.float64)
    tps = pts["tp"].astype(np.float64)
    return fps, tps, _thresholds(pts, s)


# ---------------------------------------------------------------------------
# Multi-class (one-vs-rest)
# ---------------------------------------------------------------------------


def _class_indices(t: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """int32 index of each sample's class in `classes` (in place when t is
    already int32 0..K-1)."""
    k = len(classes)
    if (
        t.dtype == np.int32
        and classes.dtype.kind in "iu"
        and np.array_equal(classes, np.arange(k))
    ):
        return np.ascontiguousarray(t)
    idx = np.clip(np.searchsorted(classes, t), 0, k - 1)
    if not np.array_equal(classes[idx], t):
        raise ValueError("'y_true' contains labels not in parameter 'labels'")
    return idx.astype(np.int32)


def _ovr_scores(idx: np.ndarray, s: np.ndarray, average: Optional[str],
                metric: str, n_classes: int, w: Optional[np.ndarray] = None):
    """Per-class (or micro) one-vs-rest metric: returns (per-class scores,
    support: counts, or sums of weights) or, for average="micro", the
    pooled binary value."""
    if average == "micro":
        onehot = np.zeros(s.shape, dtype=np.uint8)
        onehot[np.arange(len(idx)), idx] = 1
        wr = None if w is None else np.repeat(w, n_classes)
        r = _rank(onehot.reshape(-1), s.reshape(-1), 1, weights=wr)
        return r["classes"][0][metric], None
    r = _rank(idx, s, n_classes, weights=w)
    cls = r["classes"]
    if w is not None:
        support = np.array([c["positive_weight"] for c in cls], dtype=np.float64)
    else:
        support = np.array([c["positives"] for c in cls], dtype=np.int64)
    return np.array([c[metric] for c in cls], dtype=np.float64), support


def _average(score: np.ndarray, support: np.ndarray, average: Optional[str]):
    if average is None:
        return score
    if average == "weighted":
        if np.isclose(support.sum(), 0.0):
            return 0
        score = score.copy()
        score[support == 0] = 0
        return float(np.average(score, weights=support))
    return float(np.average(score))


# ---------------------------------------------------------------------------
# Multilabel indicator targets
# ---------------------------------------------------------------------------


_NO_POSITIVE_MSG = (
    "No positive class found in y_true, recall is set to one for all "
    "thresholds."
)


def _multilabel_ranking(t: np.ndarray, y_score: ArrayLike, average: Optional[str],
                        sample_weight: Optional[ArrayLike], metric: str):
    """scikit-learn's _average_binary_score over an (n, L) indicator matrix:
    'micro' ranks the raveled matrix (read in place) with repeated weights;
    None / 'macro' / 'weighted' rank every column against its own labels in
    one exact call (the ranking family's multilabel mode); 'samples' comes from the library's
    multilabel family (per-row pair counts and LRAP of float32 scores)."""
    _check_average(average)
    check_nonempty(t.shape[0], t.shape)
    s = score_matrix(y_score, t.shape)
    y = indicator_u8(t, "y_true", check_u8=True)
    n, L = y.shape
    w = sample_weights(sample_weight, n, device=True)
    if average == "micro":
        wr = None if w is None else np.repeat(w, L)
        r = _rank(y.reshape(-1), s.reshape(-1), weights=wr)["classes"][0]
        return _binary_value(r, metric, w is not None)
    if average == "samples":
        counts = row_counts(y)
        if metric == "roc_auc" and bool(((counts == 0) | (counts == L)).any()):
            raise ValueError(_ONE_CLASS_MSG)
        res = evaluate_scores(y, s, w)
        if not res["weight_sum"] > 0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        if metric == "roc_auc":
            return float(res["roc_auc_samples"])
        # Per row, the step-wise AP equals the row's LRAP (both average,
        # over the true labels j, the true fraction of the labels scoring
        # >= s_j), except rows without true labels: LRAP 1, AP 0.
        empty = counts == 0
        lrap = float(res["label_ranking_average_precision"])
        if not empty.any():
            return lrap
        warnings.warn(_NO_POSITIVE_MSG, UserWarning, stacklevel=3)
        return lrap - weight_of_rows(empty, w) / float(res["weight_sum"])
    if average == "weighted":
        # scikit-learn returns 0 before ranking when no label has positive
        # weight.
        pos_w = (y.sum(axis=0, dtype=np.int64) if w is None
                 else np.asarray(w, dtype=np.float32).astype(np.float64) @ y)
        if np.isclose(pos_w.sum(), 0.0):
            return 0
    # One exact pass over the matrix, each column against its own labels.
    classes = _rank(np.ascontiguousarray(y, dtype=np.uint8),
                    np.ascontiguousarray(s), k=L, weights=w,
                    multilabel=True)["classes"]
    score = np.empty(L, dtype=np.float64)
    support = np.empty(L, dtype=np.float64 if w is not None else np.int64)
    for c in range(L):
        r = classes[c]
        score[c] = _binary_value(r, metric, w is not None)
        support[c] = r["positive_weight"] if w is not None else r["positives"]
    return _average(score, support, average)


def _binary_value(r: dict, metric: str, weighted: bool) -> float:
    """One column's value as scikit-learn's binary metric gives it."""
    if metric == "roc_auc":
        if r["positives"] == 0 or r["negatives"] == 0:
            raise ValueError(_ONE_CLASS_MSG)
        return float(r["roc_auc"])
    if r["positives"] == 0 or (weighted and r["positive_weight"] == 0):
        warnings.warn(_NO_POSITIVE_MSG, UserWarning, stacklevel=4)
        return 0.0
    return float(r["average_precision"])


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def roc_auc_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    average: Optional[str] = "macro",
    sample_weight: Optional[ArrayLike] = None,
    max_fpr: Optional[float] = None,
    multi_class: str = "raise",
    labels: Optional[ArrayLike] = None,
):
    """Compute Area Under the Receiver Operating Characteristic Curve (ROC AUC)
    from prediction scores.

    The value is exact: the Mann-Whitney statistic of the stored scores (a
    positive and a negative with equal scores count 1/2), counted by the
    OpenCL engine in bounded memory.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels. Binary: two classes, the greater label is the positive
        class. Multi-class: the classes index the columns of ``y_score``.
        Multilabel indicator matrices: see the Notes.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        Target scores. Binary: scores of the class with the greater label
        (probabilities, logits or any decision values; float32 scores are
        ranked as float32, float64 as float64, other dtypes are converted to
        float64). Multi-class: probability estimates whose rows sum to 1.
    average : {'micro', 'macro', 'weighted'} or None, default='macro'
        Multi-class one-vs-rest averaging: 'macro' the unweighted mean of the
        per-class AUCs, 'weighted' weighted by support, 'micro' the AUC of the
        raveled one-hot labels against the raveled scores, None the per-class
        values. Ignored for binary targets (but validated).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (scikit-learn's; used as float32, the library's
        weight type). Rows of weight 0 are dropped; a positive and a
        negative contribute w_i w_j (1/2 when their scores are equal);
        'weighted' averages weigh each class by the sum of its positives'
        weights.
    max_fpr : float > 0 and <= 1, default=None
        ``None`` and ``1`` give the full AUC; the standardized partial AUC
        (0 < max_fpr < 1) raises ``NotImplementedError``.
    multi_class : {'raise', 'ovr', 'ovo'}, default='raise'
        Multi-class targets only. 'ovr' computes each class against the rest;
        'ovo' raises ``NotImplementedError``; 'raise' raises ``ValueError``, as
        scikit-learn.
    labels : array-like of shape (n_classes,), default=None
        Multi-class only: the labels of ``y_score``'s columns (sorted, unique);
        None: the sorted classes of ``y_true``.

    Returns
    -------
    auc : float or ndarray of shape (n_classes,)
        Area Under the Curve score (an array for ``average=None`` with
        multi-class targets).

    Raises
    ------
    ValueError
        When ``y_true`` holds one class only ("Only one class present in
        y_true. ROC AUC score is not defined in that case."), also for a
        class of ``labels`` absent from ``y_true``; on NaN scores; on empty
        input; when multi-class scores do not sum to 1 per row.

    See Also
    --------
    average_precision_score : Area under the precision-recall curve.
    roc_curve : Compute Receiver operating characteristic (ROC) curve.

    Notes
    -----
    Differences from scikit-learn: partial AUC raises
    ``NotImplementedError``; ``multi_class='ovo'`` raises
    ``NotImplementedError``; +-inf scores are accepted and ranked (scikit-learn
    rejects them); -0.0 and +0.0 are equal scores, as in scikit-learn. The
    result is exact where scikit-learn integrates the curve with the
    trapezoidal rule in float64, so the two agree to about 1e-15 relative.
    Weighted ranking runs on the host (clm_ranking_compute_arrays_weighted:
    long double sums in a fixed order, about 1e-13 relative at 10^5 rows);
    against scikit-learn with the same (float32-representable) weights the
    results agree to about 1e-12 relative.

    Multilabel indicator ``y_true`` ((n_samples, n_labels) 0/1, n_labels >=
    2) with ``y_score`` of the same shape: 'micro' ranks the raveled matrix
    in one call; None, 'macro' and 'weighted' rank each label's column
    exactly (all labels in one pass; 'weighted' by each label's positives);
    'samples' averages the per-sample AUCs, computed by the library's
    multilabel family from float32 scores (float64 scores are rounded to
    float32 there, so values that round to one float32 tie). A label (or,
    for 'samples', a sample) with one class only raises ``ValueError``, as
    scikit-learn.
    """
    ta = as_array(y_true)
    if is_indicator(ta):
        if max_fpr is not None and max_fpr != 1:
            raise _not_implemented(
                "max_fpr", max_fpr, "the partial AUC is not implemented yet"
            )
        return _multilabel_ranking(ta, y_score, average, sample_weight, "roc_auc")
    t = column_or_1d(y_true, "y_true")
    s = _score_array(y_score)
    check_lengths(t, s)
    check_nonempty(len(t), t.shape)
    w = sample_weights(sample_weight, len(t), device=True)
    classes = _unique_labels(t)
    multiclass = len(classes) > 2 or (
        s.ndim == 2 and s.shape[1] > 2
    )
    if multiclass:
        if max_fpr is not None and max_fpr != 1.0:
            raise ValueError(
                "Partial AUC computation not available in multiclass setting, "
                "'max_fpr' must be set to `None`, received "
                f"`max_fpr={max_fpr}` instead"
            )
        if multi_class == "raise":
            raise ValueError("multi_class must be in ('ovo', 'ovr')")
        return _multiclass_roc_auc(t, s, classes, labels, multi_class, average, w)
    _check_average(average)
    if max_fpr is not None and max_fpr != 1:
        if max_fpr <= 0 or max_fpr > 1:
            raise ValueError(f"Expected max_fpr in range (0, 1], got: {max_fpr!r}")
        raise _not_implemented(
            "max_fpr", max_fpr, "the partial AUC is not implemented yet"
        )
    s = _score_1d(s)
    if len(classes) != 2:
        raise ValueError(_ONE_CLASS_MSG)
    y = _as_u8(t, classes, classes[1])
    return float(_rank(y, s, weights=w)["classes"][0]["roc_auc"])


def _multiclass_roc_auc(t, s, classes, labels, multi_class, average, w=None):
    if s.ndim != 2:
        raise ValueError(
            "y_score must be of shape (n_samples, n_classes) for multiclass "
            f"targets, got shape {s.shape}"
        )
    if not np.allclose(1, s.sum(axis=1)):
        raise ValueError(
            "Target scores need to be probabilities for multiclass "
            "roc_auc, i.e. they should sum up to 1.0 over classes"
        )
    average_options = ("macro", "weighted", None)
    if multi_class == "ovr":
        average_options = ("micro",) + average_options
    if average not in average_options:
        raise ValueError(
            f"average must be one of {average_options} for multiclass problems"
        )
    if multi_class not in ("ovo", "ovr"):
        raise ValueError(
            f"multi_class='{multi_class}' is not supported for multiclass ROC "
            "AUC, multi_class must be in ('ovo', 'ovr')"
        )
    if average is None and multi_class == "ovo":
        raise NotImplementedError(
            "average=None is not implemented for multi_class='ovo'."
        )
    if labels is not None:
        lab = column_or_1d(labels, "labels")
        uniq = np.unique(lab)
        if len(uniq) != len(lab):
            raise ValueError("Parameter 'labels' must be unique")
        if not np.array_equal(uniq, lab):
            raise ValueError("Parameter 'labels' must be ordered")
        if len(uniq) != s.shape[1]:
            raise ValueError(
                f"Number of given labels, {len(uniq)}, not equal to the number "
                f"of columns in 'y_score', {s.shape[1]}"
            )
        if len(np.setdiff1d(classes, uniq)):
            raise ValueError("'y_true' contains labels not in parameter 'labels'")
        classes = uniq
    elif len(classes) != s.shape[1]:
        raise ValueError(
            "Number of classes in y_true not equal to the number of columns in "
            "'y_score'"
        )
    if multi_class == "ovo":
        raise _not_implemented(
            "multi_class", "ovo",
            "the one-vs-one (Hand & Till) average is not implemented; use "
            "multi_class='ovr'",
        )
    idx = _class_indices(t, classes)
    score, support = _ovr_scores(idx, s, average, "roc_auc", len(classes), w)
    if average == "micro":
        return float(score)
    if np.isnan(score).any():  # a class of `labels` absent from y_true
        raise ValueError(_ONE_CLASS_MSG)
    return _average(score, support, average)


def average_precision_score(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    average: Optional[str] = "macro",
    pos_label: Any = 1,
    sample_weight: Optional[ArrayLike] = None,
):
    """Compute average precision (AP) from prediction scores.

    AP summarizes a precision-recall curve as the weighted mean of precisions
    achieved at each threshold, with the increase in recall from the previous
    threshold used as the weight:

    .. math::
        \\text{AP} = \\sum_n (R_n - R_{n-1}) P_n

    where :math:`P_n` and :math:`R_n` are the precision and recall at the nth
    distinct threshold. Not interpolated. The value is exact, computed by the
    OpenCL engine in bounded memory.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True labels: binary, or multi-class (one-vs-rest over the sorted
        classes, which index the columns of ``y_score``, as scikit-learn >=
        1.3). Multilabel indicator matrices: see the Notes.
    y_score : array-like of shape (n_samples,) or (n_samples, n_classes)
        Target scores: probability estimates of the positive class,
        confidence values or logits (float32 ranked as float32, float64 as
        float64, other dtypes converted to float64); (n_samples, n_classes)
        for multi-class targets, each column ranked as given.
    average : {'micro', 'macro', 'weighted'} or None, default='macro'
        Multi-class averaging: 'macro' the unweighted mean of the per-class
        APs, 'weighted' weighted by support, 'micro' the AP of the raveled
        one-hot labels against the raveled scores, None the per-class values.
        Ignored for binary targets (but validated); 'samples' raises
        ``NotImplementedError`` for multi-class targets.
    pos_label : int, float, bool or str, default=1
        The positive class of binary targets. Must be 1 for multi-class
        targets.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (scikit-learn's; used as float32). Rows of weight 0
        are dropped; TP and FP are sums of weights; 'weighted' averages
        weigh each class by the sum of its positives' weights.

    Returns
    -------
    average_precision : float or ndarray of shape (n_classes,)
        Average precision score (an array for ``average=None`` with
        multi-class targets).

    See Also
    --------
    roc_auc_score : Compute the area under the ROC curve.
    precision_recall_curve : Compute precision-recall pairs for different
        probability thresholds.

    Notes
    -----
    Without positive samples scikit-learn 1.2 returns 0 (it warns "No
    positive class found in y_true, recall is set to one for all
    thresholds." and the sum is a signed zero); this function warns the same
    and returns 0.0. The CLI reports the same case as null (undefined). The
    multi-class case follows scikit-learn >= 1.3 (scikit-learn 1.2 raises
    ``ValueError`` for it). +-inf scores are accepted and ranked
    (scikit-learn rejects them). The exact value and scikit-learn's float64
    sum agree to about 1e-15 relative (weighted: about 1e-12, the weighted
    sums being long double on the host). Without positive weight (every
    positive weighing 0) it warns as above and returns 0.0.

    Multilabel indicator ``y_true`` ((n_samples, n_labels) 0/1, n_labels >=
    2) with ``y_score`` of the same shape: 'micro' ranks the raveled matrix
    in one call; None, 'macro' and 'weighted' rank each label's column
    exactly (all labels in one pass; a label without positives warns and
    scores 0.0); 'samples' averages the per-sample APs: a sample's AP
    equals its label ranking average precision (0 for a sample without
    true labels, with the warning above), computed by the library's
    multilabel family from float32 scores (float64 scores rounded to
    float32), about 1e-7 relative.
    """
    _check_average(average)
    ta = as_array(y_true)
    if is_indicator(ta):
        if pos_label != 1:
            raise ValueError(
                "Parameter pos_label is fixed to 1 for multilabel-indicator "
                "y_true. Do not set pos_label or set pos_label to 1."
            )
        return _multilabel_ranking(ta, y_score, average, sample_weight,
                                   "average_precision")
    t = column_or_1d(y_true, "y_true")
    s = _score_array(y_score)
    check_lengths(t, s)
    check_nonempty(len(t), t.shape)
    w = sample_weights(sample_weight, len(t), device=True)
    classes = _unique_labels(t)
    if len(classes) > 2:
        if pos_label != 1:
            raise ValueError(
                "Parameter pos_label is fixed to 1 for multiclass y_true. Do not "
                "set pos_label or set pos_label to 1."
            )
        if s.ndim != 2 or s.shape[1] != len(classes):
            raise ValueError(
                f"y_score must have shape (n_samples, {len(classes)}) for "
                f"multiclass y_true with {len(classes)} classes, got shape "
                f"{s.shape}"
            )
        if average == "samples":
            raise _not_implemented(
                "average", "samples", "per-sample AP of multi-class targets"
            )
        idx = _class_indices(t, classes)
        score, support = _ovr_scores(idx, s, average, "average_precision",
                                     len(classes), w)
        if average == "micro":
            return float(score)
        return _average(score, support, average)
    present = classes.tolist()
    if len(present) == 2 and pos_label not in present:
        raise ValueError(
            f"pos_label={pos_label} is not a valid label. It should be one of "
            f"{present}"
        )
    s = _score_1d(s)
    y = _as_u8(t, classes, pos_label)
    r = _rank(y, s, weights=w)["classes"][0]
    if r["positives"] == 0 or (w is not None and r["positive_weight"] == 0):
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all "
            "thresholds.",
            UserWarning,
            stacklevel=2,
        )
        return 0.0
    return float(r["average_precision"])


def roc_curve(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    sample_weight: Optional[ArrayLike] = None,
    drop_intermediate: bool = True,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute Receiver operating characteristic (ROC).

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels. If labels are not either {-1, 1} or {0, 1}, then
        pos_label should be explicitly given.
    y_score : array-like of shape (n_samples,)
        Target scores: probability estimates of the positive class,
        confidence values or logits (float32 ranked as float32, float64 as
        float64, other dtypes converted to float64).
    pos_label : int, float, bool or str, default=None
        The label of the positive class. When ``pos_label=None``, if `y_true`
        is in {-1, 1} or {0, 1}, ``pos_label`` is set to 1, otherwise an error
        is raised.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32): fps and tps are sums of weights;
        rows of weight 0 make no threshold (scikit-learn drops them).
    drop_intermediate : bool, default=True
        Whether to drop thresholds whose point is collinear with its
        neighbours (scikit-learn's rule: a point is kept where the second
        difference of the false or of the true positive counts is nonzero,
        and the first and last points always), which do not change a plotted
        curve or its area.

    Returns
    -------
    fpr : ndarray of shape (>2,)
        Increasing false positive rates such that element i is the false
        positive rate of predictions with score >= `thresholds[i]`.
    tpr : ndarray of shape (>2,)
        Increasing true positive rates such that element `i` is the true
        positive rate of predictions with score >= `thresholds[i]`.
    thresholds : ndarray of shape (n_thresholds,)
        Decreasing thresholds on the decision function used to compute fpr
        and tpr, in the dtype of ``y_score`` (float32 or float64).
        `thresholds[0]` represents no instances being predicted and is set to
        `max(y_score) + 1` (computed in that dtype), as scikit-learn 1.2 does
        (scikit-learn >= 1.3 uses ``np.inf``).

    See Also
    --------
    roc_auc_score : Compute the area under the ROC curve.
    precision_recall_curve : Compute precision-recall pairs for different
        probability thresholds.

    Notes
    -----
    Every distinct score is a threshold: the engine returns the exact curve
    (n_samples + 1 points at most), then collinear points are dropped here.
    The fpr/tpr values equal scikit-learn's bit for bit. Without negative
    (positive) samples fpr (tpr) is NaN with an ``UndefinedMetricWarning``, as
    scikit-learn. +-inf scores are accepted (scikit-learn rejects them); a
    threshold of zero carries the sign of the first zero score in input
    order, as scikit-learn's. With ``sample_weight`` the rates are ratios
    of sums of weights computed on the host in long double (about 1e-15
    relative of scikit-learn's float64 cumulative sums). With weights whose
    sums are not exact in float64, ``drop_intermediate`` decides
    collinearity on those sums, so it may keep or drop a point that
    scikit-learn's rounded cumulative sums decide the other way (the
    plotted curve and its area are the same).
    """
    fps, tps, thresholds = _full_curve(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and len(fps) > 2:
        keep = np.flatnonzero(
            np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        )
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    tps = np.r_[0, tps]
    fps = np.r_[0, fps]
    first = thresholds[0] + thresholds.dtype.type(1)
    thresholds = np.r_[np.array([first], dtype=thresholds.dtype), thresholds]
    if fps[-1] <= 0:
        warnings.warn(
            "No negative samples in y_true, false positive value should be "
            "meaningless",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        fpr = np.repeat(np.nan, fps.shape)
    else:
        fpr = fps / fps[-1]
    if tps[-1] <= 0:
        warnings.warn(
            "No positive samples in y_true, true positive value should be "
            "meaningless",
            UndefinedMetricWarning,
            stacklevel=2,
        )
        tpr = np.repeat(np.nan, tps.shape)
    else:
        tpr = tps / tps[-1]
    return fpr, tpr, thresholds


def precision_recall_curve(
    y_true: ArrayLike,
    y_score: ArrayLike,
    *,
    pos_label: Any = None,
    sample_weight: Optional[ArrayLike] = None,
    drop_intermediate: bool = False,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute precision-recall pairs for different probability thresholds.

    The last precision and recall values are 1. and 0. respectively and do not
    have a corresponding threshold. This ensures that the graph starts on the
    y axis. The first precision and recall values are precision=class balance
    and recall=1.0, which corresponds to a classifier that always predicts
    the positive class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True binary labels. If labels are not either {-1, 1} or {0, 1}, then
        pos_label should be explicitly given.
    y_score : array-like of shape (n_samples,)
        Target scores: probability estimates of the positive class,
        confidence values or logits (float32 ranked as float32, float64 as
        float64, other dtypes converted to float64). scikit-learn < 1.5 names
        this argument ``probas_pred``.
    pos_label : int, float, bool or str, default=None
        The label of the positive class. When ``pos_label=None``, if y_true is
        in {-1, 1} or {0, 1}, ``pos_label`` is set to 1, otherwise an error
        is raised.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32): TP and FP are sums of weights;
        rows of weight 0 make no threshold (scikit-learn drops them).
    drop_intermediate : bool, default=False
        Whether to drop thresholds where the true positive count equals that
        of both neighbouring thresholds (points on a vertical segment of the
        plotted curve; they do not change the average precision), as
        scikit-learn >= 1.3.

    Returns
    -------
    precision : ndarray of shape (n_thresholds + 1,)
        Precision values such that element i is the precision of predictions
        with score >= thresholds[i] and the last element is 1.
    recall : ndarray of shape (n_thresholds + 1,)
        Decreasing recall values such that element i is the recall of
        predictions with score >= thresholds[i] and the last element is 0.
    thresholds : ndarray of shape (n_thresholds,)
        Increasing thresholds on the decision function used to compute
        precision and recall, in the dtype of ``y_score`` (float32 or
        float64); ``n_thresholds`` is the number of distinct scores.

    See Also
    --------
    average_precision_score : Compute average precision from prediction scores.
    roc_curve : Compute Receiver operating characteristic (ROC) curve.

    Notes
    -----
    The engine returns the exact curve (every distinct score); the values
    equal scikit-learn's bit for bit. Without positive samples recall is 1
    at every threshold, with a warning, as scikit-learn. +-inf scores are
    accepted (scikit-learn rejects them). With ``sample_weight`` the values
    are ratios of sums of weights (long double on the host), about 1e-15
    relative of scikit-learn's.
    """
    fps, tps, thresholds = _full_curve(y_true, y_score, pos_label, sample_weight)
    if drop_intermediate and len(fps) > 2:
        keep = np.flatnonzero(
            np.concatenate(
                [[True], np.logical_or(np.diff(tps[:-1]), np.diff(tps[1:])), [True]]
            )
        )
        fps, tps, thresholds = fps[keep], tps[keep], thresholds[keep]
    ps = tps + fps
    precision = np.zeros_like(tps)
    np.divide(tps, ps, out=precision, where=(ps != 0))
    if tps[-1] == 0:
        warnings.warn(
            "No positive class found in y_true, recall is set to one for all "
            "thresholds.",
            UserWarning,
            stacklevel=2,
        )
        recall = np.ones_like(tps)
    else:
        recall = tps / tps[-1]
    sl = slice(None, None, -1)
    return (
        np.hstack((precision[sl], 1)),
        np.hstack((recall[sl], 0)),
        thresholds[sl],
    )
