"""Personal data inside free text: every kind found, replaced consistently, nothing else."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from core.data.text_pii import PII_KINDS, describe_text_pii, find_text_pii, scrub_text_pii

PLANTED = {
    "email": "laura.chen@gmail.com",
    "url": "https://www.mybank-help.com/case",
    "iban": "DE89 3704 0044 0532 0130 00",
    "ssn": "123-45-6789",
    "account": "4111 1111 1111 1111",
    "phone": "(415) 555-2671",
    "name": "Laura Chen",
}

TEXTS = pd.Series([
    f"My name is {PLANTED['name']} and you can reach me at {PLANTED['email']}.",
    f"Call me on {PLANTED['phone']} about the card {PLANTED['account']} please.",
    None,
    f"My SSN {PLANTED['ssn']} was printed on a letter, see {PLANTED['url']}.",
    f"The transfer to {PLANTED['iban']} bounced on 2024-03-15 for $1,250.00.",
    "Ms. Chen from the branch said Laura Chen must wait until Monday.",
    "I called Chase Bank on Monday in March and again on Friday, nobody at Customer "
    "Service or at Wells Fargo could explain the fee of $35 on account ending in 4821.",
], index=[10, 11, 12, 13, 14, 15, 16], name="complaint_text")

ORDINARY = TEXTS.iloc[6]


def test_every_planted_kind_is_found_with_masked_examples() -> None:
    found = find_text_pii(TEXTS).set_index("kind")
    assert set(found.index) == set(PII_KINDS)
    assert found.loc["name", "count"] == 3  # Laura Chen, Ms. Chen, Laura Chen
    assert found.loc["name", "rows"] == 2
    for kind in PII_KINDS:
        assert found.loc[kind, "count"] >= 1
        examples = found.loc[kind, "examples"]
        assert examples and "*" in examples
        assert PLANTED[kind] not in examples  # the screen does not show the value again
    assert found.loc["email", "label"] == "e-mail address"  # one: singular
    assert found.loc["name", "label"] == "names"


def test_ordinary_capitalised_words_dates_and_amounts_are_not_pii() -> None:
    assert find_text_pii(pd.Series([ORDINARY, "Bank Monday Grace Period", "2024-03-15"])).empty
    scrubbed = scrub_text_pii(pd.Series([ORDINARY])).text
    assert scrubbed.iloc[0] == ORDINARY


def test_scrub_replaces_each_value_with_a_fake_of_its_kind() -> None:
    result = scrub_text_pii(TEXTS, seed=1)
    text = result.text
    assert list(text.index) == list(TEXTS.index) and text.name == "complaint_text"
    assert pd.isna(text.loc[12])
    joined = " ".join(text.dropna())
    for value in (*PLANTED.values(), "Chen"):
        assert value not in joined
    assert re.search(r"[\w.]+@example\.(com|org|net)", text.loc[10])
    assert re.search(r"\(\d{3}\) 555-01\d\d", text.loc[11])  # fictional line, same layout
    assert re.search(r"\b\d{4} \d{4} \d{4} \d{4}\b", text.loc[11])
    assert re.search(r"\b9\d\d-\d\d-\d{4}\b", text.loc[13])  # area 9xx: never issued
    assert "https://www.example.com/" in text.loc[13]
    assert re.search(r"DE\d\d \d{4} \d{4} \d{4} \d{4} \d\d", text.loc[14])
    # Words around the values are untouched.
    assert text.loc[10].startswith("My name is ") and "reach me at" in text.loc[10]
    assert "bounced on 2024-03-15 for $1,250.00." in text.loc[14]
    assert text.loc[16] == ORDINARY
    assert result.matches.equals(find_text_pii(TEXTS))


def test_the_same_original_gets_the_same_fake_and_the_seed_decides() -> None:
    text = scrub_text_pii(TEXTS, seed=1).text
    fake_name = re.search(r"My name is (\w+) (\w+) and", text.loc[10])
    assert fake_name
    first, last = fake_name.groups()
    assert text.loc[15] == f"Ms. {last} from the branch said {first} {last} must wait until Monday."
    email = re.search(r"\S+@example\.\w+", text.loc[10]).group(0)
    again = scrub_text_pii(pd.Series([f"write to {PLANTED['email']}"]), seed=1).text.iloc[0]
    assert again == f"write to {email}"
    assert scrub_text_pii(TEXTS, seed=1).text.equals(text)
    other = scrub_text_pii(TEXTS, seed=2).text
    assert not other.equals(text)


def test_the_summary_sentence_is_built_from_the_counts() -> None:
    sentence = describe_text_pii(find_text_pii(TEXTS))
    assert sentence.startswith("Found 1 e-mail address, ")
    assert "and 3 names: they are replaced with fake ones" in sentence
    assert "No names" in describe_text_pii(find_text_pii(pd.Series([ORDINARY])))


@pytest.mark.parametrize("values", [pd.Series([], dtype=object), pd.Series([None, None])])
def test_empty_and_missing_columns(values: pd.Series) -> None:
    assert find_text_pii(values).empty
    scrubbed = scrub_text_pii(values).text
    assert len(scrubbed) == len(values) and scrubbed.isna().all()


def test_a_few_thousand_texts_are_scrubbed_in_one_pass() -> None:
    # Behaviour at scale: every copy is found and replaced identically.
    many = pd.concat([TEXTS] * 500, ignore_index=True)
    found = find_text_pii(many).set_index("kind")
    assert found.loc["email", "count"] == 500 and found.loc["name", "count"] == 1500
    scrubbed = scrub_text_pii(many, seed=1).text
    assert scrubbed.iloc[0] == scrubbed.iloc[len(TEXTS)]
