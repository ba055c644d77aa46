"""Calibration: brier_score_loss, calibration_curve (scikit-learn) and
calibration_error (torchmetrics' CalibrationError), computed by the
library's calibration family (clm_calibration_*) on the OpenCL device."""

from __future__ import annotations

from typing import Any, Optional, Tuple

import numpy as np

from . import _core
from ._validation import (
    _label_kind,
    as_array,
    check_lengths,
    check_nonempty,
    column_or_1d,
    ensure_context,
    sample_weights,
)

ArrayLike = Any

_NORMS = ("l1", "l2", "max")


def _probabilities(y_prob: ArrayLike, name: str) -> np.ndarray:
    """float32 (read in place) or float64 probabilities, C-contiguous."""
    p = as_array(y_prob)
    if p.dtype == np.float16:
        p = p.astype(np.float32)
    elif p.dtype not in (np.float32, np.float64):
        p = p.astype(np.float64)
    p = np.ascontiguousarray(p)
    if np.isnan(p).any():
        raise ValueError(f"{name} contains NaN.")
    return p


def _binary_target(y: np.ndarray, pos_label: Any) -> np.ndarray:
    """uint8 0/1 (1: y == pos_label) with scikit-learn's pos_label rule."""
    _label_kind(y)
    classes = np.unique(y)
    if len(classes) > 2:
        raise ValueError(
            "Only binary classification is supported. The type of the target "
            "is multiclass."
        )
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
        pos_label = 1
    return np.ascontiguousarray((y == pos_label).view(np.uint8))


def _state(n_classes: int, edges: Optional[np.ndarray], n_bins: int,
           weighted: bool) -> "_core.CalibrationState":
    ensure_context()
    return _core.CalibrationState(
        n_classes, n_bins, None if edges is None else [float(e) for e in edges],
        False, weighted,
    )


def brier_score_loss(
    y_true: ArrayLike,
    y_proba: ArrayLike,
    *,
    sample_weight: Optional[ArrayLike] = None,
    pos_label: Any = None,
) -> float:
    """Compute the Brier score loss.

    The smaller the Brier score loss, the better. Binary (1-D ``y_proba``,
    the probability of the positive class): the mean squared difference
    between the predicted probability and the actual outcome, in [0, 1].
    Multi-class (2-D ``y_proba`` of shape (n_samples, n_classes), newer
    scikit-learn's form): the mean over samples of sum_c (p_c - [y = c])^2,
    in [0, 2] (unhalved); with two columns it is halved, which equals the
    binary form of the second column, as scikit-learn's ``scale_by_half=
    "auto"``.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets. Multi-class: the sorted classes index the columns.
    y_proba : array-like of shape (n_samples,) or (n_samples, n_classes)
        Predicted probabilities (used as given, not renormalised).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32).
    pos_label : int, float, bool or str, default=None
        Binary only: the label of the positive class; None: 1 when the
        labels are in {0, 1} or {-1, 1}, else an error.

    Returns
    -------
    score : float
        Brier score loss.

    Notes
    -----
    Computed by the library's calibration family: probabilities as float32
    (float64 input is rounded to nearest float32, so a term's error is at
    most 2^-23 |p - y| absolute), squared differences summed in
    compensated float32 slices and added in float64. Weights summing to 0
    raise ``ValueError``.
    """
    p = _probabilities(y_proba, "y_prob")
    t = column_or_1d(y_true, "y_true")
    check_nonempty(len(t), t.shape)
    check_lengths(t, p)
    if p.ndim == 2 and p.shape[1] == 1:
        p = np.ascontiguousarray(p[:, 0])
    if p.size and p.max() > 1:
        raise ValueError("y_prob contains values greater than 1.")
    if p.size and p.min() < 0:
        raise ValueError("y_prob contains values less than 0.")
    w = sample_weights(sample_weight, len(t), device=True)
    if p.ndim == 1:
        y = _binary_target(t, pos_label)
        st = _state(1, None, 1, w is not None)
        st.update(y, p, w, 1)
        return float(st.finalize()["brier"])
    if p.ndim != 2:
        raise ValueError(f"y_proba must be 1-D or 2-D, got shape {p.shape}")
    _label_kind(t)
    classes, idx = np.unique(t, return_inverse=True)
    k = p.shape[1]
    if len(classes) > k:
        raise ValueError(
            f"y_true has {len(classes)} classes but y_proba has {k} columns"
        )
    if len(classes) < k and not (
        classes.dtype.kind in "iu" and classes.min() >= 0 and classes.max() < k
    ):
        raise ValueError(
            f"y_true has {len(classes)} classes but y_proba has {k} columns; "
            "use labels 0..n_classes-1"
        )
    if len(classes) < k:
        idx = t.astype(np.int64)
    st = _state(k, None, 1, w is not None)
    st.update(np.ascontiguousarray(idx, dtype=np.int32), p, w, 1)
    brier = float(st.finalize()["brier"])
    return brier / 2 if k == 2 else brier


def calibration_curve(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    pos_label: Any = None,
    n_bins: int = 5,
    strategy: str = "uniform",
) -> Tuple[np.ndarray, np.ndarray]:
    """Compute true and predicted probabilities for a calibration curve.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True targets (binary).
    y_prob : array-like of shape (n_samples,)
        Probabilities of the positive class, in [0, 1].
    pos_label : int, float, bool or str, default=None
        The label of the positive class; None: 1 when the labels are in
        {0, 1} or {-1, 1}, else an error.
    n_bins : int, default=5
        Number of bins. A bigger number requires more data. Bins with no
        samples are not returned, so there may be fewer than n_bins values.
    strategy : {'uniform', 'quantile'}, default='uniform'
        'uniform': bins of identical width over [0, 1]. 'quantile': exact
        ``np.percentile`` edges of the (float32-rounded) probabilities,
        computed in NumPy on the host (scikit-learn's edges; not the
        library's fine-bin approximation); repeated edges make empty bins,
        which are dropped.

    Returns
    -------
    prob_true : ndarray of shape (n_bins,) or smaller
        The proportion of positive samples in each non-empty bin.
    prob_pred : ndarray of shape (n_bins,) or smaller
        The mean predicted probability in each non-empty bin.

    Notes
    -----
    Bins hold (lo, hi], the first [0, hi] (scikit-learn's ``searchsorted``
    rule), counted by the library's calibration family on the device.
    Probabilities are float32 there: float64 input is rounded to nearest,
    so a value within half a float32 step above an edge may be counted in
    the lower bin. Means are compensated float32 sums added in float64
    (about 1e-7 relative).
    """
    t = column_or_1d(y_true, "y_true")
    p = _probabilities(column_or_1d(y_prob, "y_prob"), "y_prob")
    check_nonempty(len(t), t.shape)
    check_lengths(t, p)
    if p.min() < 0 or p.max() > 1:
        raise ValueError("y_prob has values outside [0, 1].")
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    y = _binary_target(t, pos_label)
    if strategy == "quantile":
        p32 = p.astype(np.float32).astype(np.float64)
        quantiles = np.linspace(0, 1, n_bins + 1)
        inner = np.unique(np.percentile(p32, quantiles * 100)[1:-1])
    elif strategy == "uniform":
        inner = np.linspace(0.0, 1.0, n_bins + 1)[1:-1]
    else:
        raise ValueError(
            "Invalid entry to 'strategy' input. Strategy must be either "
            "'quantile' or 'uniform'."
        )
    if inner.size and (inner[0] <= 0 or inner[-1] >= 1):
        # An edge at 0 or 1 (quantile edges of data piled up there): the
        # device's edges must be strictly inside (0, 1); count on the host.
        p32 = p.astype(np.float32).astype(np.float64)
        binids = np.searchsorted(inner, p32)
        total = np.bincount(binids, minlength=len(inner) + 1)
        sums = np.bincount(binids, weights=p32, minlength=len(inner) + 1)
        trues = np.bincount(binids, weights=y, minlength=len(inner) + 1)
        nz = total != 0
        return trues[nz] / total[nz], sums[nz] / total[nz]
    edges = np.concatenate([[0.0], inner, [1.0]])
    st = _state(1, edges, len(edges) - 1, False)
    st.update(y, p, None, 1)
    r = st.finalize()
    count = np.asarray(r["count"], dtype=np.int64)
    nz = count > 0
    return (
        np.asarray(r["frequency"], dtype=np.float64)[nz],
        np.asarray(r["confidence"], dtype=np.float64)[nz],
    )


def calibration_error(
    y_true: ArrayLike,
    y_prob: ArrayLike,
    *,
    n_bins: int = 15,
    norm: str = "l1",
    sample_weight: Optional[ArrayLike] = None,
) -> float:
    """Calibration error in torchmetrics' ``CalibrationError`` convention.

    Binary (1-D ``y_prob``): the confidence is the positive-class
    probability and a hit is label 1 (torchmetrics' ``task="binary"``).
    Multi-class (2-D ``y_prob`` of shape (n_samples, n_classes)): top-label,
    the row's largest probability against argmax == label (ties to the
    lowest class; torchmetrics' ``task="multiclass"``).

    Over ``n_bins`` equal-width bins of the confidence ((lo, hi], the first
    [0, hi]), each non-empty bin b with weight share s_b, mean confidence
    c_b and hit frequency a_b:
    'l1' (ECE) = sum_b s_b |a_b - c_b|, 'l2' (RMSCE) = sqrt(sum_b s_b
    (a_b - c_b)^2), 'max' (MCE) = max_b |a_b - c_b|.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        Binary: labels 0/1. Multi-class: class indices in [0, n_classes).
    y_prob : array-like of shape (n_samples,) or (n_samples, n_classes)
        Probabilities in [0, 1] (float32 read in place, float64 rounded to
        float32), used as given (not renormalised).
    n_bins : int, default=15
        Number of equal-width bins (torchmetrics' default).
    norm : {'l1', 'l2', 'max'}, default='l1'
        Which error.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights (used as float32): bin shares and means weighted
        (an extension; torchmetrics has none).

    Returns
    -------
    error : float
    """
    if norm not in _NORMS:
        raise ValueError(f"norm must be one of {_NORMS}, got {norm!r}")
    n_bins = int(n_bins)
    if n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins}")
    t = column_or_1d(y_true, "y_true")
    p = _probabilities(y_prob, "y_prob")
    check_nonempty(len(t), t.shape)
    check_lengths(t, p)
    if p.ndim == 2 and p.shape[1] == 1:
        p = np.ascontiguousarray(p[:, 0])
    if p.min() < 0 or p.max() > 1:
        raise ValueError("y_prob has values outside [0, 1].")
    w = sample_weights(sample_weight, len(t), device=True)
    if p.ndim == 1:
        if t.dtype.kind not in "biuf" or not np.isin(t, (0, 1)).all():
            raise ValueError("binary y_true must hold 0 and 1 only")
        st = _state(1, None, n_bins, w is not None)
        st.update(np.ascontiguousarray(t.astype(np.uint8)), p, w, 1)
    elif p.ndim == 2:
        k = p.shape[1]
        if t.dtype.kind not in "biuf" or not np.array_equal(t, np.floor(t)):
            raise ValueError("multi-class y_true must hold class indices")
        if len(t) and (t.min() < 0 or t.max() >= k):
            raise ValueError(f"y_true must hold class indices in [0, {k})")
        st = _state(k, None, n_bins, w is not None)
        st.update(np.ascontiguousarray(t, dtype=np.int32), p, w, 1)
    else:
        raise ValueError(f"y_prob must be 1-D or 2-D, got shape {p.shape}")
    r = st.finalize()
    return float({"l1": r["ece"], "l2": r["rmsce"], "max": r["mce"]}[norm])
