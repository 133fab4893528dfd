"""Text columns: lengths, words, the text classifier and the leak check, on known answers.

Small complaint-like tables: the product decides most words of a text, the channel none. A
"synthesizer" is imitated by drawing, copying or scrambling texts, so each score's right
answer is known.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from core.data.schema import ColumnSchema, TableSchema
from core.evaluation import EvaluationResult, evaluate_all
from core.evaluation.text import LEAK_NGRAM, MAX_EXAMPLES, leak_check, text_scores, tokens
from core.evaluation.verdict import text_warnings

PRODUCTS = {
    "mortgage": "mortgage escrow payment lender refinance servicer foreclosure appraisal",
    "credit card": "card charge interest limit statement fee merchant dispute",
    "student loan": "student forgiveness repayment tuition deferment consolidation grant",
}
FILLER = "i the my was and to they have been called again about this issue times".split()
TEMPLATE = "i am writing to complain about the service i received from".split()


def make_frame(rows: int, seed: int, template: bool = False) -> pd.DataFrame:
    """Rows whose text is drawn from the product's words and common filler words."""
    rng = np.random.default_rng(seed)
    products = rng.choice(list(PRODUCTS), rows, p=[0.5, 0.3, 0.2])
    texts = []
    for product in products:
        words = rng.choice(PRODUCTS[product].split() + FILLER, int(rng.integers(12, 40)))
        texts.append(" ".join(([*TEMPLATE] if template else []) + list(words)).capitalize()
                     + ".")
    return pd.DataFrame({
        "product": products,
        "channel": rng.choice(["web", "phone", "mail"], rows),
        "amount": rng.gamma(2.0, 300.0, rows).round(2),
        "complaint": texts,
    })


def make_schema(with_text: bool = True) -> TableSchema:
    return TableSchema((
        ColumnSchema("product", "categorical"),
        ColumnSchema("channel", "categorical"),
        ColumnSchema("amount", "numerical"),
        ColumnSchema("complaint", "text", action="generate" if with_text else "drop"),
    ))


@pytest.fixture(scope="module")
def real() -> tuple[pd.DataFrame, pd.DataFrame]:
    return make_frame(420, seed=1), make_frame(180, seed=2)


def test_texts_from_the_same_source_score_like_unseen_real_texts(real) -> None:
    train, holdout = real
    result = text_scores(train, holdout, make_frame(420, seed=3), make_schema(),
                         target="product")
    scored = result.columns["complaint"]
    assert scored.length_score >= 0.85
    assert scored.vocabulary_overlap >= 0.9
    assert abs(scored.vocabulary_overlap - scored.vocabulary_overlap_holdout) < 0.05
    assert scored.real_word_share == 1.0
    assert scored.classifier_column == "product"
    assert scored.classifier_ratio >= 0.9
    assert scored.leak_rate == scored.exact_copy_rate == 0.0
    assert scored.leak_level == "good" and scored.examples == ()
    top = scored.top_words
    assert set(top["category"]) == {"(all texts)", *PRODUCTS}
    mortgage = top[(top["category"] == "mortgage") & (top["kind"] == "words")].iloc[0]
    assert "escrow" in mortgage["real"] and "escrow" in mortgage["synthetic"]


@pytest.mark.parametrize("target", [None, "channel"])
def test_the_column_the_text_tells_is_predicted(real, target) -> None:
    """Without a target, or with one the text does not tell, the product is predicted."""
    train, holdout = real
    scored = text_scores(train, holdout, make_frame(420, seed=3), make_schema(),
                         target=target).columns["complaint"]
    assert scored.classifier_column == "product"  # the channel leaves no trace in the text
    assert scored.classifier_ratio is not None


def test_scrambled_or_unrelated_texts_score_low(real) -> None:
    train, holdout = real
    shuffled = make_frame(420, seed=3)
    shuffled["product"] = np.random.default_rng(0).permutation(shuffled["product"].to_numpy())
    scored = text_scores(train, holdout, shuffled, make_schema(),
                         target="product").columns["complaint"]
    assert scored.vocabulary_overlap >= 0.9  # the same words...
    assert scored.classifier_ratio < 0.6  # ...no longer tied to the product

    rng = np.random.default_rng(4)
    nonsense = [f"w{n}" for n in range(300)]
    unrelated = make_frame(420, seed=3).assign(complaint=[
        " ".join(rng.choice(nonsense, 20)) for _ in range(420)])
    scored = text_scores(train, holdout, unrelated, make_schema(),
                         target="product").columns["complaint"]
    assert scored.vocabulary_overlap < 0.05 and scored.real_word_share == 0.0
    assert scored.classifier_ratio is not None and scored.classifier_ratio < 0.6


def test_a_run_of_eight_words_leaks_and_seven_do_not() -> None:
    training = ["one two three four five six seven eight nine ten",
                "alpha beta gamma delta"]
    eight = "so one two three four five six seven eight it said"
    seven = "so one two three four five six seven it said"
    # The end of one training text and the start of the next are no run.
    across = "seven eight nine ten alpha beta gamma delta"
    found, = leak_check(training, [[eight, seven, across]])
    assert found.rate == pytest.approx(1 / 3) and found.copy_rate == 0.0
    assert list(found.longest) == [LEAK_NGRAM, 0, 0]
    marked = found.examples[0]
    assert marked.words == LEAK_NGRAM
    assert marked.marked() == "so [one two three four five six seven eight] it said"
    assert tokens("Don't STOP, now!") == ["don't", "stop", "now"]


@pytest.fixture(scope="module")
def copied(real) -> tuple[EvaluationResult, EvaluationResult, pd.DataFrame]:
    """A table drawn afresh whose texts a text model copied from the training rows."""
    train, holdout = real
    synthetic = make_frame(420, seed=3)
    synthetic["complaint"] = train["complaint"].sample(frac=1.0, random_state=0).to_numpy()
    with_text = evaluate_all(train, holdout, synthetic, make_schema(), "product")
    without = evaluate_all(train, holdout, synthetic, make_schema(with_text=False), "product")
    return with_text, without, synthetic


def test_a_copying_text_model_is_flagged_however_good_the_table_is(copied, real) -> None:
    result, without, _ = copied
    train, _ = real
    scored = result.text.columns["complaint"]
    assert scored.leak_rate == pytest.approx(1.0) and scored.exact_copy_rate == 1.0
    assert scored.holdout_leak_rate == 0.0 and scored.leak_level == "poor"
    assert len(scored.examples) == MAX_EXAMPLES
    training_words = {" ".join(tokens(text)) for text in train["complaint"]}
    for example in scored.examples:
        run = " ".join(tokens(example.text[example.start:example.end]))
        assert len(run.split()) == example.words >= LEAK_NGRAM
        assert any(run in text for text in training_words)
    # The same rows judged without the text column read better: the text lowered privacy.
    assert without.verdict.privacy.level in ("good", "fair")
    assert result.verdict.privacy.level == "poor"
    assert "'complaint'" in result.verdict.privacy.reason
    assert "memorises" in result.verdict.privacy.reason
    assert result.verdict.headline.startswith("Not ready to share")
    assert "complaint" not in result.excluded_columns
    assert without.text is None and "text" not in without.skipped
    # Compare's privacy guard is the same reading: the copier is not eligible, its table is.
    from core.comparison import selection_score

    eligible, _, reason = selection_score(result)
    assert not eligible and "'complaint'" in reason
    assert selection_score(without)[0] == (without.verdict.privacy.level in ("good", "fair"))


def test_the_unseen_texts_baseline_subtracts_shared_template_phrases(real) -> None:
    train, holdout = make_frame(420, 1, template=True), make_frame(180, 2, template=True)
    result = text_scores(train, holdout, make_frame(420, 3, template=True), make_schema(),
                         target="product")
    scored = result.columns["complaint"]
    assert scored.leak_rate == 1.0 and scored.holdout_leak_rate == 1.0  # every text shares it
    assert scored.excess_leak_rate == 0.0 and scored.leak_level == "good"
    assert scored.templated and "templated" in scored.sentences["leak"]
    assert scored.long_run_words > len(TEMPLATE)  # beyond the shared phrase
    assert any("'complaint'" in w for w in text_warnings(result))


def test_copied_passages_show_beyond_a_shared_template(real) -> None:
    """Every text shares the template's 8-word runs; copying 15 more words still shows."""
    train, holdout = make_frame(420, 1, template=True), make_frame(180, 2, template=True)
    fresh = make_frame(420, 3)
    passages = [" ".join(tokens(text)[:len(TEMPLATE) + 15]) for text in train["complaint"]]
    synthetic = fresh.assign(complaint=[f"{passage} {text}" for passage, text
                                        in zip(passages, fresh["complaint"], strict=True)])
    scored = text_scores(train, holdout, synthetic, make_schema(),
                         target="product").columns["complaint"]
    assert scored.leak_rate - scored.holdout_leak_rate == 0.0  # 8 words cannot tell
    assert scored.exact_copy_rate == 0.0
    assert scored.long_run_rate == 1.0 and scored.holdout_long_run_rate <= 0.05
    assert scored.leak_level == "poor"
    assert scored.examples[0].words >= len(TEMPLATE) + 15


def test_metrics_json_and_the_report_carry_the_text_scores(copied) -> None:
    from core.evaluation.outputs import build_metrics
    from core.evaluation.report import build_report

    result, without, synthetic = copied
    record = SimpleNamespace(synthesizer="gaussian_copula", preset="quick", params={}, seed=0,
                             device="cpu", model_id="m", train_rows=420)
    sample = SimpleNamespace(frame=synthetic, fixed_values={}, class_shares={},
                             rebalanced_column=None)
    metrics = build_metrics(record, sample, result, 600, {})  # type: ignore[arg-type]
    entry = metrics["text"]["complaint"]
    assert list(entry)[:4] == ["length_score", "vocabulary_overlap", "classifier_ratio",
                               "leak_rate"]
    assert entry["leak_rate"] == 1.0 and entry["classifier_column"] == "product"
    assert metrics["verdict"]["privacy"]["level"] == "poor"
    assert build_metrics(record, sample, without, 600, {})["text"] is None  # type: ignore
    html = build_report(result, {"Dataset": "complaints"})
    assert 'id="section-text"' in html and "figure-text-leak-0" in html
    assert result.text.columns["complaint"].examples[0].marked() in html
