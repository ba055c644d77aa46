"""scikit-learn's classification metrics, from a confusion matrix counted on
the OpenCL device; every ratio is derived here in float64 as scikit-learn
1.2 derives it."""

from __future__ import annotations

import warnings
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from . import _core
from ._multilabel import (
    evaluate_predictions,
    label_columns,
    multilabel_pair,
    select_columns,
)
from ._validation import (
    Encoded,
    _not_implemented,
    as_array,
    check_lengths,
    check_nonempty,
    column_or_1d,
    encode,
    ensure_context,
    integer_weights,
    labels_array,
    sample_weights,
)

ArrayLike = Any
ZeroDivision = Union[str, int, float]

_COMMON_NOTE = """
    Differences from scikit-learn: the confusion counts come from the OpenCL
    device; ``sample_weight`` is rounded to float32 (the weights the device
    reads; float32 arrays are read in place, float64 ones converted in
    batches; integer weights above 2^24 are rounded) and the weighted matrix is
    summed in float64 in row order, so weighted results agree with
    scikit-learn's float64 weights to float32 rounding of each weight (about
    6e-8 relative on every sum); NaN, infinite or negative weights raise
    ``ValueError`` naming the index; empty input raises ``ValueError``
    (scikit-learn returns 0 or NaN with a warning). Multilabel-indicator
    targets ((n_samples, n_labels) 0/1 matrices, n_labels >= 2) are counted
    by the library's multilabel family in multilabel_confusion_matrix, the
    precision/recall/F family, jaccard_score, accuracy_score, hamming_loss
    and zero_one_loss (a value other than 0/1 raises ``ValueError`` naming
    its row and label); the other functions raise ``NotImplementedError``
    for them.
"""


class UndefinedMetricWarning(UserWarning):
    """A metric was 0/0 and set by ``zero_division`` (as scikit-learn's)."""


def _check_zero_division(zero_division: ZeroDivision) -> None:
    if isinstance(zero_division, str) and zero_division == "warn":
        return
    if isinstance(zero_division, (int, float)) and not isinstance(zero_division, bool):
        if zero_division in (0, 1) or np.isnan(zero_division):
            return
    raise ValueError(
        f'zero_division must be one of "warn", 0, 1 or np.nan, got {zero_division!r}'
    )


def _is_nan_policy(zero_division: ZeroDivision) -> bool:
    return not isinstance(zero_division, str) and np.isnan(zero_division)


def _zd_value(zero_division: ZeroDivision) -> float:
    if isinstance(zero_division, str) or zero_division == 0:
        return 0.0
    if _is_nan_policy(zero_division):
        return np.nan
    return 1.0


def _warn_prf(average, modifier, msg_start, result_size):
    # Samples-averaged metrics are ill-defined in samples with no ... labels.
    axis0, axis1 = ("label", "sample") if average == "samples" else ("sample", "label")
    where = f"{axis1}s" if result_size > 1 else axis1
    msg = (
        f"{msg_start} ill-defined and being set to 0.0 in {where} with no "
        f"{modifier} {axis0}s. Use `zero_division` parameter to control this "
        "behavior."
    )
    warnings.warn(msg, UndefinedMetricWarning, stacklevel=4)


def _prf_divide(num, den, metric, modifier, average, warn_for, zero_division):
    mask = den == 0.0
    den = den.astype(np.float64, copy=True)
    den[mask] = 1
    result = num / den
    if not np.any(mask):
        return result
    result[mask] = _zd_value(zero_division)
    if zero_division != "warn" or metric not in warn_for:
        return result
    if "f-score" in warn_for:
        msg_start = f"{metric.title()} and F-score are"
    else:
        msg_start = f"{metric.title()} is"
    _warn_prf(average, modifier, msg_start, len(result))
    return result


def _nanaverage(a: np.ndarray, weights=None) -> float:
    if len(a) == 0:
        return np.nan
    mask = np.isnan(a)
    if mask.all():
        return np.nan
    if weights is None:
        return float(np.average(a[~mask]))
    w = np.asarray(weights)[~mask]
    if w.sum() == 0:
        return np.nan
    return float(np.average(a[~mask], weights=w))


def _set_wise_labels(enc: Encoded, average, labels, pos_label):
    average_options = (None, "micro", "macro", "weighted", "samples")
    if average not in average_options and average != "binary":
        raise ValueError("average has to be one of " + str(average_options))
    if average == "samples":
        raise ValueError(
            "Samplewise metrics are not available outside of multilabel "
            "classification."
        )
    y_type = enc.y_type()
    present = enc.present_labels.tolist()
    if average == "binary":
        if y_type == "binary":
            if pos_label not in present and len(present) >= 2:
                raise ValueError(
                    f"pos_label={pos_label} is not a valid label. It should be "
                    f"one of {present}"
                )
            labels = [pos_label]
        else:
            raise ValueError(
                f"Target is {y_type} but average='binary'. Please choose another "
                "average setting, one of [None, 'micro', 'macro', 'weighted']."
            )
    elif pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average "
            f"!= 'binary' (got {average!r}). You may use labels=[pos_label] to "
            "specify a single positive class.",
            UserWarning,
            stacklevel=3,
        )
    return labels


def _sums(enc: Encoded, labels) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """tp, predicted and true sums per label (labels: None = present); sums
    of sample weights when weighted."""
    C = enc.M
    tp = np.diag(C)
    pred = C.sum(axis=0)
    true = C.sum(axis=1)
    if labels is None:
        idx = np.flatnonzero(enc.present)
        return tp[idx], pred[idx], true[idx]
    lab = labels_array(labels)
    idx = enc.index_of(lab)
    # A label that is not a class (pos_label absent from single-class data)
    # has no samples: all its sums are 0, as scikit-learn's.
    absent = np.asarray(enc.classes[idx] != lab, dtype=bool).reshape(idx.shape)
    tp, pred, true = tp[idx].copy(), pred[idx].copy(), true[idx].copy()
    tp[absent] = 0
    pred[absent] = 0
    true[absent] = 0
    return tp, pred, true


def _prfs(
    enc: Encoded,
    *,
    beta: float = 1.0,
    labels=None,
    pos_label=1,
    average=None,
    warn_for=("precision", "recall", "f-score"),
    zero_division: ZeroDivision = "warn",
):
    _check_zero_division(zero_division)
    if beta < 0:
        raise ValueError("beta should be >=0 in the F-beta score")
    labels = _set_wise_labels(enc, average, labels, pos_label)
    tp_sum, pred_sum, true_sum = _sums(enc, labels)
    return _prfs_from_sums(
        tp_sum, pred_sum, true_sum, beta=beta, average=average,
        warn_for=warn_for, zero_division=zero_division,
    )


def _prfs_from_sums(
    tp_sum: np.ndarray,
    pred_sum: np.ndarray,
    true_sum: np.ndarray,
    *,
    beta: float,
    average,
    warn_for,
    zero_division: ZeroDivision,
):
    """scikit-learn's precision, recall, F-beta and support from per-label
    sums (counts, or sums of weights); average in None, binary, micro,
    macro, weighted."""
    if average == "micro":
        tp_sum = np.array([tp_sum.sum()])
        pred_sum = np.array([pred_sum.sum()])
        true_sum = np.array([true_sum.sum()])
    beta2 = beta**2
    precision = _prf_divide(
        tp_sum, pred_sum, "precision", "predicted", average, warn_for, zero_division
    )
    recall = _prf_divide(
        tp_sum, true_sum, "recall", "true", average, warn_for, zero_division
    )
    if zero_division == "warn" and ("f-score",) == tuple(warn_for):
        if (pred_sum[true_sum == 0] == 0).any():
            _warn_prf(average, "true nor predicted", "F-score is", len(true_sum))
    nan_policy = _is_nan_policy(zero_division)
    if np.isposinf(beta):
        f_score = recall
    elif nan_policy:
        # scikit-learn >= 1.3: F from the counts, NaN when they are all 0.
        den = (1 + beta2) * tp_sum + beta2 * (true_sum - tp_sum) + (pred_sum - tp_sum)
        f_score = _prf_divide(
            (1 + beta2) * tp_sum, den, "f-score", "true nor predicted", average,
            warn_for, zero_division,
        )
    else:
        denom = beta2 * precision + recall
        denom[denom == 0.0] = 1
        f_score = (1 + beta2) * precision * recall / denom
    weights = None
    if average == "weighted":
        weights = true_sum
        if weights.sum() == 0:
            zdv = np.float64(_zd_value(zero_division))
            if zero_division == "warn":
                zdv = np.float64(0.0)
            if pred_sum.sum() == 0:
                return zdv, zdv, zdv, None
            return np.float64(0.0), zdv, np.float64(0.0), None
    if average is not None:
        if nan_policy:
            return (
                _nanaverage(precision, weights),
                _nanaverage(recall, weights),
                _nanaverage(f_score, weights),
                None,
            )
        return (
            float(np.average(precision, weights=weights)),
            float(np.average(recall, weights=weights)),
            float(np.average(f_score, weights=weights)),
            None,
        )
    return precision, recall, f_score, true_sum


# ---------------------------------------------------------------------------
# Multilabel indicator matrices
# ---------------------------------------------------------------------------

_ML_AVERAGES = [None, "micro", "macro", "weighted", "samples"]


def _ml_check_average(average, pos_label) -> None:
    """scikit-learn's set-wise checks for multilabel-indicator targets."""
    if average not in _ML_AVERAGES and average != "binary":
        raise ValueError("average has to be one of " + str(tuple(_ML_AVERAGES)))
    if average == "binary":
        raise ValueError(
            "Target is multilabel-indicator but average='binary'. Please choose "
            f"another average setting, one of {_ML_AVERAGES!r}."
        )
    if pos_label not in (None, 1):
        warnings.warn(
            f"Note that pos_label (set to {pos_label!r}) is ignored when average "
            f"!= 'binary' (got {average!r}). You may use labels=[pos_label] to "
            "specify a single positive class.",
            UserWarning,
            stacklevel=4,
        )


def _ml_evaluate(pair, labels, sample_weight, zero_division):
    """(result, weights) of an indicator pair, columns chosen by labels."""
    t, p = pair
    cols = label_columns(labels, t.shape[1])
    t, p = select_columns(t, cols), select_columns(p, cols)
    w = sample_weights(sample_weight, t.shape[0], device=True)
    return evaluate_predictions(t, p, w, zero_division), w


def _ml_samples_undefined(res, w, zero_division) -> set:
    """The samples-averaged metrics with an ill-defined (0/0) row. A row of
    weight 0 is one too: scikit-learn multiplies each row's counts by its
    weight before dividing."""
    if zero_division != "warn":
        return set()
    undef = set(res["samples_undefined"])
    if w is not None and bool((np.asarray(w) == 0).any()):
        undef |= {"precision", "recall", "f1", "jaccard"}
    return undef


def _check_weight_sum(res) -> None:
    if not res["weight_sum"] > 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")


def _ml_prfs(pair, *, beta, labels, pos_label, average, warn_for, sample_weight,
             zero_division):
    _ml_check_average(average, pos_label)
    if average == "samples" and not (beta == 1 or np.isposinf(beta)):
        raise _not_implemented(
            "beta", beta,
            "average='samples' of multilabel targets computes F1 (beta=1) and "
            "recall (beta=inf) per sample; other betas need per-sample "
            "precision and recall",
        )
    res, w = _ml_evaluate(pair, labels, sample_weight, zero_division)
    if average != "samples":
        tp_sum, pred_sum, true_sum = res.sums()
        return _prfs_from_sums(
            tp_sum, pred_sum, true_sum, beta=beta, average=average,
            warn_for=warn_for, zero_division=zero_division,
        )
    _check_weight_sum(res)
    undef = _ml_samples_undefined(res, w, zero_division)
    n = int(res["n"])
    for metric, modifier in (("precision", "predicted"), ("recall", "true")):
        if metric in undef and metric in warn_for:
            start = (f"{metric.title()} and F-score are" if "f-score" in warn_for
                     else f"{metric.title()} is")
            _warn_prf("samples", modifier, start, n)
    if ("f-score",) == tuple(warn_for) and "f1" in undef:
        _warn_prf("samples", "true nor predicted", "F-score is", n)
    avg = res["samples"]
    f = avg["recall"] if np.isposinf(beta) else avg["f1"]
    return avg["precision"], avg["recall"], f, None


def precision_recall_fscore_support(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float = 1.0,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = None,
    warn_for: Tuple[str, ...] = ("precision", "recall", "f-score"),
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Compute precision, recall, F-measure and support for each class.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Ground truth (correct) target values.
    y_pred : array-like of shape (n_samples,)
        Estimated targets as returned by a classifier.
    beta : float, default=1.0
        The strength of recall versus precision in the F-score.
    labels : array-like, default=None
        The set of labels to include when ``average != 'binary'``, and their
        order if ``average is None``.
    pos_label : int, float, bool or str, default=1
        The class to report if ``average='binary'``.
    average : {'binary', 'micro', 'macro', 'weighted'} or None, default=None
        The averaging; ``'samples'`` raises ``ValueError`` (multilabel only).
    warn_for : tuple of str
        Which metrics warn when ill-defined.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32; the support is then the sum of the
        weights of each class's true samples, float64).
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The value of 0/0 ratios; ``np.nan`` follows scikit-learn 1.3 (NaN
        entries are left out of averages).

    Returns
    -------
    precision : float or ndarray of shape (n_labels,)
    recall : float or ndarray of shape (n_labels,)
    fbeta_score : float or ndarray of shape (n_labels,)
    support : None or ndarray of shape (n_labels,)
        int64 counts, or float64 sums of weights with ``sample_weight``.
    """
    _check_zero_division(zero_division)
    if beta < 0:
        raise ValueError("beta should be >=0 in the F-beta score")
    pair = multilabel_pair(y_true, y_pred)
    if pair is not None:
        return _ml_prfs(
            pair, beta=beta, labels=labels, pos_label=pos_label, average=average,
            warn_for=warn_for, sample_weight=sample_weight,
            zero_division=zero_division,
        )
    enc = encode(y_true, y_pred, labels, sample_weight)
    return _prfs(
        enc,
        beta=beta,
        labels=labels,
        pos_label=pos_label,
        average=average,
        warn_for=warn_for,
        zero_division=zero_division,
    )


precision_recall_fscore_support.__doc__ += _COMMON_NOTE


def fbeta_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    beta: float,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Compute the F-beta score.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    beta : float
        Determines the weight of recall in the combined score.
    labels, pos_label, average, sample_weight, zero_division
        As in :func:`precision_recall_fscore_support`.

    Returns
    -------
    fbeta_score : float or ndarray of shape (n_labels,)
    """
    _, _, f, _ = precision_recall_fscore_support(
        y_true, y_pred, beta=beta, labels=labels, pos_label=pos_label,
        average=average, warn_for=("f-score",), sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return f


fbeta_score.__doc__ += _COMMON_NOTE


def f1_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Compute the F1 score, the harmonic mean of precision and recall.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels, pos_label, average, sample_weight, zero_division
        As in :func:`precision_recall_fscore_support`.

    Returns
    -------
    f1_score : float or ndarray of shape (n_labels,)
    """
    return fbeta_score(
        y_true, y_pred, beta=1, labels=labels, pos_label=pos_label,
        average=average, sample_weight=sample_weight, zero_division=zero_division,
    )


f1_score.__doc__ += _COMMON_NOTE


def precision_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Compute the precision tp / (tp + fp).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels, pos_label, average, sample_weight, zero_division
        As in :func:`precision_recall_fscore_support`.

    Returns
    -------
    precision : float or ndarray of shape (n_labels,)
    """
    p, _, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("precision",), sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return p


precision_score.__doc__ += _COMMON_NOTE


def recall_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Compute the recall tp / (tp + fn).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels, pos_label, average, sample_weight, zero_division
        As in :func:`precision_recall_fscore_support`.

    Returns
    -------
    recall : float or ndarray of shape (n_labels,)
    """
    _, r, _, _ = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, pos_label=pos_label, average=average,
        warn_for=("recall",), sample_weight=sample_weight,
        zero_division=zero_division,
    )
    return r


recall_score.__doc__ += _COMMON_NOTE


def accuracy_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    normalize: bool = True,
    sample_weight: Optional[ArrayLike] = None,
) -> float:
    """Accuracy classification score.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    normalize : bool, default=True
        If False, return the number of correctly classified samples (with
        ``sample_weight``: the sum of their weights).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).

    Returns
    -------
    score : float

    Raises
    ------
    ZeroDivisionError
        With ``normalize=True`` when the weights sum to 0, as scikit-learn
        (NumPy's ``average``).
    """
    pair = multilabel_pair(y_true, y_pred)
    if pair is not None:
        # Subset accuracy: the rows whose every label is right.
        res, _ = _ml_evaluate(pair, None, sample_weight, 0)
        if not normalize:
            return float(res["exact_weight"])
        _check_weight_sum(res)
        return float(res["subset_accuracy"])
    enc = encode(y_true, y_pred, sample_weight=sample_weight)
    if enc.weighted:
        correct_w = float(np.trace(enc.W))
        if not normalize:
            return correct_w
        total = float(enc.W.sum())
        if total == 0:
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        return correct_w / total
    correct = int(np.trace(enc.C))
    return correct / enc.n if normalize else float(correct)


accuracy_score.__doc__ += _COMMON_NOTE


def confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    sample_weight: Optional[ArrayLike] = None,
    normalize: Optional[str] = None,
) -> np.ndarray:
    """Compute the confusion matrix (rows: true class, columns: predicted).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like of shape (n_classes,), default=None
        Labels that index the matrix; samples whose label is not among them
        are left out.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32, summed in float64).
    normalize : {'true', 'pred', 'all'}, default=None
        Normalizes over rows, columns or the whole matrix.

    Returns
    -------
    C : ndarray of shape (n_classes, n_classes)
        int64 counts, or float64 when normalized. With ``sample_weight``
        the sums of weights: int64 for integer or bool weights, float64
        otherwise (scikit-learn's dtypes).
    """
    if normalize not in ("true", "pred", "all", None):
        raise ValueError("normalize must be one of {'true', 'pred', 'all', None}")
    enc = encode(y_true, y_pred, labels, sample_weight)
    if labels is None:
        idx = np.flatnonzero(enc.present)
    else:
        lab = labels_array(labels)
        if lab.size == 0:
            raise ValueError("'labels' should contains at least one label.")
        idx = enc.index_of(lab)
        if not enc.in_true[idx].any():
            raise ValueError("At least one label specified must be in y_true")
    cm = enc.M[np.ix_(idx, idx)]
    if enc.weighted and integer_weights(sample_weight):
        cm = np.rint(cm).astype(np.int64)
    if normalize is not None:
        with np.errstate(all="ignore"):
            if normalize == "true":
                cm = cm / cm.sum(axis=1, keepdims=True)
            elif normalize == "pred":
                cm = cm / cm.sum(axis=0, keepdims=True)
            else:
                cm = cm / cm.sum()
        cm = np.nan_to_num(cm)
    return cm


confusion_matrix.__doc__ += _COMMON_NOTE


def balanced_accuracy_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: Optional[ArrayLike] = None,
    adjusted: bool = False,
) -> float:
    """Compute the balanced accuracy: the mean recall of the classes present
    in ``y_true``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).
    adjusted : bool, default=False
        When true, the result is adjusted for chance (random = 0).

    Returns
    -------
    balanced_accuracy : float
    """
    enc = encode(y_true, y_pred, sample_weight=sample_weight)
    C = enc.M
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = np.diag(C) / C.sum(axis=1)
    if np.any(np.isnan(per_class)):
        warnings.warn("y_pred contains classes not in y_true", UserWarning)
        per_class = per_class[~np.isnan(per_class)]
    score = np.mean(per_class)
    if adjusted:
        n_classes = len(per_class)
        chance = 1 / n_classes
        score -= chance
        score /= 1 - chance
    return float(score)


balanced_accuracy_score.__doc__ += _COMMON_NOTE


def matthews_corrcoef(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: Optional[ArrayLike] = None
) -> float:
    """Compute the Matthews correlation coefficient (multi-class: Gorodkin's
    R_K).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).

    Returns
    -------
    mcc : float
        0.0 when it is undefined, as scikit-learn.
    """
    enc = encode(y_true, y_pred, sample_weight=sample_weight)
    C = enc.M
    t_sum = C.sum(axis=1, dtype=np.float64)
    p_sum = C.sum(axis=0, dtype=np.float64)
    n_correct = np.trace(C, dtype=np.float64)
    n_samples = p_sum.sum()
    cov_ytyp = n_correct * n_samples - np.dot(t_sum, p_sum)
    cov_ypyp = n_samples**2 - np.dot(p_sum, p_sum)
    cov_ytyt = n_samples**2 - np.dot(t_sum, t_sum)
    if cov_ypyp * cov_ytyt == 0:
        return 0.0
    return float(cov_ytyp / np.sqrt(cov_ytyt * cov_ypyp))


matthews_corrcoef.__doc__ += _COMMON_NOTE


def cohen_kappa_score(
    y1: ArrayLike,
    y2: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    weights: Optional[str] = None,
    sample_weight: Optional[ArrayLike] = None,
) -> float:
    """Compute Cohen's kappa, the agreement of two annotators.

    Parameters
    ----------
    y1, y2 : array-like of shape (n_samples,)
        Labels assigned by the two annotators.
    labels : array-like of shape (n_classes,), default=None
        Labels that index the matrix.
    weights : {'linear', 'quadratic'}, default=None
        Weighting of disagreements.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).

    Returns
    -------
    kappa : float
    """
    confusion = confusion_matrix(y1, y2, labels=labels, sample_weight=sample_weight)
    n_classes = confusion.shape[0]
    sum0 = np.sum(confusion, axis=0)
    sum1 = np.sum(confusion, axis=1)
    expected = np.outer(sum0, sum1) / np.sum(sum0)
    if weights is None:
        w_mat = np.ones([n_classes, n_classes], dtype=int)
        w_mat.flat[:: n_classes + 1] = 0
    elif weights in ("linear", "quadratic"):
        w_mat = np.zeros([n_classes, n_classes], dtype=int)
        w_mat += np.arange(n_classes)
        if weights == "linear":
            w_mat = np.abs(w_mat - w_mat.T)
        else:
            w_mat = (w_mat - w_mat.T) ** 2
    else:
        raise ValueError("Unknown kappa weighting type.")
    with np.errstate(divide="ignore", invalid="ignore"):
        k = np.sum(w_mat * confusion) / np.sum(w_mat * expected)
    return float(1 - k)


cohen_kappa_score.__doc__ += _COMMON_NOTE


def classification_report(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    target_names: Optional[List[str]] = None,
    sample_weight: Optional[ArrayLike] = None,
    digits: int = 2,
    output_dict: bool = False,
    zero_division: ZeroDivision = "warn",
) -> Union[str, Dict[str, Any]]:
    """Build a text report (or a dict) of the main classification metrics.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels.
    labels : array-like of shape (n_labels,), default=None
        Labels to include in the report.
    target_names : list of str of shape (n_labels,), default=None
        Display names matching the labels (same order).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32; supports are then float sums).
    digits : int, default=2
        Digits of the floating point values (text only).
    output_dict : bool, default=False
        Return a dict instead of text.
    zero_division : {"warn", 0.0, 1.0, np.nan}, default="warn"
        The value of 0/0 ratios.

    Returns
    -------
    report : str or dict
        The layout of scikit-learn's ``classification_report``.
    """
    _check_zero_division(zero_division)
    enc = encode(y_true, y_pred, labels, sample_weight)
    y_type = enc.y_type()
    if labels is None:
        labels = enc.present_labels
        labels_given = False
    else:
        labels = np.asarray(labels)
        labels_given = True
    micro_is_accuracy = not labels_given or (
        set(labels.tolist()) == set(enc.present_labels.tolist())
    )
    if target_names is not None and len(labels) != len(target_names):
        if labels_given:
            warnings.warn(
                "labels size, {0}, does not match size of target_names, {1}".format(
                    len(labels), len(target_names)
                )
            )
        else:
            raise ValueError(
                "Number of classes, {0}, does not match size of "
                "target_names, {1}. Try specifying the labels "
                "parameter".format(len(labels), len(target_names))
            )
    if target_names is None:
        target_names = ["%s" % l for l in labels]
    headers = ["precision", "recall", "f1-score", "support"]
    p, r, f1, s = _prfs(
        enc, labels=labels, average=None, zero_division=zero_division
    )
    rows = zip(target_names, p, r, f1, s)
    average_options = ("micro", "macro", "weighted")
    if output_dict:
        report_dict = {label[0]: label[1:] for label in rows}
        for label, scores in report_dict.items():
            report_dict[label] = dict(zip(headers, [i.item() for i in scores]))
    else:
        longest_last_line_heading = "weighted avg"
        name_width = max(len(cn) for cn in target_names)
        width = max(name_width, len(longest_last_line_heading), digits)
        head_fmt = "{:>{width}s} " + " {:>9}" * len(headers)
        report = head_fmt.format("", *headers, width=width)
        report += "\n\n"
        row_fmt = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for row in rows:
            report += row_fmt.format(*row, width=width, digits=digits)
        report += "\n"
    for average in average_options:
        if average.startswith("micro") and micro_is_accuracy:
            line_heading = "accuracy"
        else:
            line_heading = average + " avg"
        avg_p, avg_r, avg_f1, _ = _prfs(
            enc, labels=labels, average=average, zero_division=zero_division
        )
        avg = [avg_p, avg_r, avg_f1, np.sum(s)]
        if output_dict:
            report_dict[line_heading] = dict(
                zip(headers, [np.asarray(i).item() for i in avg])
            )
        elif line_heading == "accuracy":
            row_fmt_accuracy = (
                "{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f}"
                + " {:>9}\n"
            )
            report += row_fmt_accuracy.format(
                line_heading, "", "", *avg[2:], width=width, digits=digits
            )
        else:
            report += row_fmt.format(line_heading, *avg, width=width, digits=digits)
    if output_dict:
        if "accuracy" in report_dict:
            report_dict["accuracy"] = report_dict["accuracy"]["precision"]
        return report_dict
    return report


classification_report.__doc__ += _COMMON_NOTE


def multilabel_confusion_matrix(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    sample_weight: Optional[ArrayLike] = None,
    labels: Optional[ArrayLike] = None,
    samplewise: bool = False,
) -> np.ndarray:
    """Compute a 2 x 2 confusion matrix per label (or class):
    ``[[tn, fp], [fn, tp]]``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or multilabel indicator matrices (0/1;
        bool, integer or float; ``n_labels >= 2``).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).
    labels : array-like, default=None
        1-D targets: the classes to report, in order (absent ones give
        zeros). Indicator matrices: column indices in ``[0, n_labels)``
        (the columns are selected before counting).
    samplewise : bool, default=False
        Per-sample matrices of indicator matrices: not implemented (raises
        ``NotImplementedError``; the library keeps per-label counts and
        per-sample ratios, not per-sample matrices). 1-D targets raise
        ``ValueError`` as scikit-learn.

    Returns
    -------
    multi_confusion : ndarray of shape (n_outputs, 2, 2)
        int64 counts; with ``sample_weight`` float64 sums of weights (as
        scikit-learn, whatever the weights' dtype).
    """
    pair = multilabel_pair(y_true, y_pred)
    if pair is None:
        if samplewise:
            raise ValueError(
                "Samplewise metrics are not available outside of multilabel "
                "classification."
            )
        enc = encode(y_true, y_pred, labels, sample_weight)
        tp, pred, true = _sums(enc, labels)
        fp, fn = pred - tp, true - tp
        tn = enc.M.sum() - tp - fp - fn
        cells = [tn, fp, fn, tp]
        if not enc.weighted and not tp.any():
            # scikit-learn's counts are float64 when no sample is right.
            cells = [c.astype(np.float64) for c in cells]
    else:
        if samplewise:
            raise _not_implemented(
                "samplewise", True,
                "per-sample confusion matrices of multilabel targets are not "
                "kept by the library (average='samples' metrics are)",
            )
        res, _ = _ml_evaluate(pair, labels, sample_weight, 0)
        cells = list(res.cells())
    return np.array(cells).T.reshape(-1, 2, 2)


multilabel_confusion_matrix.__doc__ += _COMMON_NOTE


def _jaccard_from(num, den, support, average, zero_division):
    if average == "micro":
        num = np.array([num.sum()])
        den = np.array([den.sum()])
    j = _prf_divide(num, den, "jaccard", "true or predicted", average,
                    ("jaccard",), zero_division)
    if average is None:
        return j
    weights = None
    if average == "weighted":
        weights = support
        if not np.any(weights):
            weights = None  # scikit-learn: every label without support
    if _is_nan_policy(zero_division):
        return _nanaverage(j, weights)
    return float(np.average(j, weights=weights))


def jaccard_score(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    labels: Optional[ArrayLike] = None,
    pos_label: Any = 1,
    average: Optional[str] = "binary",
    sample_weight: Optional[ArrayLike] = None,
    zero_division: ZeroDivision = "warn",
):
    """Jaccard similarity coefficient: tp / (tp + fp + fn).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or multilabel indicator matrices.
    labels, pos_label, sample_weight, zero_division
        As in :func:`precision_recall_fscore_support`.
    average : {'binary', 'micro', 'macro', 'weighted', 'samples'} or None
        'samples' (per-sample coefficients, averaged with the sample
        weights) for multilabel targets only.

    Returns
    -------
    score : float or ndarray of shape (n_labels,)
    """
    _check_zero_division(zero_division)
    pair = multilabel_pair(y_true, y_pred)
    if pair is not None:
        _ml_check_average(average, pos_label)
        res, w = _ml_evaluate(pair, labels, sample_weight, zero_division)
        if average == "samples":
            _check_weight_sum(res)
            if "jaccard" in _ml_samples_undefined(res, w, zero_division):
                _warn_prf("samples", "true or predicted", "Jaccard is", int(res["n"]))
            return float(res["jaccard_samples"])
        tn, fp, fn, tp = res.cells()
        return _jaccard_from(tp, tp + fp + fn, tp + fn, average, zero_division)
    enc = encode(y_true, y_pred, labels, sample_weight)
    labels = _set_wise_labels(enc, average, labels, pos_label)
    tp, pred, true = _sums(enc, labels)
    fp, fn = pred - tp, true - tp
    return _jaccard_from(tp, tp + fp + fn, true, average, zero_division)


jaccard_score.__doc__ += _COMMON_NOTE


def hamming_loss(
    y_true: ArrayLike, y_pred: ArrayLike, *, sample_weight: Optional[ArrayLike] = None
) -> float:
    """The fraction of labels predicted wrongly (1-D targets: of samples).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or multilabel indicator matrices.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).

    Returns
    -------
    loss : float
        Multilabel: sum_i w_i (wrong labels of i) / (n_labels sum_i w_i); NaN
        when the weights sum to 0 (scikit-learn divides 0 by 0 too).

    Raises
    ------
    ZeroDivisionError
        1-D targets whose weights sum to 0, as scikit-learn.
    """
    pair = multilabel_pair(y_true, y_pred)
    if pair is not None:
        res, _ = _ml_evaluate(pair, None, sample_weight, 0)
        return float(res["hamming_loss"])
    enc = encode(y_true, y_pred, sample_weight=sample_weight)
    M = enc.M
    total = float(M.sum())
    if total == 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return (total - float(np.trace(M))) / total


hamming_loss.__doc__ += _COMMON_NOTE


def zero_one_loss(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    normalize: bool = True,
    sample_weight: Optional[ArrayLike] = None,
) -> float:
    """Zero-one classification loss: 1 - accuracy (multilabel: 1 - subset
    accuracy); with ``normalize=False`` the number (or weight) of samples
    not exactly right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,) or (n_samples, n_labels)
        True and predicted labels, or multilabel indicator matrices.
    normalize : bool, default=True
        Return the fraction (True) or the count / sum of weights (False).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).

    Returns
    -------
    loss : float
    """
    score = accuracy_score(y_true, y_pred, normalize=normalize,
                           sample_weight=sample_weight)
    if normalize:
        return 1 - score
    if sample_weight is None:
        return float(len(as_array(y_true)) - score)
    return float(np.sum(sample_weights(sample_weight, len(as_array(y_true)))
                        .astype(np.float64)) - score)


zero_one_loss.__doc__ += _COMMON_NOTE
