"""Free-text columns in the schema: detected, defaulted to "generate", kept out of SDV."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.data.schema import (
    ACTION_LABELS,
    ACTIONS,
    TABLE_NAME,
    TEXT_SDTYPE,
    ColumnSchema,
    TableSchema,
    correct_detection,
    prepare_training_frame,
    schema_from_records,
    to_sdv_metadata_dict,
)
from core.errors import MetadataError

_NOTES = (
    "Customer called twice about the late fee and wants a refund",
    "Asked to move the payment date to the end of the month",
    "Complained that the branch closed early on a weekday",
    "Wants paper statements again, the app keeps logging out",
    "Disputes a charge from a hotel she never stayed at",
    "Requested a higher card limit for a family trip abroad",
)


def _table(rows: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    notes = [f"{_NOTES[i % len(_NOTES)]} (visit {i})" for i in range(rows)]
    return pd.DataFrame({
        "product_code": [f"SKU-{i:05d}" for i in rng.permutation(rows)],  # unique codes
        "product": rng.choice(["mortgage", "credit card", "student loan"], rows),
        "amount": rng.gamma(2.0, 100.0, rows).round(2),
        "notes": notes,
    })


def _detected(frame: pd.DataFrame) -> TableSchema:
    # A neutral SDV answer (everything categorical or numerical) isolates our corrections.
    columns = {
        name: {"sdtype": "numerical" if pd.api.types.is_numeric_dtype(frame[name])
               else "categorical"}
        for name in frame.columns
    }
    return correct_detection(frame, {"columns": columns})


def test_generate_is_an_action_shown_as_generate_text() -> None:
    assert "generate" in ACTIONS
    assert ACTION_LABELS["generate"] == "generate text"
    assert set(ACTION_LABELS) == set(ACTIONS)


def test_a_notes_column_is_free_text_with_generate_and_codes_are_not() -> None:
    schema = _detected(_table())
    notes = schema.column("notes")
    assert notes.sdtype == TEXT_SDTYPE and notes.action == "generate" and not notes.pii
    assert "language model" in notes.note
    codes = schema.column("product_code")
    assert codes.sdtype != TEXT_SDTYPE and codes.action != "generate"
    assert schema.column("product").sdtype == "categorical"
    assert schema.text_columns == ["notes"]


def test_short_or_coded_high_cardinality_columns_keep_their_old_handling() -> None:
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({
        "ref": [f"A{v:07d}-{w:04d}" for v, w in zip(rng.permutation(400), range(400),
                                                        strict=True)],
        "label": [f"tag {i % 150}" for i in range(400)],  # short: two words
        "x": rng.normal(size=400),
    })
    schema = _detected(frame)
    assert schema.column("ref").sdtype != TEXT_SDTYPE
    assert schema.column("label").sdtype != TEXT_SDTYPE
    assert schema.text_columns == []


def test_text_columns_are_kept_but_not_given_to_sdv_or_table_evaluation() -> None:
    schema = _detected(_table())
    assert "notes" in schema.kept_columns
    assert "notes" not in schema.sdv_columns
    assert "notes" not in schema.modelled_columns
    assert "notes" not in to_sdv_metadata_dict(schema)["tables"][TABLE_NAME]["columns"]
    assert "notes" not in [name for name, _ in schema.fake_specs]


def test_prepare_keeps_text_as_strings_and_missing_as_missing() -> None:
    frame = _table(60)
    frame.loc[3, "notes"] = None
    schema = _detected(_table())
    prepared = prepare_training_frame(frame, schema)
    assert prepared["notes"].dtype == object
    assert prepared.loc[0, "notes"] == frame.loc[0, "notes"]
    assert pd.isna(prepared.loc[3, "notes"])
    assert prepared["notes"].dropna().map(type).eq(str).all()


def test_the_training_key_changes_with_the_text_action() -> None:
    schema = _detected(_table())
    generate = schema.fingerprint_dict()
    faked = schema_from_records(schema, [{"column": "notes", "sdtype": TEXT_SDTYPE,
                                          "pii": False, "action": "fake"}])
    dropped = schema_from_records(schema, [{"column": "notes", "sdtype": TEXT_SDTYPE,
                                            "pii": False, "action": "drop"}])
    assert len({repr(generate), repr(faked.fingerprint_dict()),
                repr(dropped.fingerprint_dict())}) == 3
    assert TableSchema.from_fingerprint_dict(generate).text_columns == ["notes"]


def test_fake_and_drop_stay_available_for_text() -> None:
    schema = _detected(_table())
    faked = schema_from_records(schema, [{"column": "notes", "sdtype": TEXT_SDTYPE,
                                          "pii": False, "action": "fake"}])
    assert faked.text_columns == []
    assert ("notes", "sentence") in faked.fake_specs  # Faker sentences
    dropped = schema_from_records(schema, [{"column": "notes", "sdtype": TEXT_SDTYPE,
                                            "pii": False, "action": "drop"}])
    assert "notes" not in dropped.kept_columns


def test_generate_on_a_column_that_is_not_text_is_refused_with_the_fix() -> None:
    schema = _detected(_table())
    with pytest.raises(MetadataError, match="only for free text.*Set its type to text"):
        schema_from_records(schema, [{"column": "product", "sdtype": "categorical",
                                      "pii": False, "action": "generate"}])
    # Marking a column as text and asking to model it means the text model learns it.
    edited = schema_from_records(schema, [{"column": "product", "sdtype": TEXT_SDTYPE,
                                           "pii": False, "action": "model"}])
    assert edited.column("product").action == "generate"


def test_a_table_of_only_text_is_refused() -> None:
    schema = TableSchema(columns=(ColumnSchema("a", "numerical"),
                                  ColumnSchema("notes", TEXT_SDTYPE, action="generate")))
    with pytest.raises(MetadataError, match="nothing for a synthesizer to learn"):
        schema_from_records(schema, [{"column": "a", "sdtype": "numerical", "pii": False,
                                      "action": "drop"}])


# --- the complaints sample -----------------------------------------------------------------


@pytest.fixture(scope="module")
def complaints() -> pd.DataFrame:
    from core.data.datasets import load_sample_dataset

    return load_sample_dataset("complaints")


def test_the_complaints_sample_regenerates_identically_from_its_seed(complaints) -> None:
    from core.data.datasets import complaints_dataset, list_sample_datasets

    sample = next(s for s in list_sample_datasets() if s.key == "complaints")
    assert sample.text_spec is not None and len(complaints) == sample.rows == 3000
    pd.testing.assert_frame_equal(complaints, sample.generate())
    pd.testing.assert_frame_equal(complaints_dataset(sample.text_spec), sample.generate())
    words = complaints["complaint_text"].str.split().str.len()
    assert words.between(15, 120).all()
    assert complaints["timely_response"].dtype == bool
    assert 0.03 < 1 - complaints["timely_response"].mean() < 0.15  # the rare class: late


def test_the_complaint_text_is_detected_as_text_and_the_rest_as_columns(complaints) -> None:
    from core.engine.metadata import detect_schema

    schema = detect_schema(complaints)
    text = schema.column("complaint_text")
    assert text.sdtype == TEXT_SDTYPE and text.action == "generate"
    assert schema.text_columns == ["complaint_text"]
    for name in ("product", "issue", "channel", "company_response", "state"):
        assert schema.column(name).sdtype == "categorical", name
    assert schema.column("received_date").sdtype == "datetime"
    assert "timely_response" in schema.modelled_columns


def test_the_product_can_be_told_from_the_words_and_pii_is_planted(complaints) -> None:
    from core.data.text_pii import find_text_pii

    # Each product has words of its own: "mortgage", "card", "collector", "car"...
    text = complaints["complaint_text"].str.lower()
    assert text[complaints["product"] == "mortgage"].str.contains("mortgage|escrow|home").all()
    assert not text[complaints["product"] == "vehicle loan"].str.contains("escrow").any()
    found = find_text_pii(complaints["complaint_text"]).set_index("kind")
    assert {"name", "email", "phone", "account"} <= set(found.index)
    assert found["rows"].sum() == pytest.approx(0.12 * len(complaints), rel=0.25)


# --- the Data page ---------------------------------------------------------------------------


def test_the_data_page_offers_generate_text_and_shows_the_pii_found() -> None:
    from tests.apptest import open_app, page_text

    at = open_app()
    at.button(key="load_sample_complaints").click().run()
    assert not at.exception
    at.session_state["data_tab"] = "Metadata"
    at.run()
    assert not at.exception
    text = page_text(at)
    assert "a small language model is trained here on this column and writes new text for " \
           "each synthetic row" in text
    assert "**complaint_text** (generate text): Found " in text
    assert "names: they are replaced with fake ones before the model sees the text" in text
    found = next(frame.value for frame in at.dataframe if "examples" in frame.value.columns)
    assert set(found["label"]) >= {"names", "e-mail addresses", "phone numbers"}
    assert found["examples"].str.contains(r"\*\*\*").all()
    # The one-column form offers "generate" for the text column only.
    at.selectbox(key="column_form_column").set_value("complaint_text").run()
    action = next(box for box in at.selectbox if box.key.startswith("column_form_action_"))
    assert action.value == "generate" and "generate" in action.options[-1]
    at.selectbox(key="column_form_column").set_value("product").run()
    action = next(box for box in at.selectbox if box.key.startswith("column_form_action_"))
    assert all("generate" not in option for option in action.options)
