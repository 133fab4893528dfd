"""Event tables: suggesting and checking a sequence description, ordering events, the samples.

Covers :mod:`core.data.sequences` and the three shipped event samples (``bank_events``,
``market_prices``, ``customer_journeys``): that the studio recognises them and not the
single-table samples, that every check fires on a small bad table with the right count,
and that the planted patterns (structuring, volatility clustering, churners' journeys) are
really in the data.
"""

from __future__ import annotations

import dataclasses
import io

import numpy as np
import pandas as pd
import pytest

from core.data.datasets import (
    list_sample_datasets,
    load_sample_dataset,
    sample_dataset,
    sample_for_file,
    sample_keys,
)
from core.data.datasets.bank_events import REPORTING_THRESHOLD
from core.data.datasets.market_prices import OPTION_DAYS, RATE, black_scholes_call
from core.data.schema import ColumnSchema, SequenceSpec, TableSchema
from core.data.sequences import (
    MIN_ENTITIES,
    check_sequence,
    declare_sequence,
    entity_noun,
    order_events,
    suggest_sequence,
)
from core.engine.metadata import detect_table
from core.errors import MetadataError
from core.store.settings import get_settings

EVENT_SAMPLES = ("bank_events", "market_prices", "customer_journeys")
SINGLE_SAMPLES = ("loans", "transactions", "customers", "complaints")


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return {key: load_sample_dataset(key) for key in EVENT_SAMPLES + SINGLE_SAMPLES}


@pytest.fixture(scope="module")
def detected(frames) -> dict[str, TableSchema]:
    """Each sample's schema as detection gives it for an upload (no declarations)."""
    return {key: detect_table(frame, name=f"{key}.csv", source="test").schema
            for key, frame in frames.items()}


def _schema(frame: pd.DataFrame, types: dict[str, str] | None = None) -> TableSchema:
    """A plain schema for a hand-made frame: dates, numbers, else categories."""
    types = types or {}
    columns = []
    for name in frame.columns:
        series = frame[name]
        sdtype = types.get(name) or (
            "datetime" if pd.api.types.is_datetime64_any_dtype(series)
            else "boolean" if pd.api.types.is_bool_dtype(series)
            else "numerical" if pd.api.types.is_numeric_dtype(series) else "categorical")
        columns.append(ColumnSchema(name=name, sdtype=sdtype))
    return TableSchema(columns=tuple(columns))


def _events(entities: int = 12, length: int = 5, seed: int = 0) -> pd.DataFrame:
    """A clean event table: devices with a type (context), a time and a reading."""
    rng = np.random.default_rng(seed)
    rows = []
    for device in range(entities):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=device)
        kind = ["pump", "fan", "valve"][device % 3]
        for step in range(1, length + 1):
            rows.append({"device_id": f"D{device:03d}",
                         "read_at": start + pd.Timedelta(hours=step),
                         "step": step, "device_type": kind,
                         "reading": round(float(rng.normal(20, 3)), 2)})
    return pd.DataFrame(rows)


SPEC = SequenceSpec(key="device_id", index="read_at", context=("device_type",))


def _kinds(issues) -> dict[str, object]:
    return {issue.kind: issue for issue in issues}


# --------------------------------------------------------------------------- suggestion


@pytest.mark.parametrize("key", EVENT_SAMPLES)
def test_suggest_finds_each_event_sample_as_shipped(key, frames, detected) -> None:
    assert suggest_sequence(frames[key], detected[key]) == sample_dataset(key).sequence


@pytest.mark.parametrize("key", SINGLE_SAMPLES)
def test_suggest_says_none_for_tables_of_independent_rows(key, frames, detected) -> None:
    # transactions has a card number repeated per card and a time: personal data never
    # becomes an entity key, so it stays a table of independent payments.
    assert suggest_sequence(frames[key], detected[key]) is None


def test_suggest_on_a_small_hand_made_event_table() -> None:
    frame = _events()
    suggested = suggest_sequence(frame, _schema(frame))
    assert suggested == SequenceSpec(key="device_id", index="read_at", context=("device_type",))


def test_suggest_takes_an_integer_step_when_there_is_no_date() -> None:
    frame = _events().drop(columns=["read_at"])
    suggested = suggest_sequence(frame, _schema(frame))
    assert suggested is not None and (suggested.key, suggested.index) == ("device_id", "step")


def test_suggest_needs_an_order_column_and_repeated_entities() -> None:
    frame = _events().drop(columns=["read_at", "step"])
    assert suggest_sequence(frame, _schema(frame)) is None  # nothing orders the rows
    once = _events(entities=60, length=1)
    assert suggest_sequence(once, _schema(once)) is None  # one row per device


def test_suggest_prefers_the_customer_to_the_session_inside_it() -> None:
    rows = []
    for customer in range(15):
        for session in range(3):
            for event in range(3):
                rows.append({"customer_id": f"C{customer}", "session_id": f"S{customer}-{session}",
                             "at": pd.Timestamp("2024-01-01") + pd.Timedelta(
                                 hours=customer * 100 + session * 10 + event),
                             "segment": "gold" if customer % 2 else "silver"})
    frame = pd.DataFrame(rows)
    suggested = suggest_sequence(frame, _schema(frame))
    assert suggested is not None and suggested.key == "customer_id"
    assert suggested.context == ("segment",)


# --------------------------------------------------------------------------- declaring


def test_loading_a_sample_declares_its_sequence_and_no_personal_data(frames) -> None:
    for key in EVENT_SAMPLES:
        sample = sample_dataset(key)
        table = detect_table(frames[key], name=sample.filename, source="test",
                             target=sample.target, sequence=sample.sequence)
        schema = table.schema
        assert schema.sequence == sample.sequence
        assert schema.column(sample.sequence.key).sdtype == "id"
        assert schema.column(sample.sequence.index).sdtype == "datetime"
        assert table.target == sample.target
        assert not [c.name for c in schema.columns if c.pii or c.action != "model"]
        assert schema.primary_key is None


def test_declare_sequence_refuses_unknown_or_clashing_columns() -> None:
    frame = _events()
    schema = _schema(frame)
    with pytest.raises(MetadataError, match="not in the table"):
        declare_sequence(schema, SequenceSpec(key="nope", index="read_at"))
    with pytest.raises(MetadataError, match="different"):
        declare_sequence(schema, SequenceSpec(key="device_id", index="device_id"))
    declared = declare_sequence(schema, SequenceSpec(key="device_id", index="step"), frame)
    assert declared.column("step").sdtype == "numerical"
    assert declare_sequence(declared, None).sequence is None


def test_a_sample_file_is_recognised_by_its_path_only(tmp_path) -> None:
    directory = get_settings().sample_data_dir
    assert sample_for_file(directory / "bank_events.csv").key == "bank_events"
    assert sample_for_file(directory / "nothing.csv") is None
    copy = tmp_path / "bank_events.csv"  # the same name elsewhere is an ordinary upload
    copy.write_bytes((directory / "bank_events.csv").read_bytes())
    assert sample_for_file(copy) is None
    assert set(EVENT_SAMPLES) <= set(sample_keys())  # what `--data NAME` accepts


def test_entity_nouns_read_well() -> None:
    assert entity_noun("account_id") == "accounts"
    assert entity_noun("ticker") == "tickers"
    assert entity_noun("CompanyId") == "companies"
    assert entity_noun("id") == "entities"


# --------------------------------------------------------------------------- checks


def test_a_clean_event_table_and_the_samples_have_no_errors(frames) -> None:
    assert check_sequence(_events(), SPEC) == []
    for key in EVENT_SAMPLES:
        issues = check_sequence(frames[key], sample_dataset(key).sequence)
        assert not [i for i in issues if i.severity == "error"], key
    # Accounts that were only opened are the one thing the bank sample warns about.
    bank = _kinds(check_sequence(frames["bank_events"], sample_dataset("bank_events").sequence))
    singles = int((frames["bank_events"].groupby("account_id").size() == 1).sum())
    assert set(bank) == {"single_event"} and bank["single_event"].count == singles > 0


def test_single_event_entities_are_counted() -> None:
    frame = pd.concat([_events(), _events(entities=15, length=1).iloc[12:]], ignore_index=True)
    issue = _kinds(check_sequence(frame, SPEC))["single_event"]
    assert (issue.count, issue.severity, issue.unit) == (3, "warning", "entities")
    assert issue.message.startswith("3 devices have a single event; they are kept")


def test_rows_out_of_order_are_counted_per_entity() -> None:
    frame = _events()
    swapped = frame.copy()
    for start in (0, 5):  # the first two devices: rows 0 and 1 swapped
        swapped.iloc[[start, start + 1]] = swapped.iloc[[start + 1, start]].to_numpy()
    issue = _kinds(check_sequence(swapped, SPEC))["unsorted"]
    assert issue.count == 2 and "sorts the events" in issue.message


def test_duplicated_times_within_an_entity_are_counted() -> None:
    frame = _events()
    frame.loc[1, "read_at"] = frame.loc[0, "read_at"]
    frame.loc[7, "read_at"] = frame.loc[6, "read_at"]
    frame.loc[8, "read_at"] = frame.loc[6, "read_at"]
    issue = _kinds(check_sequence(frame, SPEC))["duplicate_order"]
    assert issue.count == 3 and issue.severity == "warning"


def test_mixed_time_zones_are_named_and_put_on_one_utc_line() -> None:
    frame = _events()
    text = frame["read_at"].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    offsets = text + np.where(np.arange(len(text)) % 2, "+01:00", "+02:00")
    issue = _kinds(check_sequence(frame.assign(read_at=offsets), SPEC))["mixed_timezones"]
    assert issue.count == len(frame) and "2 different UTC offsets" in issue.message
    assert "one UTC time line" in issue.message
    some = text.copy()
    some.iloc[:4] = some.iloc[:4] + "+00:00"
    issue = _kinds(check_sequence(frame.assign(read_at=some), SPEC))["mixed_timezones"]
    assert issue.count == len(frame) - 4 and "reads the ones without a zone as UTC" in issue.message
    same = text + "+01:00"
    assert "mixed_timezones" not in _kinds(check_sequence(frame.assign(read_at=same), SPEC))


def test_gaps_in_an_integer_step_are_counted_per_entity() -> None:
    frame = _events()
    frame.loc[frame["device_id"].isin(["D000", "D004"]) & (frame["step"] >= 3), "step"] += 2
    issue = _kinds(check_sequence(frame, SequenceSpec("device_id", "step")))["step_gaps"]
    assert issue.count == 2 and "(e.g. 2 then 5)" in issue.message


def test_shuffled_steps_are_out_of_order_but_have_no_gaps() -> None:
    frame = _events().sample(frac=1.0, random_state=3)
    issues = _kinds(check_sequence(frame, SequenceSpec("device_id", "step")))
    assert "unsorted" in issues and "step_gaps" not in issues


def test_a_key_missing_everywhere_is_an_error() -> None:
    issues = check_sequence(_events().assign(device_id=None), SPEC)
    assert [(i.kind, i.severity) for i in issues] == [("few_entities", "error"),
                                                      ("missing_key", "warning")]


def test_missing_keys_and_order_values_are_counted() -> None:
    frame = _events()
    frame.loc[[0, 10, 20], "device_id"] = None
    frame.loc[[3, 4], "read_at"] = pd.NaT
    issues = _kinds(check_sequence(frame, SPEC))
    assert issues["missing_key"].count == 3 and "leaves them out" in issues["missing_key"].message
    assert issues["missing_order"].count == 2 and "at the end" in issues["missing_order"].message


def test_too_few_entities_is_an_error() -> None:
    frame = _events(entities=MIN_ENTITIES - 1)
    issue = _kinds(check_sequence(frame, SPEC))["few_entities"]
    assert (issue.severity, issue.count) == ("error", 3)
    assert check_sequence(_events(entities=MIN_ENTITIES), SPEC) == []


def test_a_context_column_that_varies_is_an_error_naming_an_entity() -> None:
    frame = _events()
    frame.loc[[2, 7], "device_type"] = "boiler"  # D000 and D001
    issues = check_sequence(frame, SPEC)
    assert issues[0].severity == "error"  # errors first
    issue = _kinds(issues)["context_varies"]
    assert issue.count == 2 and issue.column == "device_type"
    assert "device_id = 'D000' has 'pump' and 'boiler'" in issue.message


def test_structure_errors() -> None:
    frame = _events()
    assert _kinds(check_sequence(frame, SequenceSpec("device_id", "device_id")))[
        "key_is_index"].severity == "error"
    assert "context_overlap" in _kinds(
        check_sequence(frame, SequenceSpec("device_id", "read_at", ("read_at",))))
    missing = _kinds(check_sequence(frame, SequenceSpec("device_id", "when", ("colour",))))
    assert missing["missing_columns"].count == 2
    words = frame.assign(read_at="soon")
    assert _kinds(check_sequence(words, SPEC))["unreadable_order"].count == len(frame)


# --------------------------------------------------------------------------- ordering


def test_order_events_sorts_by_key_then_time_stably_and_drops_missing_keys() -> None:
    frame = pd.DataFrame({
        "k": ["b", "a", "b", None, "a", "a"],
        "t": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-01", "2024-01-01",
                             "2024-01-01", "2024-01-03"]),
        "n": [0, 1, 2, 3, 4, 5],
    })
    ordered = order_events(frame, SequenceSpec("k", "t"))
    assert ordered["n"].tolist() == [4, 1, 5, 2, 0]  # a's tie (1, 5) keeps file order
    assert ordered.index.tolist() == list(range(5))
    assert frame["n"].tolist() == [0, 1, 2, 3, 4, 5]  # the input is untouched
    # Without an order column the file order within each entity is kept.
    assert order_events(frame, SequenceSpec("k"))["n"].tolist() == [1, 4, 5, 0, 2]


def test_order_events_uses_the_utc_instant_and_puts_missing_times_last() -> None:
    frame = pd.DataFrame({"k": ["x"] * 4, "t": ["2024-03-31 03:30:00+02:00", None,
                                               "2024-03-31 02:00:00+01:00",
                                               "2024-03-31 00:45:00+00:00"]})
    # 01:30 UTC, missing, 01:00 UTC, 00:45 UTC
    assert order_events(frame, SequenceSpec("k", "t"))["t"].tolist() == [
        frame["t"][3], frame["t"][2], frame["t"][0], None]
    with pytest.raises(MetadataError):
        order_events(frame.assign(t="later"), SequenceSpec("k", "t"))


def test_the_shipped_samples_are_already_in_sequence_order(frames) -> None:
    for key in EVENT_SAMPLES:
        pd.testing.assert_frame_equal(order_events(frames[key], sample_dataset(key).sequence),
                                      frames[key])


# --------------------------------------------------------------------------- samples


@pytest.mark.parametrize("key", EVENT_SAMPLES)
def test_event_samples_are_reproducible_and_shipped_as_generated(key, frames) -> None:
    sample = sample_dataset(key)
    first, second = sample.generate(), sample.generate()
    written = first.to_csv(index=False, lineterminator="\n").encode()
    assert written == second.to_csv(index=False, lineterminator="\n").encode()
    shipped = (get_settings().sample_data_dir / sample.filename).read_bytes()
    assert shipped == written  # `make sample-data` was run after the last change
    assert len(first) == sample.rows and 3000 <= sample.rows <= 10_000
    pd.testing.assert_frame_equal(frames[key], first)  # read back with the same dtypes
    assert "CC0" in sample.license
    readme = (get_settings().sample_data_dir / "README.md").read_text(encoding="utf-8")
    assert f"`{sample.filename}`" in readme and f"seed={sample.event_spec.seed}" in readme
    reseeded = dataclasses.replace(sample, event_spec=dataclasses.replace(
        sample.event_spec, seed=sample.event_spec.seed + 1))
    assert not reseeded.generate().equals(first)


def test_sample_targets_are_entity_level_flags(frames) -> None:
    for key in EVENT_SAMPLES:
        sample = sample_dataset(key)
        assert sample.target in sample.sequence.context
        per_entity = frames[key].groupby(sample.sequence.key)[sample.target].nunique()
        assert (per_entity == 1).all()
    assert [s.key for s in list_sample_datasets() if s.sequence] == list(EVENT_SAMPLES)


def _just_under(frame: pd.DataFrame) -> pd.Series:
    """Cash deposits within 12 % below the reporting threshold, per account."""
    hit = (frame["event"] == "deposit") & frame["amount"].between(
        0.88 * REPORTING_THRESHOLD, REPORTING_THRESHOLD, inclusive="left")
    return hit.groupby(frame["account_id"]).sum()


def test_structuring_accounts_deposit_just_under_the_threshold_then_move_it_out(frames):
    bank = frames["bank_events"]
    flags = bank.groupby("account_id")["structuring"].first()
    counts = _just_under(bank)
    assert 0.04 <= flags.mean() <= 0.06
    assert (counts[flags] >= 5).all()
    assert (counts[~flags] >= 2).sum() == 0 and (counts[~flags] >= 1).mean() < 0.01
    for account, events in bank[bank["structuring"]].groupby("account_id"):
        under = events[(events["event"] == "deposit") & (events["amount"] >= 8_800)
                       & (events["amount"] < REPORTING_THRESHOLD)]
        moved_out = False
        for _, out in events[events["event"] == "transfer_out"].iterrows():
            burst = under[under["timestamp"].between(out["timestamp"] - pd.Timedelta(days=9),
                                                     out["timestamp"])]
            moved_out |= len(burst) >= 5 and out["amount"] >= 0.8 * burst["amount"].sum()
        assert moved_out, account
    # Every account starts with its opening.
    assert (bank.groupby("account_id")["event"].first() == "account_opening").all()
    assert (bank["event"] == "account_opening").sum() == bank["account_id"].nunique()


def _autocorrelation(values: np.ndarray) -> float:
    centred = values - values.mean()
    return float((centred[1:] * centred[:-1]).sum() / (centred**2).sum())


def test_market_returns_cluster_in_volatility_and_move_together(frames) -> None:
    market = frames["market_prices"]
    returns = market.pivot(index="date", columns="ticker", values="return")
    assert returns.notna().all().all()  # one calendar for every ticker
    assert len(returns) == 250 and returns.shape[1] == market["ticker"].nunique()
    plain = np.mean([_autocorrelation(returns[t].to_numpy()) for t in returns])
    squared = np.mean([_autocorrelation(returns[t].to_numpy() ** 2) for t in returns])
    assert squared > plain and squared > 0.05
    correlation = returns.corr().to_numpy()
    sectors = market.groupby("ticker")["sector"].first().reindex(returns.columns).to_numpy()
    upper = np.triu(np.ones_like(correlation, dtype=bool), k=1)
    same = sectors[:, None] == sectors[None, :]
    assert correlation[upper].mean() > 0.15
    assert correlation[upper & same].mean() > correlation[upper & ~same].mean() + 0.1
    # Sectors differ in volatility (so the target can be learned from a ticker's history).
    yearly = returns.std() * np.sqrt(252)
    by_sector = yearly.groupby(sectors).mean()
    assert by_sector["utilities"] < by_sector["financials"] < by_sector["technology"]
    # The call price is Black-Scholes at the implied volatility, to the cent.
    priced = black_scholes_call(market["close"].to_numpy(), market["close"].to_numpy(),
                                OPTION_DAYS / 365, RATE, market["implied_vol_30d"].to_numpy())
    assert np.abs(priced - market["call_30d_atm"].to_numpy()).max() <= 0.006


def test_churners_have_fewer_sessions_and_more_support_chats(frames) -> None:
    journeys = frames["customer_journeys"]
    per_customer = journeys.groupby("customer_id").agg(
        churned=("churned", "first"), sessions=("session_number", "max"),
        chats=("event", lambda e: (e == "support_chat").mean()))
    means = per_customer.groupby("churned").mean()
    assert means.loc[True, "sessions"] < 0.75 * means.loc[False, "sessions"]
    assert means.loc[True, "chats"] > 2 * means.loc[False, "chats"]
    firsts = journeys.groupby(["customer_id", "session_number"])["event"].first()
    assert (firsts == "login").all()
    channels = journeys.groupby(["customer_id", "session_number"])["channel"].nunique()
    assert (channels == 1).all()


def test_suggest_and_check_stay_quick_on_a_large_table() -> None:
    """100,000 events of 5,000 entities: no per-entity Python loop (runs in well under 1 s)."""
    rng = np.random.default_rng(1)
    entities = np.repeat(np.arange(5000), 20)
    frame = pd.DataFrame({
        "account_id": [f"A{e:05d}" for e in entities],
        "at": pd.Timestamp("2024-01-01") + pd.to_timedelta(
            np.arange(len(entities)) % 20 * 3600 + entities, unit="s"),
        "kind": np.where(entities % 2, "personal", "business"),
        "amount": rng.normal(size=len(entities)),
    })
    spec = suggest_sequence(frame, _schema(frame, {"account_id": "id"}))
    assert spec == SequenceSpec("account_id", "at", ("kind",))
    assert check_sequence(frame, spec) == []
    assert order_events(frame.iloc[::-1], spec).equals(frame)


def test_a_sample_csv_read_without_its_dtypes_still_checks_clean(frames) -> None:
    """A user who uploads the bank CSV gets the same description and no errors."""
    text = frames["bank_events"].to_csv(index=False)
    raw = pd.read_csv(io.StringIO(text))  # timestamps as text
    spec = sample_dataset("bank_events").sequence
    assert not [i for i in check_sequence(raw, spec) if i.severity == "error"]
    assert order_events(raw, spec)["account_id"].is_monotonic_increasing
