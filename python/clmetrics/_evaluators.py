"""Mergeable, picklable evaluators (update / merge / compute / reset)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _core
from ._classification import UndefinedMetricWarning
from ._scores import _float_scores, binary_labels_u8
from ._validation import (
    as_array,
    check_lengths,
    column_or_1d,
    ensure_context,
)

ArrayLike = Any
_KINDS = {"logits": 0, "probs": 1}


def _zd_code(zero_division: Union[str, float]) -> int:
    if isinstance(zero_division, str):
        if zero_division == "warn":
            return 0
    elif isinstance(zero_division, (int, float)) and not isinstance(zero_division, bool):
        if zero_division == 0:
            return 0
        if zero_division == 1:
            return 1
        if math.isnan(zero_division):
            return 2
    raise ValueError(
        f'zero_division must be "warn", 0, 1 or np.nan, got {zero_division!r}'
    )


def _zd_name(zero_division) -> str:
    return {0: "0", 1: "1", 2: "nan"}[_zd_code(zero_division)]


def _device() -> Dict[str, Any]:
    info = _core.context_info() or {}
    return {k: info.get(k) for k in ("platform", "name", "type")}


def _warn_undefined(zero_division, undefined) -> None:
    if zero_division == "warn" and undefined:
        warnings.warn(
            f"{', '.join(undefined)} ill-defined (0/0) and set to 0.0; use "
            "zero_division to control this behavior.",
            UndefinedMetricWarning,
            stacklevel=3,
        )


class BinaryEvaluator:
    """Streaming binary evaluation on the OpenCL device.

    Parameters
    ----------
    threshold : float, default=0.5
        A sample is predicted positive iff its probability is strictly above
        the threshold (for logits: sigma(z) > threshold).
    scores : {"logits", "probs"}, default="logits"
        What ``update``'s scores are.
    zero_division : {"warn", 0, 1, np.nan}, default="warn"
        The value of 0/0 ratios in :meth:`compute` ("warn": 0 and a warning).

    Notes
    -----
    The state is exact counts and float64 sums: evaluators of shards merge
    into the result of one pass, and pickle (for multiprocessing, Dask,
    Ray, Spark workers).
    """

    def __init__(
        self,
        threshold: float = 0.5,
        scores: str = "logits",
        zero_division: Union[str, float] = "warn",
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        _zd_code(zero_division)
        self.threshold = float(threshold)
        self.scores = scores
        self.zero_division = zero_division
        self._state = _core.BinaryState(_KINDS[scores], self.threshold)

    def update(self, y_true: ArrayLike, y_score: ArrayLike) -> "BinaryEvaluator":
        """Adds a batch: 0/1 labels (bool, integer or float) and scores.

        bool/uint8 labels and float32/float64 scores are read in place.
        """
        y = column_or_1d(y_true, "y_true")
        s = _float_scores(column_or_1d(y_score, "y_score"), "y_score")
        check_lengths(y, s)
        ensure_context()
        self._state.update(binary_labels_u8(y), np.ascontiguousarray(s))
        return self

    def merge(self, other: "BinaryEvaluator") -> "BinaryEvaluator":
        """Adds another evaluator's state (same threshold and scores)."""
        if not isinstance(other, BinaryEvaluator):
            raise TypeError("merge expects a BinaryEvaluator")
        self._state.merge(other._state)
        return self

    def reset(self) -> None:
        """Forgets every sample."""
        self._state = _core.BinaryState(_KINDS[self.scores], self.threshold)

    @property
    def n(self) -> int:
        return int(self._state.getstate()["n"])

    def compute(self) -> Dict[str, Any]:
        """The metrics, as a dict with the keys of ``clmetrics binary --json``
        (``timing`` left out).

        Raises ``ValueError`` when no sample was added.
        """
        r = self._state.finalize(_zd_code(self.zero_division))
        _warn_undefined(self.zero_division, r["undefined"])
        return {
            "task": "binary",
            "n": r["n"],
            "threshold": r["threshold"],
            "scores_kind": self.scores,
            "confusion": {k: r[k] for k in ("tp", "fp", "tn", "fn")},
            "accuracy": r["accuracy"],
            "precision": r["precision"],
            "recall": r["recall"],
            "f1": r["f1"],
            "specificity": r["specificity"],
            "balanced_accuracy": r["balanced_accuracy"],
            "mcc": r["mcc"],
            "loss": {"bce_mean": r["bce_mean"], "bce_sum": r["bce_sum"]},
            "gradient": {"bias": r["grad_bias"]},
            "undefined": r["undefined"],
            "zero_division": _zd_name(self.zero_division),
            "device": _device(),
        }

    def __repr__(self) -> str:
        return (
            f"BinaryEvaluator(threshold={self.threshold}, scores={self.scores!r}, "
            f"n={self.n})"
        )


class MulticlassEvaluator:
    """Streaming multi-class evaluation on the OpenCL device.

    Parameters
    ----------
    num_classes : int
        K >= 2; labels are class indices in [0, K).
    top_k : int, default=None
        When set, the top-k accuracy of score updates is computed.
    scores : {"logits", "probs"}, default="logits"
        What score matrices passed to ``update`` are (for the
        cross-entropy: log-sum-exp for logits, -log(clip(p, eps, 1)) for
        probabilities, eps = float32 epsilon, no renormalization).
    zero_division : {"warn", 0, 1, np.nan}, default="warn"
        The value of 0/0 ratios in :meth:`compute`.

    Notes
    -----
    Ties in scores rank the lower class first (argmax as NumPy's; top-k
    likewise), so top-1 accuracy equals accuracy. Macro averages run over
    all K classes.
    """

    def __init__(
        self,
        num_classes: int,
        top_k: Optional[int] = None,
        scores: str = "logits",
        zero_division: Union[str, float] = "warn",
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        _zd_code(zero_division)
        self.num_classes = int(num_classes)
        self.top_k = None if top_k is None else int(top_k)
        self.scores = scores
        self.zero_division = zero_division
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self._state = _core.MulticlassState(self.num_classes, self.top_k or 0)

    def update(self, y_true: ArrayLike, y_pred: ArrayLike) -> "MulticlassEvaluator":
        """Adds a batch: true class indices and either predicted class
        indices (1-D) or an N x K score matrix (2-D).

        int32 labels and float32/float64 C-contiguous scores are read in
        place; other dtypes are converted once.
        """
        y = np.ascontiguousarray(column_or_1d(y_true, "y_true"), dtype=np.int32)
        yt = column_or_1d(y_true, "y_true")
        if yt.dtype.kind == "f" and not np.array_equal(yt, y):
            raise ValueError("class labels must be whole numbers")
        p = as_array(y_pred)
        ensure_context()
        if p.ndim == 2 and p.shape[1] == self.num_classes and self.num_classes > 1:
            s = np.ascontiguousarray(_float_scores(p, "y_pred"))
            check_lengths(y, s)
            self._state.update_scores(y, s, _KINDS[self.scores])
        else:
            pp = column_or_1d(p, "y_pred")
            pi = np.ascontiguousarray(pp, dtype=np.int32)
            if pp.dtype.kind == "f" and not np.array_equal(pp, pi):
                raise ValueError("class labels must be whole numbers")
            check_lengths(y, pi)
            self._state.update_labels(y, pi)
        return self

    def merge(self, other: "MulticlassEvaluator") -> "MulticlassEvaluator":
        """Adds another evaluator's state (same K and top_k)."""
        if not isinstance(other, MulticlassEvaluator):
            raise TypeError("merge expects a MulticlassEvaluator")
        self._state.merge(other._state)
        return self

    @property
    def n(self) -> int:
        return int(self._state.n)

    def confusion_matrix(self) -> np.ndarray:
        """The K x K counts (rows: true class), int64."""
        k = self.num_classes
        return np.frombuffer(self._state.confusion(), dtype=np.uint64).reshape(
            k, k
        ).astype(np.int64)

    def compute(self) -> Dict[str, Any]:
        """The metrics, as a dict with the keys of ``clmetrics multiclass
        --json`` (``timing`` left out; ``confusion_matrix`` as nested lists).

        Raises ``ValueError`` when no sample was added.
        """
        r = self._state.finalize(_zd_code(self.zero_division))
        _warn_undefined(self.zero_division, r["undefined"])
        out: Dict[str, Any] = {
            "task": "multiclass",
            "n": r["n"],
            "classes": r["n_classes"],
            "confusion_matrix": self.confusion_matrix().tolist(),
            "per_class": [
                {k: c[k] for k in ("label", "precision", "recall", "f1", "support",
                                   "predicted")}
                for c in r["per_class"]
            ],
            "accuracy": r["accuracy"],
            "balanced_accuracy": r["balanced_accuracy"],
            "mcc": r["mcc"],
            "cohen_kappa": r["cohen_kappa"],
            "macro": r["macro"],
            "micro": r["micro"],
            "weighted": r["weighted"],
        }
        if r["has_loss"]:
            out["loss"] = {"cross_entropy_mean": r["cross_entropy_mean"]}
        if r["top_k"] and r["has_loss"]:
            out["top_k"] = r["top_k"]
            out["top_k_accuracy"] = r["top_k_accuracy"]
        out["zero_division"] = _zd_name(self.zero_division)
        out["device"] = _device()
        return out

    def __repr__(self) -> str:
        return (
            f"MulticlassEvaluator(num_classes={self.num_classes}, "
            f"top_k={self.top_k}, n={self.n})"
        )
