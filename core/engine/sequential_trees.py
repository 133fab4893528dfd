"""Sequential decision trees: each column drawn from a tree fitted on the columns before it.

The idea is synthpop's CART method: visit the columns in an order, fit for each one a
decision tree that predicts it from the columns already visited, and make a new row by
walking the same order, drawing each value from the training values in the leaf its
predictors fall into. It is fast (a second or two of fitting on the shipped samples) and
keeps relations that are not straight lines.

Plain CART also copies: a small leaf hands back a real person's value, and a row drawn
leaf by leaf can come out identical to a training row. Privacy controls, all on by
default:

* every leaf holds at least ``min_leaf`` training rows, so no value is tied to a few people;
* a number is not the donor's value but a value drawn smoothly around it (a Gaussian
  kernel whose width follows the spread of the leaf), kept inside the leaf's range and
  rounded as the real column is;
* a synthetic row identical to a training row (all modelled columns) is redrawn, up to
  :data:`_REDRAW_ROUNDS` times;
* the visiting order puts the target first and then the columns that predict it best,
  so every later tree sees the target and the strong predictors.

The model offers the parts of SDV's synthesizer interface the studio uses: ``fit``,
``sample``, ``sample_from_conditions``, ``reset_sampling``, :meth:`seed_sampling` and a
``metadata_dict`` for the real formats of id columns (``core.engine.generation``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from core.data.schema import TABLE_NAME
from core.errors import TrainingCancelled

__all__ = ["SequentialTreesSynthesizer"]

#: Whole-number columns with at most this many distinct values are drawn as classes (counts).
_DISCRETE_LEVELS = 25
#: Rounds of redrawing rows identical to a training row before keeping what is left.
_REDRAW_ROUNDS = 20
#: Candidate rows drawn per wanted row when sampling with fixed values.
_CONDITION_OVERSAMPLE = 8
_NANOS_PER_DAY = 86_400 * 10**9
_NANOS_PER_SECOND = 10**9


@dataclass
class _Column:
    """How one column is learned and drawn.

    Attributes:
        name: Column name.
        kind: "class" (categories, booleans, small counts), "number", "date" or "id".
        dtype: The training column's dtype, restored on output.
        levels: "class": the values, most frequent first (a missing value is one level).
        decimals: "number": decimals to round to (None: leave as drawn).
        resolution: "date": nanoseconds to round to (a day, a second or 1).
        tree: The fitted tree (a classifier for "class", a regressor for numbers).
        missing_tree: Numbers with missing values: a classifier of missing / present.
        leaf_values: Numbers: training values of each leaf, sorted, by leaf id.
        leaf_bandwidth: Numbers: kernel width per leaf id.
        leaf_range: Numbers: (low, high) of each leaf's training values.
        predictors: Positions (in the visiting order) of the columns the tree uses.
        integer_id: "id": the real ids are whole numbers.
    """

    name: str
    kind: str
    dtype: Any
    levels: list[Any] = field(default_factory=list)
    decimals: int | None = None
    resolution: int = 1
    tree: Any = None
    missing_tree: Any = None
    leaf_values: dict[int, np.ndarray] = field(default_factory=dict)
    leaf_bandwidth: dict[int, float] = field(default_factory=dict)
    leaf_range: dict[int, tuple[float, float]] = field(default_factory=dict)
    predictors: list[int] = field(default_factory=list)
    integer_id: bool = False


class SequentialTreesSynthesizer:
    """Decision trees, column by column, with privacy controls (see the module docstring).

    Args:
        metadata_dict: SDV metadata (dict form) of the columns it is given.
        target: The column a downstream model predicts: visited first.
        min_leaf: Fewest training rows in a leaf.
        max_depth: Deepest tree (0 = no limit beyond ``min_leaf``).
        smoothing: Kernel width as a share of the normal-reference width of a leaf's values
            (0 copies donor values, which the studio never does by default).
        redraw_copies: Redraw rows identical to a training row.
        time_limit: Seconds; columns still to learn when it passes get their own shape
            only (no tree). 0 = no limit.
        time_limit_start: The ``time.monotonic()`` the limit counts from (default: the fit).
        on_column: Called after each column with (columns done, columns in all, name).
        should_cancel: Polled before each column; True raises ``TrainingCancelled``.
    """

    def __init__(self, metadata_dict: Mapping[str, Any], *, target: str | None = None,
                 min_leaf: int = 20, max_depth: int = 0, smoothing: float = 1.0,
                 redraw_copies: bool = True, time_limit: float = 0.0,
                 time_limit_start: float | None = None,
                 on_column: Callable[[int, int, str], None] | None = None,
                 should_cancel: Callable[[], bool] | None = None) -> None:
        self.metadata_dict = deepcopy(dict(metadata_dict))
        self.target = target
        self.min_leaf = int(min_leaf)
        self.max_depth = int(max_depth)
        self.smoothing = float(smoothing)
        self.redraw_copies = bool(redraw_copies)
        self.time_limit = float(time_limit)
        self.time_limit_start = time_limit_start
        self.on_column = on_column
        self.should_cancel = should_cancel
        self.columns_: list[str] = []
        self.order_: list[_Column] = []
        self.fit_notes: list[str] = []
        self.columns_without_tree_: list[str] = []
        self._train_hashes = np.empty(0, dtype=np.uint64)
        self._base_seed = 0
        self._rng = np.random.default_rng(0)
        self._ids_drawn = 0

    def __getstate__(self) -> dict[str, Any]:
        """Pickle without the job's callbacks (they belong to the process that fitted)."""
        state = dict(self.__dict__)
        state.update(on_column=None, should_cancel=None, time_limit_start=None)
        return state

    # ------------------------------------------------------------------ fitting

    def _sdtypes(self) -> dict[str, str]:
        columns = self.metadata_dict.get("tables", {}).get(TABLE_NAME, {}).get("columns", {})
        return {name: info.get("sdtype", "categorical") for name, info in columns.items()}

    def fit(self, data: Mapping[str, pd.DataFrame]) -> SequentialTreesSynthesizer:
        """Learn one tree per column, in the visiting order.

        Raises:
            TrainingCancelled: ``should_cancel`` answered True between two columns.
        """
        frame = data[TABLE_NAME].reset_index(drop=True)
        started = self.time_limit_start or time.monotonic()
        self.columns_ = list(frame.columns)
        self._base_seed = int(np.random.randint(0, 2**31 - 1))  # seeded by the trainer
        sdtypes = self._sdtypes()
        described = [_describe(frame[name], sdtypes.get(name, "categorical"))
                     for name in frame.columns]
        modelled = [column for column in described if column.kind != "id"]
        codes = {column.name: _encode(frame[column.name], column) for column in modelled}
        order = self._visiting_order(modelled, codes)
        self.order_ = order + [column for column in described if column.kind == "id"]
        self.fit_notes, self.columns_without_tree_ = [], []
        total = len(order)
        features = np.empty((len(frame), 0))
        for position, column in enumerate(order):
            if self.should_cancel is not None and self.should_cancel():
                raise TrainingCancelled("Training was cancelled.")
            out_of_time = bool(self.time_limit) and time.monotonic() - started > self.time_limit
            if out_of_time:
                self.columns_without_tree_.append(column.name)
            column.predictors = [] if out_of_time else list(range(position))
            self._fit_column(column, features[:, column.predictors], codes[column.name],
                             seed=self._base_seed + position)
            features = np.column_stack([features, codes[column.name]])
            if self.on_column is not None:
                self.on_column(position + 1, total, column.name)
        if self.columns_without_tree_:
            self.fit_notes.append(
                f"The {self.time_limit:g} s time limit passed before "
                f"{len(self.columns_without_tree_)} of {total} columns were learned; those "
                f"keep their own shape but not their links to other columns "
                f"({', '.join(self.columns_without_tree_[:5])}"
                f"{'…' if len(self.columns_without_tree_) > 5 else ''}). Raise the limit "
                "(Advanced) to learn them all."
            )
        self._train_hashes = np.unique(self._row_hashes(frame))
        self.reset_sampling()
        return self

    def _visiting_order(self, modelled: list[_Column],
                        codes: Mapping[str, np.ndarray]) -> list[_Column]:
        """The target first, then the columns that predict it best; else the best linked."""
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        if len(modelled) < 2:
            return list(modelled)
        by_name = {column.name: column for column in modelled}
        first = by_name.get(self.target) if self.target else None
        if first is None:
            # No target: start from the column most linked to the others.
            first = max(modelled, key=lambda column: _linkage(column, modelled, codes))
        others = [column for column in modelled if column is not first]
        matrix = np.column_stack([codes[column.name] for column in others])
        outcome = codes[first.name]
        present = ~np.isnan(outcome)
        if not present.any():
            return [first, *others]
        model = (DecisionTreeClassifier if first.kind == "class" else DecisionTreeRegressor)(
            min_samples_leaf=max(self.min_leaf, 1), max_depth=8, random_state=0)
        model.fit(matrix[present], outcome[present])
        importance = model.feature_importances_
        ranked = sorted(range(len(others)), key=lambda index: (-importance[index], index))
        return [first, *(others[index] for index in ranked)]

    def _tree_options(self, seed: int) -> dict[str, Any]:
        return {"min_samples_leaf": max(self.min_leaf, 1),
                "max_depth": self.max_depth or None, "random_state": seed % (2**31)}

    def _fit_column(self, column: _Column, features: np.ndarray, outcome: np.ndarray,
                    seed: int) -> None:
        from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

        if features.shape[1] == 0:  # the first column, or past the time limit: its shape
            features = np.zeros((len(outcome), 1))
        options = self._tree_options(seed)
        if column.kind == "class":
            column.tree = DecisionTreeClassifier(**options).fit(features, outcome)
            return
        missing = np.isnan(outcome)
        column.missing_tree = None
        if missing.any():
            column.missing_tree = DecisionTreeClassifier(**options).fit(features, missing)
        present = ~missing
        if not present.any():
            column.tree = None
            return
        column.tree = DecisionTreeRegressor(**options).fit(features[present], outcome[present])
        leaves = column.tree.apply(features[present])
        values = outcome[present]
        column.leaf_values, column.leaf_bandwidth, column.leaf_range = {}, {}, {}
        for leaf in np.unique(leaves):
            members = np.sort(values[leaves == leaf])
            column.leaf_values[int(leaf)] = members
            column.leaf_range[int(leaf)] = (float(members[0]), float(members[-1]))
            column.leaf_bandwidth[int(leaf)] = self.smoothing * _bandwidth(members)

    # ------------------------------------------------------------------ sampling

    def reset_sampling(self) -> None:
        """Start sampling again from the model's own seed (as SDV's ``reset_sampling``)."""
        self._rng = np.random.default_rng(self._base_seed)
        self._ids_drawn = 0

    def seed_sampling(self, seed: int) -> None:
        """Make the next samples reproducible: the same seed gives the same rows."""
        self._rng = np.random.default_rng([int(seed) % (2**32), self._base_seed])
        self._ids_drawn = 0

    def sample(self, num_rows: int) -> dict[str, pd.DataFrame]:
        """Draw ``num_rows`` new rows."""
        codes = self._draw_without_copies(int(num_rows), {})
        frame = self._decode(codes, int(num_rows))
        self._ids_drawn += int(num_rows)  # the next batch's ids follow on
        return {TABLE_NAME: frame}

    def sample_from_conditions(self, conditions: Sequence[Any], **_: Any
                               ) -> dict[str, pd.DataFrame]:
        """Sample ``sdv.sampling.Condition`` objects: rows with the given values.

        A fixed value is set where its column is visited; the columns visited before it are
        kept in proportion to how likely their values make the fixed one (candidates drawn
        several times over, then picked by that weight), so they match it as the data do.
        """
        parts = []
        for condition in conditions:
            values = dict(condition.get_column_values())
            rows = int(condition.get_num_rows())
            unknown = [name for name in values if name not in self.columns_]
            if unknown:
                raise ValueError(f"Unknown column(s): {', '.join(map(str, unknown))}.")
            fixed = {name: self._fixed_code(name, value) for name, value in values.items()}
            codes = self._draw_without_copies(rows, fixed)
            part = self._decode(codes, rows)
            self._ids_drawn += rows
            for name, value in values.items():
                part[name] = _fill(part[name], value)
            parts.append(part)
        frame = pd.concat(parts, ignore_index=True) if parts else self._decode({}, 0)
        return {TABLE_NAME: frame}

    def _fixed_code(self, name: str, value: Any) -> float:
        column = next(column for column in self.order_ if column.name == name)
        if column.kind == "class":
            for index, level in enumerate(column.levels):
                if _same(level, value):
                    return float(index)
            raise ValueError(f"'{value}' is not a value of '{name}' in the training data.")
        if column.kind == "date":
            return float(pd.Timestamp(value).value)
        if column.kind == "id":
            raise ValueError(f"'{name}' is an identifier: fresh values are generated.")
        return float(value)

    def _draw_without_copies(self, rows: int, fixed: Mapping[str, float]
                             ) -> dict[str, np.ndarray]:
        codes = self._draw(rows, fixed)
        if not self.redraw_copies or rows == 0 or not len(self._train_hashes):
            return codes
        for _ in range(_REDRAW_ROUNDS):
            copies = np.flatnonzero(np.isin(self._row_hashes(self._decode(codes, rows)),
                                            self._train_hashes))
            if not len(copies):
                break
            again = self._draw(len(copies), fixed)
            for name in codes:
                codes[name][copies] = again[name]
        return codes

    def _draw(self, rows: int, fixed: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Codes of ``rows`` new rows (class index, number, or nanoseconds) by column."""
        conditioned = bool(fixed)
        candidates = rows * _CONDITION_OVERSAMPLE if conditioned else rows
        weights = np.ones(candidates)
        drawn: list[np.ndarray] = []
        for column in self.order_:
            if column.kind == "id":
                continue
            features = (np.column_stack([drawn[i] for i in column.predictors])
                        if column.predictors else np.zeros((candidates, 1)))
            if column.name in fixed:
                value = fixed[column.name]
                if column.kind == "class":
                    probabilities = column.tree.predict_proba(features)
                    classes = list(column.tree.classes_)
                    index = classes.index(value) if value in classes else None
                    weights *= probabilities[:, index] if index is not None else 0.0
                drawn.append(np.full(candidates, value))
                continue
            drawn.append(self._draw_column(column, features))
        modelled = [column for column in self.order_ if column.kind != "id"]
        codes = {column.name: values for column, values in zip(modelled, drawn, strict=True)}
        if conditioned:
            chosen = self._pick(weights, rows)
            codes = {name: values[chosen] for name, values in codes.items()}
        return codes

    def _pick(self, weights: np.ndarray, rows: int) -> np.ndarray:
        """``rows`` candidates, without replacement, by weight (uniformly if none fits)."""
        total = weights.sum()
        if not np.isfinite(total) or total <= 0:
            weights = np.ones_like(weights)
        # Exponential keys: the smallest ``rows`` give a weighted draw without replacement.
        keys = self._rng.exponential(size=len(weights)) / np.maximum(weights, 1e-300)
        return np.argsort(keys, kind="stable")[:rows]

    def _draw_column(self, column: _Column, features: np.ndarray) -> np.ndarray:
        rows = len(features)
        if column.kind == "class":
            probabilities = column.tree.predict_proba(features)
            cumulative = np.cumsum(probabilities, axis=1)
            cumulative[:, -1] = 1.0
            picks = (cumulative < self._rng.random(rows)[:, None]).sum(axis=1)
            return column.tree.classes_[picks].astype(float)
        values = np.full(rows, np.nan)
        present = np.ones(rows, dtype=bool)
        if column.missing_tree is not None:
            chance = column.missing_tree.predict_proba(features)
            classes = list(column.missing_tree.classes_)
            missing = (chance[:, classes.index(True)] if True in classes
                       else np.zeros(rows))
            present = self._rng.random(rows) >= missing
        if column.tree is None:
            return values
        leaves = column.tree.apply(features[present])
        out = np.empty(len(leaves))
        for leaf in np.unique(leaves):
            where = np.flatnonzero(leaves == leaf)
            members = column.leaf_values[int(leaf)]
            low, high = column.leaf_range[int(leaf)]
            donors = members[self._rng.integers(0, len(members), len(where))]
            noise = self._rng.normal(0.0, 1.0, len(where)) * column.leaf_bandwidth[int(leaf)]
            smooth = donors + noise
            outside = (smooth < low) | (smooth > high)
            smooth[outside] = donors[outside] - noise[outside]  # reflect back into the leaf
            out[where] = np.clip(smooth, low, high)
        values[present] = _rounded(out, column)
        return values

    # ------------------------------------------------------------------ output

    def _decode(self, codes: Mapping[str, np.ndarray], rows: int) -> pd.DataFrame:
        columns: dict[str, Any] = {}
        for column in self.order_:
            if column.kind == "id":
                columns[column.name] = self._ids(column, rows)
            else:
                columns[column.name] = _decode_column(codes[column.name], column)
        return pd.DataFrame(columns)[self.columns_]

    def _ids(self, column: _Column, rows: int) -> pd.Series:
        """Fresh unique ids (sampling replaces them by ids in the real format when known)."""
        numbers = np.arange(self._ids_drawn, self._ids_drawn + rows)
        if column.integer_id:
            return pd.Series(numbers, dtype="int64")
        return pd.Series([f"id_{number}" for number in numbers], dtype=object)

    def _row_hashes(self, frame: pd.DataFrame) -> np.ndarray:
        """One hash per row over the modelled columns, as the privacy check compares them."""
        normal = {}
        for column in self.order_:
            if column.kind == "id":
                continue
            series = frame[column.name]
            if column.kind == "class":
                normal[column.name] = series.map(lambda v: "\0" if _missing(v) else str(v))
            elif column.kind == "date":
                normal[column.name] = series.astype("datetime64[ns]").to_numpy().view("int64")
            else:
                values = pd.to_numeric(series, errors="coerce").astype(float).to_numpy()
                normal[column.name] = np.where(values == 0, 0.0, values)
        if not normal:
            return np.empty(0, dtype=np.uint64)
        return pd.util.hash_pandas_object(pd.DataFrame(normal), index=False).to_numpy()


# ---------------------------------------------------------------------- column helpers


def _missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _same(level: Any, value: Any) -> bool:
    if _missing(level) or _missing(value):
        return _missing(level) and _missing(value)
    return level == value or str(level) == str(value)


def _fill(series: pd.Series, value: Any) -> pd.Series:
    """The column with every row set to the fixed value (keeping the column's type)."""
    filled = series.copy()
    filled[:] = value
    return filled


def _whole(values: np.ndarray) -> bool:
    return bool(np.all(np.abs(values - np.round(values)) < 1e-9))


def _decimals(values: np.ndarray) -> int | None:
    for decimals in range(7):
        scaled = values * 10**decimals
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1, np.abs(scaled))):
            return decimals
    return None


def _describe(series: pd.Series, sdtype: str) -> _Column:
    """What kind of column this is and how its values are written."""
    column = _Column(name=str(series.name), kind="class", dtype=series.dtype)
    if sdtype == "id":
        column.kind = "id"
        column.integer_id = pd.api.types.is_integer_dtype(series)
        return column
    if sdtype == "datetime" or pd.api.types.is_datetime64_any_dtype(series):
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
        nanos = stamps.dropna().to_numpy().view("int64")
        column.kind = "date"
        column.dtype = np.dtype("datetime64[ns]")
        column.resolution = (_NANOS_PER_DAY if len(nanos) and np.all(nanos % _NANOS_PER_DAY == 0)
                             else _NANOS_PER_SECOND
                             if len(nanos) and np.all(nanos % _NANOS_PER_SECOND == 0) else 1)
        return column
    numeric = (sdtype == "numerical" and pd.api.types.is_numeric_dtype(series)
               and not pd.api.types.is_bool_dtype(series))
    if numeric:
        values = series.dropna().to_numpy(dtype=float)
        distinct = len(np.unique(values))
        whole = bool(len(values)) and _whole(values)
        if not (whole and distinct <= _DISCRETE_LEVELS):
            column.kind = "number"
            column.decimals = _decimals(values) if len(values) else None
            return column
    counts = series.value_counts(dropna=False)
    column.levels = list(counts.index)
    if numeric:  # a count's code follows its value, so later trees can split on "more than"
        column.levels = sorted(column.levels, key=lambda v: (_missing(v), 0 if _missing(v) else v))
    return column


def _encode(series: pd.Series, column: _Column) -> np.ndarray:
    """The column as floats a tree can use: class index, number, or nanoseconds (NaN = missing).

    A class's index follows frequency, so a category's position carries a little order.
    """
    if column.kind == "class":
        lookup = {}
        missing_index = None
        for index, level in enumerate(column.levels):
            if _missing(level):
                missing_index = index
            else:
                lookup[level] = index
        codes = series.map(lookup).astype(float).to_numpy()
        if missing_index is not None:
            codes[series.isna().to_numpy()] = missing_index
        return codes
    if column.kind == "date":
        stamps = pd.to_datetime(series, errors="coerce").astype("datetime64[ns]")
        nanos = stamps.to_numpy().view("int64").astype(float)
        nanos[stamps.isna().to_numpy()] = np.nan
        return nanos
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def _bandwidth(values: np.ndarray) -> float:
    """Silverman's normal-reference kernel width for a leaf's values (0 if all equal)."""
    if len(values) < 2:
        return 0.0
    spread = float(np.std(values, ddof=1))
    quartiles = np.subtract(*np.percentile(values, [75, 25])) / 1.34
    scale = min(spread, quartiles) if quartiles > 0 else spread
    return 0.9 * scale * len(values) ** (-0.2)


def _rounded(values: np.ndarray, column: _Column) -> np.ndarray:
    if column.kind == "date":
        step = column.resolution
        return np.round(values / step) * step
    if column.decimals is not None:
        return np.round(values, column.decimals)
    return values


def _decode_column(codes: np.ndarray, column: _Column) -> pd.Series:
    """Codes back to the column's values and dtype."""
    if column.kind == "class":
        levels = np.empty(len(column.levels), dtype=object)
        levels[:] = column.levels
        picked = list(levels[codes.astype(int)])
        dtype = column.dtype
        if pd.api.types.is_bool_dtype(dtype) and not any(_missing(v) for v in picked):
            return pd.Series(picked, dtype=bool)
        if isinstance(dtype, pd.api.extensions.ExtensionDtype) or pd.api.types.is_numeric_dtype(
                dtype):
            try:
                return pd.Series(picked).astype(dtype)
            except (TypeError, ValueError):
                return pd.Series(picked, dtype=object)
        return pd.Series(picked, dtype=object)
    if column.kind == "date":
        nanos = np.where(np.isnan(codes), 0, codes).astype("int64")
        stamps = pd.Series(nanos.view("datetime64[ns]"))
        stamps[np.isnan(codes)] = pd.NaT
        return stamps
    series = pd.Series(codes, dtype=float)
    if pd.api.types.is_integer_dtype(column.dtype):
        rounded = series.round()
        return (rounded.astype(column.dtype) if not rounded.isna().any()
                else rounded.astype("Int64"))
    return series


def _linkage(column: _Column, modelled: list[_Column], codes: Mapping[str, np.ndarray]) -> float:
    """How strongly a column is tied to the others (mean absolute rank correlation)."""
    own = pd.Series(codes[column.name]).rank()
    scores = []
    for other in modelled:
        if other is column:
            continue
        value = own.corr(pd.Series(codes[other.name]).rank())
        scores.append(0.0 if math.isnan(value) else abs(value))
    return float(np.mean(scores)) if scores else 0.0
