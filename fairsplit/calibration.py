"""Choosing the recognizability threshold τ from labelled cases (docs/attribution.md).

A case is the style uplift of one named artist and whether their style is really in the
image (visible) or not (an artist the model does not know, whose naming cannot have
shown). τ is the threshold on the ROC curve of "uplift ≥ τ ⇒ visible" that maximises
Youden's J = recall − false-positive rate, placed halfway between the two uplifts it
separates (the widest margin to both sides); ties go to the higher τ (fewer payments for
invisible styles). Pure numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Calibration:
    tau: float
    precision: float  # of the artists with uplift ≥ τ, the share that are visible
    recall: float  # of the visible artists, the share with uplift ≥ τ
    false_positive_rate: float
    cases: int
    visible: int
    rule: str = "max Youden J (recall − false-positive rate), midway between neighbouring uplifts"


def rates(uplifts: Sequence[float], visible: Sequence[bool], tau: float) -> tuple[float, float, float]:
    """(precision, recall, false-positive rate) of the test uplift ≥ τ."""
    u, y = np.asarray(uplifts, float), np.asarray(visible, bool)
    said = u >= tau
    tp, fp = int(np.sum(said & y)), int(np.sum(said & ~y))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / int(np.sum(y)) if np.any(y) else 1.0
    fpr = fp / int(np.sum(~y)) if np.any(~y) else 0.0
    return precision, recall, fpr


def choose_tau(uplifts: Sequence[float], visible: Sequence[bool]) -> Calibration:
    """τ by ROC from labelled uplifts (both labels must occur)."""
    u, y = np.asarray(uplifts, float), np.asarray(visible, bool)
    if len(u) != len(y) or not np.any(y) or np.all(y):
        raise ValueError("calibrating τ needs cases with visible and with invisible styles")
    levels = np.unique(u)
    candidates = np.concatenate([[levels[0] - 1e-6], (levels[:-1] + levels[1:]) / 2, [levels[-1] + 1e-6]])
    best, best_j = candidates[0], -np.inf
    for tau in candidates:
        _, recall, fpr = rates(u, y, tau)
        if recall - fpr >= best_j:
            best, best_j = tau, recall - fpr
    tau = round(float(best), 6)
    precision, recall, fpr = rates(u, y, tau)
    return Calibration(tau, precision, recall, fpr, len(u), int(np.sum(y)))
