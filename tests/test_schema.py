"""Metadata detection: SDV's guesses, corrected against the values."""

from __future__ import annotations

import pandas as pd
import pytest

from core.data.schema import (
    TABLE_NAME,
    prepare_training_frame,
    schema_from_records,
    suggest_target,
    to_sdv_metadata_dict,
)
from core.engine.metadata import detect_schema, to_sdv_metadata
from core.errors import MetadataError
from tests.helpers import make_people


@pytest.fixture(scope="module")
def detected():
    frame = make_people()
    return frame, detect_schema(frame)


def test_state_codes_are_a_category_not_pii(detected):
    _, schema = detected
    state = schema.column("state")
    assert state.detected_sdtype == "administrative_unit"  # SDV's name-based guess
    assert state.sdtype == "categorical" and not state.pii and state.action == "model"
    assert "4 distinct values" in state.note


def test_pii_found_from_values_when_the_name_is_neutral(detected):
    _, schema = detected
    contact = schema.column("contact")
    assert contact.sdtype == "email" and contact.pii and contact.action == "fake"
    name = schema.column("name")
    assert name.detected_sdtype != "name"  # SDV misses person names
    assert name.sdtype == "name" and name.pii


def test_name_based_pii_confirmed_by_values(detected):
    _, schema = detected
    assert schema.column("ssn").sdtype == "ssn"
    assert schema.column("ssn").action == "fake"


def test_low_cardinality_integers_are_numbers_not_ordinal(detected):
    _, schema = detected
    calls = schema.column("support_calls")
    assert calls.detected_sdtype == "ordinal"
    assert calls.sdtype == "numerical" and "ordinal" in calls.note
    assert schema.column("is_member").sdtype == "categorical"  # a 0/1 flag


def test_booleans_are_booleans(detected):
    _, schema = detected
    assert schema.column("active").detected_sdtype == "categorical"
    assert schema.column("active").sdtype == "boolean"


def test_free_text_and_high_cardinality_are_flagged_with_a_reason(detected):
    _, schema = detected
    comment = schema.column("comment")
    assert comment.action == "generate" and comment.sdtype == "text"
    assert "free text" in comment.note
    job = schema.column("job_title")
    assert job.sdtype == "job" and job.action == "fake"
    assert "distinct values" in job.note and "CTGAN" in job.note


def test_identifier_becomes_primary_key(detected):
    _, schema = detected
    assert schema.primary_key == "customer_id"
    assert schema.column("customer_id").sdtype == "id"


def test_target_suggestion_prefers_outcome_names(detected):
    frame, schema = detected
    assert suggest_target(frame, schema) == "churned"


def test_sdv_metadata_round_trip(detected):
    frame, schema = detected
    metadata = to_sdv_metadata(schema)
    table = metadata.to_dict()["tables"][TABLE_NAME]
    assert table["primary_key"] == "customer_id"
    assert "contact" not in table["columns"]  # faked after sampling, never learned
    assert schema.fake_specs[:2] == [("name", "name"), ("contact", "email")]
    assert table["columns"]["state"] == {"sdtype": "categorical"}
    prepared = prepare_training_frame(frame, schema)
    metadata.validate_data({TABLE_NAME: prepared[schema.sdv_columns]})


def test_user_edits_are_applied_and_validated(detected):
    _, schema = detected
    edited = schema_from_records(
        schema,
        [
            {"column": "comment", "sdtype": "sentence", "pii": False, "action": "drop"},
            {"column": "ssn", "sdtype": "ssn", "pii": True, "action": "keep"},
        ],
    )
    assert "comment" not in edited.kept_columns
    assert edited.column("ssn").action == "keep"
    assert "can reappear" in edited.column("ssn").note
    assert "comment" not in to_sdv_metadata_dict(edited)["tables"][TABLE_NAME]["columns"]
    # keep means "learn the real values": modelled as a category
    assert to_sdv_metadata_dict(edited)["tables"][TABLE_NAME]["columns"]["ssn"] == {
        "sdtype": "categorical"
    }
    with pytest.raises(MetadataError, match="'fake' needs a kind"):
        schema_from_records(schema, [{"column": "age", "sdtype": "numerical",
                                      "pii": False, "action": "fake"}])
    with pytest.raises(MetadataError, match="not a type"):
        schema_from_records(schema, [{"column": "age", "sdtype": "banana",
                                      "pii": False, "action": "model"}])


def test_dropping_everything_is_refused(detected):
    _, schema = detected
    records = [{"column": c.name, "sdtype": c.sdtype, "pii": c.pii, "action": "drop"}
               for c in schema.columns]
    with pytest.raises(MetadataError, match="nothing for a synthesizer to learn"):
        schema_from_records(schema, records)


def test_mixed_format_dates_are_parsed():
    frame = pd.DataFrame(
        {
            "visit": ["2021-03-04", "04/05/2021", "March 6, 2021", "2021/03/07"] * 30,
            "amount": range(120),
        }
    )
    schema = detect_schema(frame)
    visit = schema.column("visit")
    assert visit.sdtype == "datetime" and "different formats" in visit.note
    prepared = prepare_training_frame(frame, schema)
    assert pd.api.types.is_datetime64_any_dtype(prepared["visit"])
    assert prepared["visit"].notna().all()


def test_all_empty_column_is_dropped_with_reason():
    frame = pd.DataFrame({"a": range(50), "b": [None] * 50, "c": list("xy") * 25})
    schema = detect_schema(frame)
    assert schema.column("b").action == "drop" and "empty" in schema.column("b").note
    assert list(prepare_training_frame(frame, schema).columns) == ["a", "c"]


@pytest.mark.parametrize("dates", [
    pd.date_range("2015-01-01", periods=300, freq="D").strftime("%Y-%m-%d"),  # all distinct
    pd.date_range("2015-01-01", periods=300, freq="D").strftime("%d/%m/%Y"),  # day first
    pd.date_range("2015-01-01", periods=300, freq="7h", tz="Europe/Paris")
    .strftime("%Y-%m-%dT%H:%M:%S%z"),  # with zones, across a daylight-saving change
])
def test_a_column_of_distinct_dates_is_a_date_never_a_phone_number(dates):
    frame = pd.DataFrame({"when": list(dates), "amount": range(len(dates))})
    column = detect_schema(frame).column("when")
    assert column.sdtype == "datetime"
    assert not column.pii and column.action == "model"


def test_phone_numbers_are_still_found_beside_dates():
    phones = [f"(555) {100 + i:03d}-{1000 + 7 * i:04d}" for i in range(300)]
    frame = pd.DataFrame({"contact": phones, "amount": range(300)})
    assert detect_schema(frame).column("contact").sdtype == "phone_number"


def test_account_numbers_and_codes_are_ids_in_their_format_not_phones_or_text():
    rows = 300
    frame = pd.DataFrame({
        "account_number": [f"{1_000_000 + 37 * i:010d}" for i in range(rows)],  # leading zeros
        "code": [f"A{i % 10}B{i // 10 % 10}C{i // 100}" for i in range(rows)],
        "phone_number": [f"555{1_000_000 + 13 * i:07d}" for i in range(rows)],
        "amount": range(rows),
    })
    schema = detect_schema(frame)
    for name in ("account_number", "code"):
        column = schema.column(name)
        assert column.sdtype == "id" and not column.pii, (name, column)
        assert "shaped like the real ones" in column.note, column.note
    phone = schema.column("phone_number")  # named like contact data: stays personal data
    assert phone.sdtype == "phone_number" and phone.pii and phone.action == "fake"
