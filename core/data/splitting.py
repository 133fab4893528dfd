"""The honest split: real data is divided into train and held-out test *before* training.

The synthesizer only ever sees the train part. The held-out part is what utility (TSTR vs
TRTR) and privacy (train vs holdout distances) are measured against, so a synthesizer that
memorises its training rows cannot look good. The split is deterministic (seeded) and
stratified on the target when one is chosen, so it can be recomputed anywhere from the
same data and :class:`SplitSpec`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import pandas as pd

from core.errors import DataValidationError, ParameterError

__all__ = ["MIN_ROWS", "SplitSpec", "split_real", "training_positions"]

#: Fewer rows than this cannot be split and trained on meaningfully.
MIN_ROWS = 20


@dataclass(frozen=True)
class SplitSpec:
    """How the real data is split.

    Attributes:
        test_size: Share of rows held out (0.1..0.5).
        seed: Random seed of the split.
        target: Column to stratify on (keeps class shares equal in both parts).
        group: For event tables, the entity column (``SequenceSpec.key``): whole entities
            go to one side, never some of an entity's rows to each, so held-out sequences
            are sequences the synthesizer never saw (``test_size`` is then a share of
            entities).
    """

    test_size: float = 0.3
    seed: int = 0
    target: str | None = None
    group: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form (for keys and the registry)."""
        data = asdict(self)
        if self.group is None:  # so models of independent rows keep their ids
            del data["group"]
        return data


def split_real(frame: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split ``frame`` into (train, holdout) as ``spec`` says.

    Stratifies on ``spec.target`` when every class has at least two rows; otherwise
    splits at random (rare classes with one row cannot be in both parts).

    Raises:
        ParameterError: ``test_size`` out of range or target missing.
        DataValidationError: Too few rows.
    """
    from sklearn.model_selection import train_test_split  # lazy: ~1 s import

    if not 0.1 <= spec.test_size <= 0.5:
        raise ParameterError(
            f"The held-out share must be between 10% and 50%; got {spec.test_size:.0%}."
        )
    if len(frame) < MIN_ROWS:
        raise DataValidationError(
            f"The table has only {len(frame)} rows; at least {MIN_ROWS} are needed to hold "
            "some out for testing and still train. Load a larger table."
        )
    if spec.group is not None:
        return _split_entities(frame, spec)
    stratify = None
    if spec.target is not None:
        if spec.target not in frame.columns:
            raise ParameterError(f"The target column '{spec.target}' is not in the data.")
        labels = frame[spec.target].astype(object).where(frame[spec.target].notna(), "<missing>")
        counts = labels.value_counts()
        holdout_rows = round(len(frame) * spec.test_size)
        if len(counts) > 1 and counts.min() >= 2 and holdout_rows >= len(counts):
            stratify = labels.astype(str)
    train, holdout = train_test_split(
        frame, test_size=spec.test_size, random_state=spec.seed, stratify=stratify
    )
    return train.reset_index(drop=True), holdout.reset_index(drop=True)


def _split_entities(frame: pd.DataFrame, spec: SplitSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split whole entities (``spec.group``), stratified on an entity-level target.

    The target stratifies only when it is constant within each entity (an account's flag);
    rows keep their order within each part.
    """
    from sklearn.model_selection import train_test_split  # lazy: ~1 s import

    if spec.group not in frame.columns:
        raise ParameterError(f"The entity column '{spec.group}' is not in the data.")
    keys = frame[spec.group].astype(object).where(frame[spec.group].notna(), "<missing>")
    entities = pd.Index(pd.unique(keys))
    if len(entities) < 4:
        raise DataValidationError(
            f"The table has only {len(entities)} entities in '{spec.group}'; at least 4 are "
            "needed to hold whole entities out for testing and still train. Load more "
            "entities, or clear the sequence settings to treat rows as independent."
        )
    stratify = None
    if spec.target is not None and spec.target in frame.columns:
        labels = frame[spec.target].astype(object).where(frame[spec.target].notna(), "<missing>")
        per_entity = labels.groupby(keys, sort=False).nunique()
        if (per_entity <= 1).all():
            entity_labels = labels.groupby(keys, sort=False).first().reindex(entities).astype(str)
            counts = entity_labels.value_counts()
            holdout = round(len(entities) * spec.test_size)
            if len(counts) > 1 and counts.min() >= 2 and holdout >= len(counts):
                stratify = entity_labels.to_numpy()
    train_keys, _ = train_test_split(
        entities.to_numpy(), test_size=spec.test_size, random_state=spec.seed,
        stratify=stratify,
    )
    in_train = keys.isin(set(train_keys)).to_numpy()
    return (frame[in_train].reset_index(drop=True), frame[~in_train].reset_index(drop=True))


def training_positions(frame: pd.DataFrame, spec: SplitSpec) -> set[int]:
    """Row positions of ``frame`` that :func:`split_real` puts in the train part."""
    positions = frame.reset_index(drop=True).assign(__position__=range(len(frame)))
    train, _ = split_real(positions, spec)
    return set(int(p) for p in train["__position__"])
