"""Multilabel indicator matrices: validation, the library's multilabel state
(clm_multilabel_*) and the label-ranking metrics.

An indicator matrix is an (n_samples, n_labels) array of 0/1 (bool, integer
or float) with n_labels >= 2, as scikit-learn's "multilabel-indicator"; an
(n, 1) column stays a binary target, as in scikit-learn. bool and uint8
C-contiguous matrices are read in place (the device rejects a value other
than 0/1, naming its row and label); other dtypes are checked and converted
once.
"""

from __future__ import annotations

import math
from typing import Any, Dict, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._validation import (
    as_array,
    check_lengths,
    check_nonempty,
    ensure_context,
    sample_weights,
)

ArrayLike = Any

_U64_FIELDS = ("tp", "fp", "tn", "fn", "support")


def is_indicator(a: np.ndarray) -> bool:
    """True for a 2-D array of two or more columns (scikit-learn's
    multilabel-indicator shape)."""
    return a.ndim == 2 and a.shape[1] > 1


def _target_kind(a: np.ndarray) -> str:
    """A short name of a target's type for error messages."""
    if is_indicator(a):
        return "multilabel-indicator"
    try:
        k = len(np.unique(a))
    except TypeError:
        return "unknown"
    return "binary" if k <= 2 else "multiclass"


def indicator_u8(a: np.ndarray, name: str, check_u8: bool = False) -> np.ndarray:
    """An (n, L) 0/1 matrix as C-contiguous uint8: bool and uint8 arrays
    without a copy when already contiguous (the device checks their
    values; ``check_u8`` checks uint8 here, for paths that do not reach
    the multilabel kernel), other numeric dtypes checked and converted
    once. A value other than 0 or 1 (NaN included) raises ``ValueError``
    naming its row and label."""
    if a.dtype == np.bool_:
        return np.ascontiguousarray(a).view(np.uint8)
    if a.dtype.kind not in "biuf":
        raise ValueError(
            f"{name} must be a numeric 0/1 indicator matrix, got dtype {a.dtype}"
        )
    if a.dtype == np.uint8 and not check_u8:
        return np.ascontiguousarray(a)
    with np.errstate(invalid="ignore"):
        bad = (a != 0) & (a != 1)
    if bad.any():
        r, c = np.unravel_index(int(np.argmax(bad)), a.shape)
        raise ValueError(
            f"{name} at row {int(r)}, label {int(c)} (flat index "
            f"{int(r) * a.shape[1] + int(c)}) is {a[r, c]!r}: a multilabel "
            "indicator matrix holds 0 or 1"
        )
    return np.ascontiguousarray(a, dtype=np.uint8)


def multilabel_pair(
    y_true: ArrayLike, y_pred: ArrayLike
) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """None when neither input is an indicator matrix (the binary and
    multi-class paths take them); else both as uint8 (n, L) matrices.
    A mix of an indicator matrix and a 1-D target, or of matrices with
    different numbers of labels, raises ``ValueError``."""
    t, p = as_array(y_true), as_array(y_pred)
    mt, mp = is_indicator(t), is_indicator(p)
    if not (mt or mp):
        return None
    if not (mt and mp):
        raise ValueError(
            "Classification metrics can't handle a mix of "
            f"{_target_kind(t)} and {_target_kind(p)} targets"
        )
    check_lengths(t, p)
    if t.shape[1] != p.shape[1]:
        raise ValueError(
            f"y_true and y_pred have different numbers of labels: {t.shape[1]} "
            f"and {p.shape[1]}"
        )
    check_nonempty(t.shape[0], t.shape)
    return indicator_u8(t, "y_true"), indicator_u8(p, "y_pred")


def label_columns(labels: Any, n_labels: int) -> Optional[np.ndarray]:
    """scikit-learn's `labels` of multilabel targets: column indices in
    [0, n_labels), in the given order; None when they are every column in
    order (no selection needed)."""
    if labels is None:
        return None
    lab = np.asarray(labels).ravel()
    if lab.size == 0:
        raise ValueError("labels must hold at least one column index")
    if lab.dtype.kind not in "iu" and not (
        lab.dtype.kind == "f" and np.array_equal(lab, np.floor(lab))
    ):
        raise ValueError(
            "labels of multilabel targets must be integer column indices, got "
            f"{lab.dtype}"
        )
    lab = lab.astype(np.int64)
    if lab.max() > n_labels - 1:
        raise ValueError(
            "All labels must be in [0, n labels) for multilabel targets. "
            f"Got {int(lab.max())} > {n_labels - 1}"
        )
    if lab.min() < 0:
        raise ValueError(
            "All labels must be in [0, n labels) for multilabel targets. "
            f"Got {int(lab.min())} < 0"
        )
    if np.array_equal(lab, np.arange(n_labels)):
        return None
    return lab


def select_columns(a: np.ndarray, cols: Optional[np.ndarray]) -> np.ndarray:
    if cols is None:
        return a
    return np.ascontiguousarray(a[:, cols])


def zd_code(zero_division: Any) -> int:
    """The library's zero-division policy: 0 ("warn" and 0), 1, 2 (NaN)."""
    if isinstance(zero_division, str):
        return 0
    if isinstance(zero_division, float) and math.isnan(zero_division):
        return 2
    return 1 if zero_division == 1 else 0


class MultilabelResult:
    """The finalized state: per-label arrays (``tp``, ``fp``, ``tn``,
    ``fn``, ``support`` int64; ``w_*``, ``precision``, ... float64) and the
    library's scalars (``r[...]``)."""

    def __init__(self, r: Dict[str, Any]):
        self.r = r
        self.n_labels = int(r["n_labels"])
        self.weighted = bool(r["weighted"])
        self.per: Dict[str, np.ndarray] = {}
        for k, v in r["per_label"].items():
            if k in _U64_FIELDS:
                arr = np.frombuffer(v, dtype=np.uint64).astype(np.int64)
            elif k == "undefined":
                arr = np.frombuffer(v, dtype=np.uint32).copy()
            else:
                arr = np.frombuffer(v, dtype=np.float64).copy()
            self.per[k] = arr

    def __getitem__(self, key: str) -> Any:
        return self.r[key]

    def sums(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(tp, predicted, true) per label: int64 counts, or float64 sums of
        weights for weighted states."""
        p = self.per
        if self.weighted:
            tp = p["w_tp"]
            return tp, tp + p["w_fp"], tp + p["w_fn"]
        tp = p["tp"]
        return tp, tp + p["fp"], tp + p["fn"]

    def cells(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(tn, fp, fn, tp) per label, counts or weight sums."""
        p = self.per
        if self.weighted:
            return p["w_tn"], p["w_fp"], p["w_fn"], p["w_tp"]
        return p["tn"], p["fp"], p["fn"], p["tp"]


def evaluate_predictions(
    t: np.ndarray, p: np.ndarray, w: Optional[np.ndarray], zero_division: Any = 0
) -> MultilabelResult:
    """Counts an (n, L) indicator pair on the device (weights: the float32
    or float64 array of ``sample_weights(..., device=True)``, or None)."""
    ensure_context()
    st = _core.MultilabelState(
        t.shape[1], 0, True, 0.5, None, w is not None, False
    )
    st.update_predictions(t, p, w)
    return MultilabelResult(st.finalize(zd_code(zero_division)))


def score_matrix(y_score: ArrayLike, shape: Tuple[int, ...]) -> np.ndarray:
    """y_score as a C-contiguous (n, L) float32 or float64 matrix (float16
    widened to float32, other numeric dtypes converted to float64)."""
    s = as_array(y_score)
    if s.dtype == np.float16:
        s = s.astype(np.float32)
    elif s.dtype not in (np.float32, np.float64):
        if s.dtype.kind not in "biuf":
            raise ValueError(f"y_score must be numeric, got dtype {s.dtype}")
        s = s.astype(np.float64)
    if s.shape != tuple(shape):
        raise ValueError("y_true and y_score have different shape")
    return np.ascontiguousarray(s)


def evaluate_scores(
    t: np.ndarray, s: np.ndarray, w: Optional[np.ndarray]
) -> MultilabelResult:
    """The label-ranking statistics of an (n, L) indicator matrix against
    scores (logits: any real value, ranked as float32)."""
    ensure_context()
    st = _core.MultilabelState(t.shape[1], 0, False, 0.5, None, w is not None, True)
    st.update(t, s, w)
    return MultilabelResult(st.finalize(0))


def _ranking_inputs(y_true, y_score, sample_weight, name: str, allow_one: bool):
    t = as_array(y_true)
    if t.ndim != 2:
        raise ValueError(
            f"{name} needs a 2-D multilabel indicator y_true, got an array of "
            f"shape {t.shape}"
        )
    if t.shape[1] < 2 and not allow_one:
        raise ValueError(
            "binary format is not supported (a multilabel indicator matrix has "
            "two or more columns)"
        )
    if t.shape[1] < 1:
        raise ValueError("y_true has no labels (0 columns)")
    check_nonempty(t.shape[0], t.shape)
    s = score_matrix(y_score, t.shape)
    w = sample_weights(sample_weight, t.shape[0], device=True)
    return indicator_u8(t, "y_true"), s, w


_NOTE = """
    Computed by the library's multilabel family on the device (one pass
    over the matrix; per row the labels scoring at least each true label's
    score). Scores are ranked as float32 (float64 scores are rounded to
    float32 first, so two float64 values that round to one float32 tie);
    +-inf scores are ranked (scikit-learn rejects them), NaN raises
    ``ValueError`` naming the row and label. ``sample_weight`` is used as
    float32. Differences from scikit-learn: y_true must hold 0/1 (bool,
    integer or float); empty input raises ``ValueError``.
"""


def coverage_error(
    y_true: ArrayLike, y_score: ArrayLike, *, sample_weight: Optional[ArrayLike] = None
) -> float:
    """Coverage error: how far down the ranking of each sample's scores one
    must go, on average, to cover all its true labels (ties count at their
    worst rank; a sample without true labels counts 0).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        True labels in binary indicator format (n_labels >= 2).
    y_score : array-like of shape (n_samples, n_labels)
        Target scores (probabilities, logits or any decision values).
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    coverage_error : float

    Raises
    ------
    ZeroDivisionError
        When the weights sum to 0, as scikit-learn (NumPy's ``average``).
    """
    t, s, w = _ranking_inputs(y_true, y_score, sample_weight, "coverage_error", False)
    r = evaluate_scores(t, s, w)
    if not r["weight_sum"] > 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(r["coverage_error"])


coverage_error.__doc__ += _NOTE


def label_ranking_average_precision_score(
    y_true: ArrayLike, y_score: ArrayLike, *, sample_weight: Optional[ArrayLike] = None
) -> float:
    """Label ranking average precision (LRAP): for each true label of a
    sample, the fraction of the labels ranked at or above it that are true,
    averaged over its true labels and over the samples. A sample with no
    true label, or only true labels, scores 1.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        True labels in binary indicator format (n_labels >= 1, as
        scikit-learn accepts a single 2-D column here).
    y_score : array-like of shape (n_samples, n_labels)
        Target scores.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    score : float
        NaN when the weights sum to 0 (scikit-learn divides by 0 too).

    Notes
    -----
    Each sample's sum over its true labels is accumulated in float32 on the
    device (compensated), then added in float64: about 1e-7 relative.
    """
    t, s, w = _ranking_inputs(
        y_true, y_score, sample_weight, "label_ranking_average_precision_score", True
    )
    r = evaluate_scores(t, s, w)
    return float(r["label_ranking_average_precision"])


label_ranking_average_precision_score.__doc__ += _NOTE


def label_ranking_loss(
    y_true: ArrayLike, y_score: ArrayLike, *, sample_weight: Optional[ArrayLike] = None
) -> float:
    """Ranking loss: per sample, the fraction of (true, false) label pairs
    whose false label scores at least as high as the true one, averaged
    over the samples (0 for a sample with no true or no false label).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_labels)
        True labels in binary indicator format (n_labels >= 2).
    y_score : array-like of shape (n_samples, n_labels)
        Target scores.
    sample_weight : array-like of shape (n_samples,), default=None
        Sample weights.

    Returns
    -------
    loss : float

    Raises
    ------
    ZeroDivisionError
        When the weights sum to 0, as scikit-learn.
    """
    t, s, w = _ranking_inputs(y_true, y_score, sample_weight, "label_ranking_loss", False)
    r = evaluate_scores(t, s, w)
    if not r["weight_sum"] > 0:
        raise ZeroDivisionError("Weights sum to zero, can't be normalized")
    return float(r["label_ranking_loss"])


label_ranking_loss.__doc__ += _NOTE


def row_counts(t: np.ndarray) -> np.ndarray:
    """True labels per row (int64)."""
    return t.sum(axis=1, dtype=np.int64)


def weight_of_rows(mask: np.ndarray, w: Optional[np.ndarray]) -> float:
    if w is None:
        return float(np.count_nonzero(mask))
    return float(np.asarray(w, dtype=np.float32)[mask].astype(np.float64).sum())


__all__: Sequence[str] = (
    "coverage_error",
    "label_ranking_average_precision_score",
    "label_ranking_loss",
)
