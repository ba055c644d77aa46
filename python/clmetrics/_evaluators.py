"""Mergeable, picklable evaluators (update / merge / compute / reset)."""

from __future__ import annotations

import math
import warnings
from typing import Any, Dict, Optional, Union

import numpy as np

from . import _core
from ._classification import UndefinedMetricWarning
from ._multilabel import MultilabelResult, indicator_u8
from ._scores import _float_scores, binary_labels_u8
from ._validation import (
    as_array,
    check_lengths,
    column_or_1d,
    ensure_context,
    sample_weights,
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


def _weights_for(weighted: bool, sample_weight, n: int) -> Optional[np.ndarray]:
    """float32 weights for an update: a weighted evaluator takes 1 for every
    sample when none are given; an unweighted one refuses them."""
    if not weighted:
        if sample_weight is not None:
            raise ValueError(
                "this evaluator is unweighted: create it with weighted=True "
                "to pass sample_weight"
            )
        return None
    if sample_weight is None:
        return np.ones(n, dtype=np.float32)
    return sample_weights(sample_weight, n, device=True)


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
    pos_weight : float, default=None
        PyTorch's ``BCEWithLogitsLoss(pos_weight=P)`` for the loss and the
        gradient; None: 1.
    weighted : bool, default=False
        When true, ``update`` takes ``sample_weight`` (1 for every sample of
        a batch passed without) and every metric is weighted
        (scikit-learn's ``sample_weight``; the loss mean is sum w l / sum w).

    Notes
    -----
    The state is exact counts and float64 sums: evaluators of shards merge
    into the result of one pass, and pickle (for multiprocessing, Dask,
    Ray, Spark workers). Merging evaluators with different options raises
    ``ValueError``.
    """

    def __init__(
        self,
        threshold: float = 0.5,
        scores: str = "logits",
        zero_division: Union[str, float] = "warn",
        pos_weight: Optional[float] = None,
        weighted: bool = False,
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        _zd_code(zero_division)
        self.threshold = float(threshold)
        self.scores = scores
        self.zero_division = zero_division
        self.pos_weight = None if pos_weight is None else float(pos_weight)
        self.weighted = bool(weighted)
        self.reset()

    def _new_state(self):
        return _core.BinaryState(
            _KINDS[self.scores], self.threshold, 0,
            1.0 if self.pos_weight is None else self.pos_weight, self.weighted,
        )

    def update(
        self,
        y_true: ArrayLike,
        y_score: ArrayLike,
        sample_weight: Optional[ArrayLike] = None,
    ) -> "BinaryEvaluator":
        """Adds a batch: 0/1 labels (bool, integer or float), scores and,
        for a weighted evaluator, optional sample weights.

        bool/uint8 labels, float32/float64 scores and float32 weights are
        read in place.
        """
        y = column_or_1d(y_true, "y_true")
        s = _float_scores(column_or_1d(y_score, "y_score"), "y_score")
        check_lengths(y, s)
        w = _weights_for(self.weighted, sample_weight, len(y))
        ensure_context()
        self._state.update(binary_labels_u8(y), np.ascontiguousarray(s), None,
                           None, w)
        return self

    def merge(self, other: "BinaryEvaluator") -> "BinaryEvaluator":
        """Adds another evaluator's state (same threshold and scores)."""
        if not isinstance(other, BinaryEvaluator):
            raise TypeError("merge expects a BinaryEvaluator")
        self._state.merge(other._state)
        return self

    def reset(self) -> None:
        """Forgets every sample."""
        self._state = self._new_state()

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
        out: Dict[str, Any] = {
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
        if self.pos_weight is not None:
            out["loss"]["pos_weight"] = r["pos_weight"]
        if self.weighted:
            # As the CLI's JSON: cells are sums of weights, counts beside.
            out["counts"] = out["confusion"]
            out["confusion"] = {k: r["w_" + k] for k in ("tp", "fp", "tn", "fn")}
            out["weighted"] = True
            out["weight_sum"] = r["weight_sum"]
        return out

    def __repr__(self) -> str:
        return (
            f"BinaryEvaluator(threshold={self.threshold}, scores={self.scores!r}, "
            f"pos_weight={self.pos_weight}, weighted={self.weighted}, n={self.n})"
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
    weighted : bool, default=False
        When true, ``update`` takes ``sample_weight`` (1 for every sample of
        a batch passed without); every metric is weighted (scikit-learn's
        ``sample_weight``).
    class_weight : array-like of shape (num_classes,), default=None
        PyTorch's ``CrossEntropyLoss(weight=...)``: changes the loss only.
    ignore_index : int, default=None
        Rows whose true label is this value are skipped by every metric and
        the loss (PyTorch's ``ignore_index``, e.g. -100).
    label_smoothing : float, default=0.0
        PyTorch's ``label_smoothing`` for the loss.

    Notes
    -----
    Ties in scores rank the lower class first (argmax as NumPy's; top-k
    likewise), so top-1 accuracy equals accuracy. Macro averages run over
    all K classes. Merging evaluators with different options raises
    ``ValueError``.
    """

    def __init__(
        self,
        num_classes: int,
        top_k: Optional[int] = None,
        scores: str = "logits",
        zero_division: Union[str, float] = "warn",
        weighted: bool = False,
        class_weight: Optional[ArrayLike] = None,
        ignore_index: Optional[int] = None,
        label_smoothing: float = 0.0,
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        _zd_code(zero_division)
        self.num_classes = int(num_classes)
        self.top_k = None if top_k is None else int(top_k)
        self.scores = scores
        self.zero_division = zero_division
        self.weighted = bool(weighted)
        self.class_weight = (
            None if class_weight is None
            else [float(v) for v in np.asarray(as_array(class_weight)).ravel()]
        )
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.label_smoothing = float(label_smoothing)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self._state = _core.MulticlassState(
            self.num_classes, self.top_k or 0, self.weighted, self.class_weight,
            self.ignore_index, self.label_smoothing,
        )

    def update(
        self,
        y_true: ArrayLike,
        y_pred: ArrayLike,
        sample_weight: Optional[ArrayLike] = None,
    ) -> "MulticlassEvaluator":
        """Adds a batch: true class indices and either predicted class
        indices (1-D) or an N x K score matrix (2-D), and, for a weighted
        evaluator, optional sample weights.

        int32 labels, float32/float64 C-contiguous scores and float32
        weights are read in place; other dtypes are converted once.
        """
        y = np.ascontiguousarray(column_or_1d(y_true, "y_true"), dtype=np.int32)
        yt = column_or_1d(y_true, "y_true")
        if yt.dtype.kind == "f" and not np.array_equal(yt, y):
            raise ValueError("class labels must be whole numbers")
        p = as_array(y_pred)
        w = _weights_for(self.weighted, sample_weight, len(y))
        ensure_context()
        if p.ndim == 2 and p.shape[1] == self.num_classes and self.num_classes > 1:
            s = np.ascontiguousarray(_float_scores(p, "y_pred"))
            check_lengths(y, s)
            self._state.update_scores(y, s, _KINDS[self.scores], None, w)
        else:
            pp = column_or_1d(p, "y_pred")
            pi = np.ascontiguousarray(pp, dtype=np.int32)
            if pp.dtype.kind == "f" and not np.array_equal(pp, pi):
                raise ValueError("class labels must be whole numbers")
            check_lengths(y, pi)
            self._state.update_labels(y, pi, w)
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
        if self.weighted:
            # As the CLI's JSON: sums of weights, the counts beside them.
            k = self.num_classes
            out["confusion_matrix_counts"] = out["confusion_matrix"]
            out["confusion_matrix"] = np.frombuffer(
                self._state.w_confusion(), dtype=np.float64
            ).reshape(k, k).tolist()
            for pc, c in zip(out["per_class"], r["per_class"]):
                pc["support_count"] = pc["support"]
                pc["support"] = c["support_weight"]
                pc["predicted_weight"] = c["predicted_weight"]
            out["weighted"] = True
            out["weight_sum"] = r["weight_sum"]
        if self.ignore_index is not None:
            out["ignored"] = r["n_ignored"]
        if r["has_loss"]:
            out["loss"] = {"cross_entropy_mean": r["cross_entropy_mean"]}
            if (self.weighted or self.class_weight is not None
                    or self.ignore_index is not None or self.label_smoothing):
                out["loss"].update(
                    cross_entropy_sum=r["cross_entropy_sum"],
                    normalizer=r["cross_entropy_norm"],
                    label_smoothing=self.label_smoothing,
                    class_weights=self.class_weight,
                    ignore_index=self.ignore_index,
                )
        if r["top_k"] and r["has_loss"]:
            out["top_k"] = r["top_k"]
            out["top_k_accuracy"] = r["top_k_accuracy"]
        out["zero_division"] = _zd_name(self.zero_division)
        out["device"] = _device()
        return out

    def __repr__(self) -> str:
        return (
            f"MulticlassEvaluator(num_classes={self.num_classes}, "
            f"top_k={self.top_k}, weighted={self.weighted}, n={self.n})"
        )


class CalibrationEvaluator:
    """Streaming calibration (Brier score, ECE, RMSCE, MCE and the
    reliability table) on the OpenCL device, torchmetrics'
    ``CalibrationError`` conventions.

    Parameters
    ----------
    num_classes : int, default=1
        1: binary (the positive-class probability against label 1); K >= 2:
        top-label over an N x K matrix, plus class-wise bins.
    n_bins : int, default=15
        Equal-width bins ((lo, hi], the first [0, hi]).
    scores : {"probs", "logits"}, default="probs"
        What ``update``'s scores are (logits: sigmoid / softmax first).
    weighted : bool, default=False
        When true, ``update`` takes ``sample_weight`` (1 when omitted).
    ignore_index : int, default=None
        Multi-class rows with this label are skipped.

    Notes
    -----
    Counts are exact; sums are compensated float32 slices added in float64,
    so shards merge (and pickle) into the result of one pass. Merging
    evaluators with different options raises ``ValueError``.
    """

    def __init__(
        self,
        num_classes: int = 1,
        n_bins: int = 15,
        scores: str = "probs",
        weighted: bool = False,
        ignore_index: Optional[int] = None,
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        self.num_classes = int(num_classes)
        self.n_bins = int(n_bins)
        self.scores = scores
        self.weighted = bool(weighted)
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        self._state = _core.CalibrationState(
            self.num_classes, self.n_bins, None, True, self.weighted,
            self.ignore_index,
        )

    def update(
        self,
        y_true: ArrayLike,
        y_score: ArrayLike,
        sample_weight: Optional[ArrayLike] = None,
    ) -> "CalibrationEvaluator":
        """Adds a batch: labels (binary 0/1, or class indices) and scores
        (N values, or an N x K matrix)."""
        y = column_or_1d(y_true, "y_true")
        s = np.ascontiguousarray(_float_scores(as_array(y_score), "y_score"))
        check_lengths(y, s)
        w = _weights_for(self.weighted, sample_weight, len(y))
        if self.num_classes == 1:
            labels = binary_labels_u8(y)
        else:
            labels = np.ascontiguousarray(y, dtype=np.int32)
            if y.dtype.kind == "f" and not np.array_equal(y, labels):
                raise ValueError("class labels must be whole numbers")
        ensure_context()
        self._state.update(labels, s, w, _KINDS[self.scores])
        return self

    def merge(self, other: "CalibrationEvaluator") -> "CalibrationEvaluator":
        """Adds another evaluator's state (same options)."""
        if not isinstance(other, CalibrationEvaluator):
            raise TypeError("merge expects a CalibrationEvaluator")
        self._state.merge(other._state)
        return self

    @property
    def n(self) -> int:
        return int(self._state.n)

    def compute(self) -> Dict[str, Any]:
        """Brier, ECE, RMSCE, MCE and the bins (empty bins: NaN means).

        Raises ``ValueError`` when no sample was added (or the weights sum
        to 0).
        """
        r = self._state.finalize()
        bins = [
            {
                "lo": r["lo"][b], "hi": r["hi"][b], "count": r["count"][b],
                "weight": r["weight"][b], "confidence": r["confidence"][b],
                "frequency": r["frequency"][b],
                "gap": r["frequency"][b] - r["confidence"][b],
            }
            for b in range(r["n_bins"])
        ]
        out: Dict[str, Any] = {
            "n": r["n"],
            "brier": r["brier"],
            "ece": r["ece"],
            "rmsce": r["rmsce"],
            "mce": r["mce"],
            "n_bins": r["n_bins"],
            "confidence": "positive_class" if self.num_classes == 1 else "top_label",
            "bins": bins,
        }
        if self.num_classes > 1:
            out["classwise_ece"] = r["classwise_ece"]
            out["classwise_ece_per_class"] = r["classwise_ece_per_class"]
        if self.weighted:
            out["weighted"] = True
            out["weight_sum"] = r["weight_sum"]
        if self.ignore_index is not None:
            out["ignored"] = r["n_ignored"]
        return out

    def __repr__(self) -> str:
        return (
            f"CalibrationEvaluator(num_classes={self.num_classes}, "
            f"n_bins={self.n_bins}, weighted={self.weighted}, n={self.n})"
        )


_ML_UNDEF_BITS = (("precision", 1 << 0), ("recall", 1 << 1), ("f1", 1 << 2),
                  ("jaccard", 1 << 7))


class MultilabelEvaluator:
    """Streaming multilabel evaluation on the OpenCL device: an (N, L) 0/1
    indicator matrix of labels against (N, L) scores (logits or
    probabilities, a threshold per label) or (N, L) 0/1 predictions.

    Parameters
    ----------
    num_labels : int
        L >= 1.
    threshold : float or array-like of shape (num_labels,), default=0.5
        A cell is predicted positive iff its probability is strictly above
        its label's threshold (for logits: sigma(z) > threshold).
    scores : {"logits", "probs"}, default="logits"
        What ``update``'s scores are.
    zero_division : {"warn", 0, 1, np.nan}, default="warn"
        The value of 0/0 ratios in :meth:`compute`.
    weighted : bool, default=False
        When true, ``update`` takes ``sample_weight`` (one weight per row; 1
        for every row of a batch passed without).
    label_ranking : bool, default=True
        Coverage error, label ranking average precision and loss and the
        samples-averaged ROC-AUC (score updates only).
    from_predictions : bool, default=False
        When true, ``update`` takes 0/1 predictions instead of scores (no
        loss, no label ranking).

    Notes
    -----
    Per label the counts are exact and the sums (of weights, of the loss)
    compensated float32 slices added in float64 (about 1e-7 relative); per
    row the ratios are added in float64. Shards merge (and pickle) into the
    result of one pass: exactly for counts, to those roundings for sums.
    Merging evaluators with different options raises ``ValueError``.
    """

    def __init__(
        self,
        num_labels: int,
        threshold: Union[float, ArrayLike] = 0.5,
        scores: str = "logits",
        zero_division: Union[str, float] = "warn",
        weighted: bool = False,
        label_ranking: bool = True,
        from_predictions: bool = False,
    ) -> None:
        if scores not in _KINDS:
            raise ValueError(f'scores must be "logits" or "probs", got {scores!r}')
        _zd_code(zero_division)
        self.num_labels = int(num_labels)
        thr = np.asarray(as_array(threshold), dtype=np.float64)
        self.threshold = (float(thr) if thr.ndim == 0
                          else [float(v) for v in thr.ravel()])
        self.scores = scores
        self.zero_division = zero_division
        self.weighted = bool(weighted)
        self.label_ranking = bool(label_ranking)
        self.from_predictions = bool(from_predictions)
        self.reset()

    def reset(self) -> None:
        """Forgets every sample."""
        per = isinstance(self.threshold, list)
        self._state = _core.MultilabelState(
            self.num_labels, _KINDS[self.scores], self.from_predictions,
            0.5 if per else self.threshold, self.threshold if per else None,
            self.weighted, self.label_ranking,
        )

    def _matrix(self, a: ArrayLike, name: str) -> np.ndarray:
        m = as_array(a)
        if m.ndim == 1 and self.num_labels == 1:
            m = m.reshape(-1, 1)
        if m.ndim != 2 or m.shape[1] != self.num_labels:
            raise ValueError(
                f"{name} must have shape (n_samples, {self.num_labels}), got "
                f"{m.shape}"
            )
        return m

    def update(
        self,
        y_true: ArrayLike,
        y_pred: ArrayLike,
        sample_weight: Optional[ArrayLike] = None,
    ) -> "MultilabelEvaluator":
        """Adds a batch: an (N, L) 0/1 matrix of labels, an (N, L) matrix of
        scores (or of 0/1 predictions with ``from_predictions``) and, for a
        weighted evaluator, optional row weights.

        bool/uint8 indicator matrices, float32/float64 scores and float32
        weights (C-contiguous) are read in place; float64 scores are rounded
        to float32 without moving a score across its threshold.
        """
        y = indicator_u8(self._matrix(y_true, "y_true"), "y_true")
        p = self._matrix(y_pred, "y_pred")
        check_lengths(y, p)
        w = _weights_for(self.weighted, sample_weight, len(y))
        ensure_context()
        if self.from_predictions:
            self._state.update_predictions(y, indicator_u8(p, "y_pred"), w)
        else:
            s = np.ascontiguousarray(_float_scores(p, "y_pred"))
            self._state.update(y, s, w)
        return self

    def merge(self, other: "MultilabelEvaluator") -> "MultilabelEvaluator":
        """Adds another evaluator's state (same options)."""
        if not isinstance(other, MultilabelEvaluator):
            raise TypeError("merge expects a MultilabelEvaluator")
        self._state.merge(other._state)
        return self

    @property
    def n(self) -> int:
        return int(self._state.n)

    def multilabel_confusion_matrix(self) -> np.ndarray:
        """(L, 2, 2) ``[[tn, fp], [fn, tp]]`` per label: int64 counts, or
        float64 sums of weights for a weighted evaluator."""
        return np.array(MultilabelResult(self._state.finalize(0)).cells()).T.reshape(
            -1, 2, 2
        )

    def compute(self) -> Dict[str, Any]:
        """The metrics, as a dict with the keys of ``clmetrics multilabel
        --json`` (``timing`` and the per-label ranking left out).

        Raises ``ValueError`` when no sample was added.
        """
        res = MultilabelResult(self._state.finalize(_zd_code(self.zero_division)))
        r, per = res.r, res.per
        L = res.n_labels
        undefined: Dict[str, Any] = {
            name: [c for c in range(L) if per["undefined"][c] & bit]
            for name, bit in _ML_UNDEF_BITS
        }
        undefined["samples"] = list(r["samples_undefined"])
        if self.zero_division == "warn" and (
            any(undefined[k] for k, _ in _ML_UNDEF_BITS) or undefined["samples"]
        ):
            warnings.warn(
                "some precision, recall, F1 or Jaccard values are ill-defined "
                "(0/0) and set to 0.0; use zero_division to control this "
                "behavior.",
                UndefinedMetricWarning,
                stacklevel=2,
            )
        has_scores = bool(r["has_scores"])
        rows = []
        for c in range(L):
            d: Dict[str, Any] = {"label": c}
            for k in ("tp", "fp", "tn", "fn", "support"):
                d[k] = int(per[k][c])
            for k in ("precision", "recall", "f1", "jaccard"):
                d[k] = float(per[k][c])
            if has_scores:
                d["bce_mean"] = float(per["bce_mean"][c])
            if self.weighted:
                d["counts"] = {k: d[k] for k in ("tp", "fp", "tn", "fn", "support")}
                for k in ("tp", "fp", "tn", "fn"):
                    d[k] = float(per["w_" + k][c])
                d["support"] = float(per["support_weight"][c])
            rows.append(d)
        out: Dict[str, Any] = {
            "task": "multilabel",
            "n": int(r["n"]),
            "labels": L,
            "per_label": rows,
            "micro": r["micro"],
            "macro": r["macro"],
            "weighted": r["weighted_avg"],
            "samples": r["samples"],
            "subset_accuracy": r["subset_accuracy"],
            "hamming_loss": r["hamming_loss"],
            "jaccard": {"samples": r["jaccard_samples"], "macro": r["jaccard_macro"],
                        "micro": r["jaccard_micro"]},
            "undefined": undefined,
        }
        if has_scores:
            out["scores_kind"] = self.scores
            out["threshold"] = self.threshold
            out["loss"] = {"bce_mean": r["bce_mean"]}
        if r["label_ranking"]:
            out["coverage_error"] = r["coverage_error"]
            out["label_ranking_average_precision"] = r[
                "label_ranking_average_precision"]
            out["label_ranking_loss"] = r["label_ranking_loss"]
            out["roc_auc"] = {"samples": r["roc_auc_samples"]}
        if self.weighted:
            out["sample_weighted"] = True
            out["weight_sum"] = r["weight_sum"]
        out["zero_division"] = _zd_name(self.zero_division)
        out["device"] = _device()
        return out

    def __repr__(self) -> str:
        return (
            f"MultilabelEvaluator(num_labels={self.num_labels}, "
            f"scores={self.scores!r}, weighted={self.weighted}, "
            f"from_predictions={self.from_predictions}, n={self.n})"
        )
