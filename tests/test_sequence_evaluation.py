"""Sequence evaluation (core/evaluation/sequences.py) and its wiring into evaluate_all.

Small seeded event tables built here: accounts whose events follow a Markov chain (an
opening first), amounts with memory (AR(1) on the log scale), irregular times and an
account-level flag. Shuffling events within accounts keeps every column's values but loses
the order; reassigning events to random accounts also loses lengths and timing.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.data.schema import ColumnSchema, SequenceSpec, TableSchema
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.evaluation import EvaluationResult, evaluate_all
from core.evaluation.sequences import (
    COPY_RUN_EVENTS,
    event_type_column,
    sequence_figures,
    sequence_scores,
)
from core.evaluation.thresholds import LEVELS

_TYPES = ["deposit", "purchase", "withdrawal", "transfer_out"]
_MOVES = np.array([[0.6, 0.2, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1], [0.2, 0.2, 0.5, 0.1],
                   [0.7, 0.1, 0.1, 0.1]])


def make_events(entities: int = 300, seed: int = 0, prefix: str = "A") -> pd.DataFrame:
    """Accounts with 6-14 events each: an opening, then a Markov chain of event types."""
    rng = np.random.default_rng(seed)
    rows = []
    for number in range(entities):
        length = int(rng.integers(6, 15))
        segment = str(rng.choice(["retail", "business"], p=[0.7, 0.3]))
        kinds = ["open"]
        for _ in range(length - 1):
            previous = 0 if kinds[-1] == "open" else _TYPES.index(kinds[-1])
            kinds.append(_TYPES[rng.choice(4, p=_MOVES[previous])])
        flag = kinds.count("deposit") >= 4
        level = rng.normal(0, 1)
        time = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=float(rng.uniform(0, 500)))
        for kind in kinds:
            level = 0.85 * level + rng.normal(0, 0.5)
            amount = round(float(np.exp(4 + level + (segment == "business"))), 2)
            rows.append({"account": f"{prefix}{number:05d}", "time": time, "event": kind,
                         "amount": amount, "segment": segment, "flag": flag})
            time += pd.Timedelta(hours=float(rng.exponential(20)))
    return pd.DataFrame(rows)


def make_schema(context: tuple[str, ...] = ("segment", "flag")) -> TableSchema:
    return TableSchema(
        columns=(ColumnSchema("account", "id"), ColumnSchema("time", "datetime"),
                 ColumnSchema("event", "categorical"), ColumnSchema("amount", "numerical"),
                 ColumnSchema("segment", "categorical"), ColumnSchema("flag", "boolean")),
        sequence=SequenceSpec("account", "time", context))


def split_entities(frame: pd.DataFrame, share: float = 0.3, seed: int = 0
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    accounts = frame["account"].unique()
    held = np.random.default_rng(seed).choice(accounts, int(len(accounts) * share),
                                              replace=False)
    mask = frame["account"].isin(held)
    return frame[~mask].reset_index(drop=True), frame[mask].reset_index(drop=True)


def shuffle_within(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Each account keeps its times; its events and amounts are put in a random order."""
    rng = np.random.default_rng(seed)
    out = frame.sort_values(["account", "time"]).reset_index(drop=True)
    positions = np.concatenate(list(out.groupby("account").indices.values()))
    moved = np.concatenate([rng.permutation(block)
                            for block in out.groupby("account").indices.values()])
    for column in ("event", "amount"):
        values = out[column].to_numpy().copy()
        values[positions] = out[column].to_numpy()[moved]
        out[column] = values
    return out


def reassign(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Every event goes to a random account."""
    out = frame.copy()
    out["account"] = np.random.default_rng(seed).choice(out["account"].unique(), len(out))
    return out


@pytest.fixture(scope="module")
def parts() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Real train and held-out accounts, and an independent sample of the same process."""
    train, holdout = split_entities(make_events(300, seed=0))
    return train, holdout, make_events(210, seed=1, prefix="S")


ORDER_SCORES = ("length_score", "transition_score", "gap_score", "autocorrelation_score")


def test_real_against_itself_scores_one(parts) -> None:
    train, holdout, _ = parts
    result = sequence_scores(train, holdout, train, make_schema(), "flag")
    for name in ORDER_SCORES:
        assert getattr(result, name) == pytest.approx(1.0), name
    assert result.event_column == "event" and result.numeric_columns == ("amount",)
    assert result.entities == {"real_train": 210, "holdout": 90, "synthetic": 210}
    assert result.transitions is not None
    assert result.transitions["difference"].abs().to_numpy().max() == pytest.approx(0.0)
    # Every real account starts with an opening: the start row says so.
    assert result.transitions["real"].loc["(start)", "open"] == pytest.approx(1.0)


def test_an_independent_sample_of_the_same_process_scores_high(parts) -> None:
    train, holdout, independent = parts
    result = sequence_scores(train, holdout, independent, make_schema(), "flag")
    for name in ORDER_SCORES:
        assert getattr(result, name) >= 0.85, name
    assert result.copy_rate == 0.0 and result.holdout_copy_rate == 0.0
    assert 0.35 <= result.entity_dcr_share <= 0.65


def test_shuffled_events_score_clearly_low(parts) -> None:
    train, holdout, _ = parts
    within = sequence_scores(train, holdout, shuffle_within(train), make_schema(), "flag")
    # Same events, same lengths and times: only order and memory are lost.
    assert within.length_score == pytest.approx(1.0)
    assert within.transition_score < 0.75
    assert within.autocorrelation_score < 0.4
    scattered = sequence_scores(train, holdout, reassign(train), make_schema(), "flag")
    assert scattered.length_score < 0.95
    assert scattered.transition_score < 0.75
    assert scattered.gap_score < 0.75
    assert scattered.autocorrelation_score < 0.4
    assert scattered.utility is not None and scattered.utility.ratio < 0.8


def test_copy_rate_sees_whole_copies_and_copied_runs(parts) -> None:
    train, holdout, independent = parts
    copied = sequence_scores(train, holdout, train, make_schema(), "flag")
    assert copied.copy_rate == 1.0 and copied.exact_copy_rate == 1.0
    assert copied.holdout_copy_rate == 0.0
    # A third of the synthetic accounts are training accounts with a new first event: not
    # whole copies any more, but their later events are a long copied run.
    lengths = train["account"].value_counts()
    accounts = lengths[lengths > COPY_RUN_EVENTS].index[:70]
    lifted = train[train["account"].isin(accounts)].copy()
    first = lifted.groupby("account")["time"].transform("min") == lifted["time"]
    lifted.loc[first, "amount"] = 1.0
    lifted["account"] = "C" + lifted["account"]
    mixed = pd.concat([independent[independent["account"] < "S00140"], lifted],
                      ignore_index=True)
    result = sequence_scores(train, holdout, mixed, make_schema(), "flag")
    assert result.exact_copy_rate == 0.0
    assert result.copy_rate == pytest.approx(70 / 210)


def test_entity_split_never_puts_an_entity_on_both_sides(parts) -> None:
    from core.workflow import real_parts

    frame = make_events(120, seed=3)
    schema = make_schema()
    table = StudioTable(frame=frame, name="events.csv", source="test", fingerprint="f",
                        notes=(), schema=schema, detected_schema=schema, target="flag")
    train, holdout = real_parts(table, schema, SplitSpec(target="flag", seed=5))
    assert set(train["account"]).isdisjoint(holdout["account"])
    assert set(train["account"]) | set(holdout["account"]) == set(frame["account"])
    result = evaluate_all(train, holdout, make_events(80, seed=4, prefix="S"), schema, "flag")
    assert result.sequence is not None
    assert result.sequence.entities["real_train"] + result.sequence.entities["holdout"] == 120
    # Usefulness is the entity-level check: one held-out row per held-out account.
    assert result.utility is not None
    assert result.utility.rows["holdout"] == holdout["account"].nunique()


@pytest.fixture(scope="module")
def evaluated(parts) -> tuple[EvaluationResult, EvaluationResult]:
    train, holdout, independent = parts
    faithful = evaluate_all(train, holdout, independent, make_schema(), "flag")
    shuffled = evaluate_all(train, holdout, shuffle_within(train, seed=2), make_schema(),
                            "flag")
    return faithful, shuffled


def test_evaluate_all_fills_the_sequence_part_and_metrics_json(evaluated, parts) -> None:
    from core.evaluation.outputs import build_metrics
    from core.evaluation.report import build_report

    faithful, _ = evaluated
    assert faithful.sequence is not None and "sequence" in faithful.timings
    assert "account" in faithful.excluded_columns and "account" not in faithful.evaluated_columns
    for part in ("fairness", "importance", "attacks"):
        assert part in faithful.skipped
    record = SimpleNamespace(synthesizer="par", preset="fast", params={}, seed=0,
                             device="cpu", model_id="m", train_rows=len(parts[0]))
    sample = SimpleNamespace(frame=parts[2], fixed_values={}, class_shares={},
                             rebalanced_column=None)
    metrics = build_metrics(record, sample, faithful, 3000, {})  # type: ignore[arg-type]
    section = metrics["sequence"]
    for key in ("length_score", "transition_score", "autocorrelation_score", "copy_rate",
                "entity_dcr_share"):
        assert 0.0 <= section[key] <= 1.0, key
    assert section["entity_utility_ratio"] > 0.8  # a ratio: may pass 1 by chance
    assert section["autocorrelation_lags"] == [1, 2, 3, 4, 5]
    assert len(section["autocorrelation"]["amount"]["real"]) == 5
    assert metrics["quality_score"] and metrics["privacy"]["dcr_share"] is not None
    html = build_report(faithful, {"Dataset": "events"})
    assert 'id="section-sequences"' in html and "figure-sequence-transitions" in html
    assert {name for name, _ in sequence_figures(faithful.sequence)} >= {
        "lengths", "transitions", "gaps", "aggregates", "autocorrelation", "copies"}


def test_the_verdict_reads_the_sequence_scores(evaluated) -> None:
    faithful, shuffled = evaluated
    assert faithful.verdict.fidelity.level == "good"
    assert LEVELS.index(shuffled.verdict.fidelity.level) > LEVELS.index("good")
    assert "Sequences:" in shuffled.verdict.fidelity.reason
    # Shuffling within accounts keeps every account's counts and totals: per entity the
    # synthetic accounts are the training accounts, and privacy says so.
    assert shuffled.sequence.entity_dcr_share == pytest.approx(1.0)
    assert shuffled.verdict.privacy.level == "poor"
    assert "synthetic entities" in faithful.verdict.utility.reason


def test_without_event_types_or_numbers_those_scores_are_none(parts) -> None:
    train, holdout, independent = parts
    schema = TableSchema(
        columns=(ColumnSchema("account", "id"), ColumnSchema("time", "datetime"),
                 ColumnSchema("event", "categorical", action="drop"),
                 ColumnSchema("amount", "numerical", action="drop"),
                 ColumnSchema("segment", "categorical"), ColumnSchema("flag", "boolean")),
        sequence=SequenceSpec("account", "time", ("segment", "flag")))
    result = sequence_scores(train, holdout, independent, schema, None)
    assert result.transition_score is None and result.autocorrelation_score is None
    assert result.event_column is None and result.length_score >= 0.85
    assert set(result.skipped) >= {"transitions", "autocorrelation", "entity_utility"}
    assert result.as_dict()["transition_score"] is None


def test_a_row_level_target_keeps_the_row_level_check(parts) -> None:
    train, holdout, independent = parts
    schema = make_schema()
    assert event_type_column(train, schema, "event") is None  # the target is not an event
    result = evaluate_all(train, holdout, independent, schema, "event")
    assert result.sequence is not None and result.sequence.utility is None
    assert "changes within entities" in result.sequence.skipped["entity_utility"]
    assert result.utility is not None and result.utility.rows["holdout"] > 90


def _prices(tickers: int, days: int, common: float, seed: int) -> pd.DataFrame:
    """Daily closes of tickers sharing a market factor (``common`` = its weight)."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    market = rng.normal(0, 0.01, days)
    frames = []
    for number in range(tickers):
        returns = common * market + (1 - common) * rng.normal(0, 0.01, days)
        frames.append(pd.DataFrame({"ticker": f"T{seed}-{number}", "date": dates,
                                    "close": 100 * np.exp(np.cumsum(returns))}))
    return pd.concat(frames, ignore_index=True)


def test_cross_series_correlation_pairs_entities_on_shared_days() -> None:
    schema = TableSchema(columns=(ColumnSchema("ticker", "id"), ColumnSchema("date", "datetime"),
                                  ColumnSchema("close", "numerical")),
                         sequence=SequenceSpec("ticker", "date"))
    real = _prices(16, 80, 0.8, seed=0)
    train, holdout = real[real["ticker"] < "T0-5"], real[real["ticker"] >= "T0-5"]
    together = sequence_scores(train, holdout, _prices(12, 80, 0.8, seed=1), schema, None)
    apart = sequence_scores(train, holdout, _prices(12, 80, 0.0, seed=2), schema, None)
    assert together.cross is not None and together.cross.mode == "entities"
    assert together.cross.real.mean() > 0.6 and together.cross.gap < 0.15
    assert apart.cross.synthetic.mean() < 0.3 and apart.cross.gap > 0.4
    assert together.as_dict()["cross_correlation"]["mode"] == "entities"
    assert not together.cross.by_position

    # New tickers that each got their own dates are paired event by event, so tickers
    # written one at a time (no shared market) read as uncorrelated, not as unmeasured.
    def own_dates(frame: pd.DataFrame) -> pd.DataFrame:
        shift = frame["ticker"].str.rsplit("-", n=1).str[1].astype(int)
        return frame.assign(date=frame["date"] + pd.to_timedelta(shift * 1000, unit="D"))

    paired = sequence_scores(train, holdout, own_dates(_prices(12, 80, 0.8, seed=1)),
                             schema, None)
    alone = sequence_scores(train, holdout, own_dates(_prices(12, 80, 0.0, seed=2)),
                            schema, None)
    assert paired.cross.mode == "entities" and paired.cross.by_position
    assert paired.cross.gap < 0.15 and alone.cross.gap > 0.4
    assert "paired event by event" in paired.sentences["cross_correlation"]


def test_large_tables_are_bounded_by_a_seeded_sample_of_entities(parts, monkeypatch) -> None:
    import core.evaluation.sequences as sequences

    train, holdout, independent = parts
    monkeypatch.setattr(sequences, "MAX_ENTITIES", 50)
    first = sequence_scores(train, holdout, independent, make_schema(), None, seed=3)
    again = sequence_scores(train, holdout, independent, make_schema(), None, seed=3)
    assert first.entities == {"real_train": 50, "holdout": 50, "synthetic": 50}
    assert any("50 of 210" in note for note in first.notes)
    assert first.as_dict() == again.as_dict()  # same seed, same numbers
