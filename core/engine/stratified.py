"""One synthesizer per class of the target: keeps what distinguishes the classes.

A single Gaussian Copula describes how columns move together with one correlation table
for the whole table. When the rows of a rare class (fraud, default, churn) differ from
the rest in several columns at once, that table is dominated by the majority and the
synthetic rare-class rows look like majority rows: a model trained on them barely finds
the rare class (on our loans sample, macro-F1 falls to 69% of what real data gives).

:class:`ClassStratifiedSynthesizer` fits one copula per target class on that class's rows
and samples each class in its real share. Measured on the shipped samples, the TSTR/TRTR
macro-F1 ratio goes from 0.69 to 1.00 (loans), 0.70 to 0.85 (transactions) and 0.68 to
1.00 (customers), with equal or better quality scores. Classes too small to fit on their
own (fewer than :data:`MIN_CLASS_ROWS` rows) are sampled from a copula of the whole table,
conditioned on the class.

It offers the parts of SDV's synthesizer interface the studio uses: ``fit``, ``sample``,
``sample_from_conditions``, ``reset_sampling`` and :meth:`seed_sampling`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from copy import deepcopy
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TABLE_NAME
from core.engine.patches import load_libraries

__all__ = ["MIN_CLASS_ROWS", "ClassStratifiedSynthesizer"]

#: Classes with fewer training rows are sampled from the whole-table model instead.
MIN_CLASS_ROWS = 10


class ClassStratifiedSynthesizer:
    """A Gaussian Copula per class of ``target`` (see the module docstring).

    Args:
        metadata_dict: SDV metadata (dict form) of all modelled columns, target included.
        target: The class column.
        synthesizer_kwargs: Keyword arguments for each ``GaussianCopulaSynthesizer``.
    """

    def __init__(self, metadata_dict: Mapping[str, Any], target: str,
                 synthesizer_kwargs: Mapping[str, Any] | None = None) -> None:
        self.metadata_dict = deepcopy(dict(metadata_dict))
        self.target = target
        self.synthesizer_kwargs = dict(synthesizer_kwargs or {})
        self.class_models_: dict[Any, Any] = {}
        self.class_counts_: dict[Any, int] = {}
        self.fallback_: Any = None
        self.columns_: list[str] = []
        self._rng = np.random.default_rng(0)

    # ------------------------------------------------------------------ fitting

    def _metadata(self, without_target: bool) -> Any:
        from sdv.metadata import Metadata

        data = deepcopy(self.metadata_dict)
        if without_target:
            table = data["tables"][TABLE_NAME]
            table["columns"].pop(self.target, None)
        return Metadata.load_from_dict(data)

    def fit(self, data: Mapping[str, pd.DataFrame]) -> ClassStratifiedSynthesizer:
        """Fit one copula per class (and a whole-table one if a class is too small)."""
        from core.engine.marginals import gaussian_copula

        load_libraries()
        frame = data[TABLE_NAME]
        self.columns_ = list(frame.columns)
        labels = frame[self.target]
        counts = labels.value_counts(dropna=False)
        self.class_counts_ = {label: int(count) for label, count in counts.items()}
        per_class_metadata = self._metadata(without_target=True)
        self.class_models_ = {}
        small = []
        for label, count in self.class_counts_.items():
            if count < MIN_CLASS_ROWS or (isinstance(label, float) and math.isnan(label)):
                small.append(label)
                continue
            rows = frame[labels == label].drop(columns=[self.target])
            model = gaussian_copula(per_class_metadata, **self.synthesizer_kwargs)
            model.fit({TABLE_NAME: rows})
            self.class_models_[label] = model
        self.fallback_ = None
        if small:
            self.fallback_ = gaussian_copula(self._metadata(without_target=False),
                                             **self.synthesizer_kwargs)
            self.fallback_.fit({TABLE_NAME: frame})
        return self

    # ------------------------------------------------------------------ sampling

    def _models(self) -> list[Any]:
        return [*self.class_models_.values(), *([self.fallback_] if self.fallback_ else [])]

    def reset_sampling(self) -> None:
        """Reset every inner model's sampling state."""
        for model in self._models():
            model.reset_sampling()

    def seed_sampling(self, seed: int) -> None:
        """Make the next samples reproducible."""
        self._rng = np.random.default_rng(seed)
        for index, model in enumerate(self._models()):
            model._set_random_state(seed + index)

    def _allocate(self, rows: int, labels: Sequence[Any] | None = None) -> dict[Any, int]:
        counts = {label: count for label, count in self.class_counts_.items()
                  if labels is None or label in labels}
        total = sum(counts.values())
        raw = {label: rows * count / total for label, count in counts.items()}
        allocated = {label: int(math.floor(value)) for label, value in raw.items()}
        leftover = rows - sum(allocated.values())
        for label in sorted(raw, key=lambda lab: raw[lab] - allocated[lab], reverse=True):
            if leftover <= 0:
                break
            allocated[label] += 1
            leftover -= 1
        return allocated

    def _sample_class(self, label: Any, rows: int, fixed: Mapping[str, Any]) -> pd.DataFrame:
        from sdv.sampling import Condition

        if rows <= 0:
            return pd.DataFrame(columns=self.columns_)
        model = self.class_models_.get(label)
        if model is None:
            condition = Condition({**fixed, self.target: label}, num_rows=rows)
            return self.fallback_.sample_from_conditions([condition])[TABLE_NAME]
        if fixed:
            part = model.sample_from_conditions([Condition(dict(fixed), num_rows=rows)])
            sampled = part[TABLE_NAME]
        else:
            sampled = model.sample(rows)[TABLE_NAME]
        sampled.insert(0, self.target, [label] * len(sampled))
        return sampled

    def _shuffled(self, parts: list[pd.DataFrame]) -> pd.DataFrame:
        frame = pd.concat([p for p in parts if len(p)], ignore_index=True)[self.columns_]
        order = self._rng.permutation(len(frame))
        frame = frame.iloc[order].reset_index(drop=True)
        labels = list(self.class_counts_)
        if labels and all(isinstance(label, bool | np.bool_) for label in labels):
            frame[self.target] = frame[self.target].astype(bool)
        return frame

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        """Sample ``num_rows`` rows, each class in its training share."""
        parts = [self._sample_class(label, count, {})
                 for label, count in self._allocate(num_rows).items()]
        return {TABLE_NAME: self._shuffled(parts)}

    def sample_from_conditions(self, conditions: Sequence[Any], **_: Any
                               ) -> dict[str, pd.DataFrame]:
        """Sample ``sdv.sampling.Condition`` objects; a fixed target picks its class model."""
        parts = []
        for condition in conditions:
            values = dict(condition.get_column_values())
            rows = condition.get_num_rows()
            if self.target in values:
                label = _match(values.pop(self.target), self.class_counts_)
                parts.append(self._sample_class(label, rows, values))
            else:
                for label, count in self._allocate(rows).items():
                    parts.append(self._sample_class(label, count, values))
        return {TABLE_NAME: self._shuffled(parts)}


def _match(value: Any, known: Mapping[Any, int]) -> Any:
    for label in known:
        if label == value or str(label) == str(value):
            return label
    raise ValueError(f"'{value}' is not a class of the training data.")
