"""clmetrics: classifier evaluation on OpenCL devices.

scikit-learn's metric functions (same names, arguments, defaults and
results), mergeable evaluators and the binary cross-entropy with its
gradients, over NumPy arrays (read in place), lists and PyTorch CPU tensors.
One OpenCL context per process is created on first use (``init`` chooses the
device; ``CLMETRICS_DEVICE`` is honoured); the GIL is released while the
device works.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

from . import _core
from ._classification import (
    UndefinedMetricWarning,
    accuracy_score,
    balanced_accuracy_score,
    classification_report,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    fbeta_score,
    hamming_loss,
    jaccard_score,
    matthews_corrcoef,
    multilabel_confusion_matrix,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    zero_one_loss,
)
from ._calibration import brier_score_loss, calibration_curve, calibration_error
from ._evaluators import (
    BinaryEvaluator,
    CalibrationEvaluator,
    MulticlassEvaluator,
    MultilabelEvaluator,
)
from ._multilabel import (
    coverage_error,
    label_ranking_average_precision_score,
    label_ranking_loss,
)
from ._ranking import (
    average_precision_score,
    precision_recall_curve,
    roc_auc_score,
    roc_curve,
)
from ._scores import (
    BCEResult,
    bce_with_logits,
    cross_entropy,
    log_loss,
    top_k_accuracy_score,
)
from ._validation import _init_lock

__version__ = _core.version


def devices() -> List[Dict[str, Any]]:
    """Every OpenCL device of every platform (index, platform, name, type,
    memory sizes, ...); the index or a name substring selects one in
    :func:`init`."""
    return _core.devices()


def init(device: Optional[Union[int, str]] = None) -> Dict[str, Any]:
    """Creates the process-wide context on a device and returns its
    description.

    Parameters
    ----------
    device : int or str, default=None
        An index from :func:`devices` or a case-insensitive substring of
        "platform device". None: ``$CLMETRICS_DEVICE``, else the first GPU,
        else the first device.

    Raises
    ------
    RuntimeError
        When the context already exists on another device spec, or OpenCL
        fails. Call it before the first evaluation to choose the device;
        later calls with the same spec (or None) return the same context.
    """
    spec = None if device is None else str(device)
    with _init_lock:
        return _core.init(spec)


def device_info() -> Optional[Dict[str, Any]]:
    """The context's device, start-up seconds and kernel build options, or
    None before the first evaluation."""
    return _core.context_info()


__all__ = [
    "BCEResult",
    "BinaryEvaluator",
    "CalibrationEvaluator",
    "MulticlassEvaluator",
    "MultilabelEvaluator",
    "UndefinedMetricWarning",
    "accuracy_score",
    "average_precision_score",
    "balanced_accuracy_score",
    "bce_with_logits",
    "brier_score_loss",
    "calibration_curve",
    "calibration_error",
    "classification_report",
    "cohen_kappa_score",
    "confusion_matrix",
    "coverage_error",
    "cross_entropy",
    "device_info",
    "devices",
    "f1_score",
    "fbeta_score",
    "hamming_loss",
    "init",
    "jaccard_score",
    "label_ranking_average_precision_score",
    "label_ranking_loss",
    "log_loss",
    "matthews_corrcoef",
    "multilabel_confusion_matrix",
    "precision_recall_curve",
    "precision_recall_fscore_support",
    "precision_score",
    "recall_score",
    "roc_auc_score",
    "roc_curve",
    "top_k_accuracy_score",
    "zero_one_loss",
]
