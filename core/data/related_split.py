"""The honest split of related tables: whole root entities on one side, children follow.

Splitting each table on its own would put a customer in the training part and their
accounts in the held-out part, and the evaluation would then compare the model with rows
it has half seen. So the split is by entity of the **main root** — the table without
parents under which most rows hang (customers in customers → accounts → transactions):

* the main root's rows are split (seeded, stratified on the target when it is the root's
  column), as :func:`core.data.splitting.split_real` splits whole entities;
* every row below it follows its ancestor: an account goes where its customer went, a
  transaction where its account went;
* **lookup tables** — other tables without parents (a list of branches) — and tables that
  hang only under them are reference data and stay whole on both sides;
* a row whose ancestors are on different sides (a child of two split parents that
  disagree) or that has no ancestor in the data (an orphan, a missing key) is left out of
  both parts and counted in the notes, so no entity is ever on both sides.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.data.related import RelatedTables, Relationship
from core.data.splitting import SplitSpec, split_real
from core.errors import MetadataError, ParameterError

__all__ = ["RelatedSplit", "descendants", "lookup_tables", "main_root", "split_frames",
           "split_related"]

_TRAIN, _HOLDOUT, _NONE = 1, 2, 0


@dataclass(frozen=True)
class RelatedSplit:
    """Real train and held-out rows of every table.

    Attributes:
        train: Table name -> the rows the synthesizer may see.
        holdout: Table name -> the rows it never sees (lookups: all of them, on both sides).
        root: The main root table (its rows were split).
        lookups: Tables kept whole on both sides.
        notes: What the split left out and why, in plain sentences.
    """

    train: dict[str, pd.DataFrame]
    holdout: dict[str, pd.DataFrame]
    root: str
    lookups: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default=())


def _names(frames: Mapping[str, pd.DataFrame] | Sequence[str]) -> list[str]:
    return list(frames)


def descendants(name: str, relationships: Sequence[Relationship]) -> list[str]:
    """Tables below ``name`` (children, their children, ...), each once, nearest first."""
    found: list[str] = []
    queue = [name]
    while queue:
        current = queue.pop(0)
        for relationship in relationships:
            child = relationship.child
            if relationship.parent == current and child != name and child not in found:
                found.append(child)
                queue.append(child)
    return found


def _roots(names: Sequence[str], relationships: Sequence[Relationship]) -> list[str]:
    children = {r.child for r in relationships if r.child != r.parent}
    return [name for name in names if name not in children]


def main_root(frames: Mapping[str, pd.DataFrame], relationships: Sequence[Relationship]) -> str:
    """The root table with the most rows below it (ties: more own rows, then loading order).

    Raises:
        MetadataError: Every table has a parent (the relationships form a cycle).
    """
    roots = _roots(_names(frames), relationships)
    if not roots:
        raise MetadataError("Every table has a parent, so the relationships form a cycle. "
                            "Remove one relationship of the cycle on the Data page.")

    def weight(name: str) -> tuple[int, int, int]:
        below = sum(len(frames[child]) for child in descendants(name, relationships))
        return below, len(frames[name]), -_names(frames).index(name)

    return max(roots, key=weight)


def lookup_tables(frames: Mapping[str, pd.DataFrame], relationships: Sequence[Relationship],
                  root: str | None = None) -> list[str]:
    """Roots other than the main root (reference data such as a list of branches)."""
    root = root or main_root(frames, relationships)
    return [name for name in _roots(_names(frames), relationships) if name != root]


def split_frames(
    frames: Mapping[str, pd.DataFrame],
    relationships: Sequence[Relationship],
    primary_keys: Mapping[str, str | None],
    test_size: float = 0.3,
    seed: int = 0,
    target: tuple[str, str] | None = None,
) -> RelatedSplit:
    """Split related frames by entity of the main root (see the module's description).

    Args:
        frames: Table name -> its rows.
        relationships: The foreign keys.
        primary_keys: Table name -> its primary key column (None for none).
        test_size: Share of root entities held out (0.1..0.5).
        seed: Seed of the split.
        target: ``(table, column)``; stratifies when it is a column of the main root.

    Raises:
        MetadataError: The main root has no primary key, or a key column is missing.
        ParameterError: ``test_size`` is out of range.
        DataValidationError: Too few root entities to split.
    """
    if not 0.1 <= test_size <= 0.5:
        raise ParameterError(
            f"The held-out share must be between 10% and 50%; got {test_size:.0%}.")
    root = main_root(frames, relationships)
    key = primary_keys.get(root)
    if not key or key not in frames[root].columns:
        raise MetadataError(
            f"The table '{root}' has no primary key, so its rows cannot be told apart for the "
            "honest split. Choose its primary key on the Data page.")
    for relationship in relationships:
        for table, column in ((relationship.parent, relationship.parent_key),
                              (relationship.child, relationship.child_key)):
            if table not in frames or column not in frames[table].columns:
                raise MetadataError(
                    f"The relationship {relationship.label} names the column '{column}', "
                    f"which the table '{table}' does not have. Correct it on the Data page.")
    stratify = target[1] if target is not None and target[0] == root else None
    frame = frames[root].reset_index(drop=True)
    positions = frame[[key]].assign(__row__=np.arange(len(frame)))
    if stratify is not None and stratify in frame.columns:
        positions[stratify] = frame[stratify]
    else:
        stratify = None
    train_part, _ = split_real(positions, SplitSpec(test_size=test_size, seed=seed,
                                                    target=stratify, group=key))
    sides: dict[str, np.ndarray] = {}
    root_side = np.full(len(frame), _HOLDOUT)
    root_side[train_part["__row__"].to_numpy()] = _TRAIN
    root_side[frame[key].isna().to_numpy()] = _NONE
    sides[root] = root_side
    notes: list[str] = []
    below_root = descendants(root, relationships)
    # Parents first, so each table's parents have sides when it is reached.
    pending = list(below_root)
    for _ in range(len(pending) ** 2 + 1):
        if not pending:
            break
        name = pending.pop(0)
        parents = [r for r in relationships if r.child == name and r.parent != name
                   and (r.parent == root or r.parent in below_root)]
        if any(r.parent not in sides for r in parents):
            pending.append(name)
            continue
        child = frames[name].reset_index(drop=True)
        side = np.full(len(child), -1)
        for relationship in parents:
            parent = frames[relationship.parent].reset_index(drop=True)
            by_key = pd.Series(sides[relationship.parent],
                               index=parent[relationship.parent_key].astype(object))
            by_key = by_key[~by_key.index.duplicated(keep="first")]
            looked_up = child[relationship.child_key].astype(object).map(by_key)
            this = looked_up.fillna(_NONE).astype(int).to_numpy()
            side = np.where(side == -1, this, np.where(side == this, side, _NONE))
        side[side == -1] = _NONE
        sides[name] = side
        left_out = int((side == _NONE).sum())
        if left_out:
            notes.append(
                f"{left_out:,} row{'s' if left_out != 1 else ''} of '{name}' "
                f"{'have' if left_out != 1 else 'has'} no parent in the data or parents on "
                "both sides of the split, so they were left out of training and testing.")
    train: dict[str, pd.DataFrame] = {}
    holdout: dict[str, pd.DataFrame] = {}
    for name, rows in frames.items():
        rows = rows.reset_index(drop=True)
        if name in sides:
            train[name] = rows[sides[name] == _TRAIN].reset_index(drop=True)
            holdout[name] = rows[sides[name] == _HOLDOUT].reset_index(drop=True)
        else:  # lookups and what hangs only under them: reference data, whole on both sides
            train[name] = rows
            holdout[name] = rows
    kept = [name for name in frames if name not in sides]
    return RelatedSplit(train=train, holdout=holdout, root=root, lookups=tuple(kept),
                        notes=tuple(notes))


def split_related(related: RelatedTables, test_size: float = 0.3, seed: int = 0
                  ) -> RelatedSplit:
    """:func:`split_frames` on the tables of ``related`` (its target stratifies)."""
    frames = {table.name: table.frame for table in related.tables}
    keys = {table.name: table.schema.primary_key for table in related.tables}
    return split_frames(frames, related.relationships, keys, test_size, seed, related.target)
