"""Attacks with a baseline: singling out, linkability, inference and membership inference.

Distances (:mod:`core.evaluation.privacy`) say how close synthetic rows come to training
rows; the attacks here say what an attacker holding the synthetic rows could *do* with
them. Each attack is run twice: against sampled **training rows** (people the model saw)
and against as many **held-out rows** (people it never saw, the control set). Whatever
succeeds as often on the held-out rows comes from general patterns any public statistic
would give, not from the training rows leaking, so every risk is the excess over it:

    risk = (attack rate − control rate) / (1 − control rate), clipped to 0..1

(anonymeter's residual risk, Giomi et al. 2022, with its Wilson 95 % intervals, propagated).

* **Singling out** — anonymeter 1.1.0's ``SinglingOutEvaluator`` in *multivariate* mode
  (a query combining :data:`SINGLING_OUT_COLUMNS` columns, built around a synthetic row, that
  matches exactly one synthetic row, e.g. ``age ≥ 71 and state == "WA" and income ≤ 21,300``);
  the univariate mode only finds the rarest single values, which the held-out rows share
  and which says little about the model. Success: the query matches exactly one training
  row. At most :data:`MAX_ATTACKS` queries and :data:`QUERY_ATTEMPTS_PER_ATTACK` tries each.
  Training and held-out rows are attacked in equal numbers (the smaller of the two, up to
  :data:`MAX_POPULATION_ROWS`): a query picks out one row of a smaller set more easily by
  chance alone, and anonymeter's correction for unequal sizes fits the number of queries
  rather than of successes (with a correction fitted here instead, real rows the model never
  saw, used as the "synthetic" data, still read 0.15–0.20 on loans; at equal sizes 0.02).
  A copied row is caught when its source is among the attacked rows.
  Its random-query baseline is anonymeter's, drawn here with the values in a fixed order
  (anonymeter lists them in polars' unspecified order, so the same seed varied).
* **Linkability** — anonymeter's method: the evaluated columns are split into two halves,
  as if an attacker held two separate tables about the same people (numbers and dates are
  dealt alternately to the two halves in table order, then the other columns, so that each
  half gets its share of the precise columns); a target row is *linked* when its nearest
  synthetic row on the first half is also its nearest on the second half. Counting and the
  statistics are anonymeter's (``LinkabilityIndexes``, ``EvaluationResults``).
* **Inference** — anonymeter's method: the attacker knows up to :data:`MAX_KNOWN_COLUMNS`
  quasi-identifiers of a target (columns whose name reads like a demographic — age, sex,
  ZIP, city, state, job, … — first, then the other columns in table order, sensitive-sounding
  ones last; at least one column is always left secret) and guesses a secret column from
  the nearest synthetic row.
  Up to :data:`MAX_SECRETS` secret columns are tried (sensitive-sounding names such as
  income, diagnosis or churn first, then table order; a column nearly everyone shares one
  value of, such as a rare fraud flag, only when nothing else is left: see
  :data:`MAX_SECRET_MAJORITY`); the worst is reported with the others in ``per_column``.
  A category or a number with at most :data:`SECRET_BINS` values
  must be guessed exactly; a number or date with more must be guessed within its tenth
  (the decile of the training values), since an exact float is never guessed, and
  anonymeter's relative tolerance misjudges negative values. Successes are counted by
  anonymeter's ``evaluate_inference_guesses``; the baseline guesses a random synthetic row.
* **Membership inference** — for each sampled training and held-out row, the distance to
  its nearest synthetic row (the encoding and exact search of
  :mod:`core.evaluation.privacy`); an attacker calls the closer rows "members". The
  **AUC** of that guess (training vs held-out) is 0.5 when the synthetic data says nothing
  about who was in the training data and 1.0 when it gives everyone away; its 95 % interval
  is Hanley & McNeil's (1982). The **risk** is ``max(0, 2·AUC − 1)`` (0 at chance, 1 at
  perfect separation), its interval the same map of the AUC's interval.

Why the studio's nearest-neighbour search and not anonymeter's for linkability and
inference: anonymeter's Gower search is numba code compiled on first use, 2–5 s in every new
process, more than the whole time budget of this evaluation; its own counting and
statistics are kept.

Sizes (all samples seeded): training and held-out rows are de-duplicated; singling out sees
up to :data:`MAX_POPULATION_ROWS` of each, the attacker up to :data:`MAX_SYNTHETIC_ROWS`
synthetic rows; linkability and inference attack ``min(MAX_ATTACKS, train, holdout)`` rows
of each side (fewer with small held-out sets, said in a note); membership compares
``min(MAX_ROWS, train, holdout)`` rows of each side. Sizes are in
:attr:`AttackResult.rows`. Columns with no value at all are left out (a note).
When an attack does no better than anonymeter's random-guess baseline, its risk is 0
(anonymeter: "Analysis results cannot be trusted"), the interval's upper end kept, and a
note says so. A failure inside an attack gives an unmeasured risk with a note, never an
exception.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluated_columns,
    evaluation_sdtype,
    is_continuous,
    require_rows,
    sample_rows,
    single_threaded_native_code,
)
from core.evaluation.privacy import _nearest, encode_rows, fit_row_encoder
from core.progress import ProgressCallback, null_progress

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "ATTACK_NAMES",
    "AttackResult",
    "AttackRisk",
    "MAX_ATTACKS",
    "MAX_KNOWN_COLUMNS",
    "MAX_POPULATION_ROWS",
    "MAX_ROWS",
    "MAX_SECRETS",
    "MAX_SECRET_MAJORITY",
    "MAX_SYNTHETIC_ROWS",
    "attack_figure",
    "attack_scores",
    "known_columns_for",
    "linkability_halves",
    "secret_columns_for",
]

#: Training rows and held-out rows whose membership is guessed (each side, equal sizes).
MAX_ROWS = 2_000
#: Training and held-out rows among which a singling-out query must pick out one person.
MAX_POPULATION_ROWS = 20_000
#: Synthetic rows the attacker holds and searches.
MAX_SYNTHETIC_ROWS = 20_000
#: Attacks per side (queries for singling out, target rows for linkability and inference).
MAX_ATTACKS = 500
#: Columns each singling-out query combines.
SINGLING_OUT_COLUMNS = 3
#: Singling-out query attempts per requested attack (bounds the search on unique-less data).
QUERY_ATTEMPTS_PER_ATTACK = 20
#: Columns the inference attacker knows.
MAX_KNOWN_COLUMNS = 5
#: Secret columns the inference attacker tries to guess.
MAX_SECRETS = 3
#: A number or date with more distinct values is guessed within its tenth (decile).
SECRET_BINS = 10
#: A secret column whose most common value covers more of the training rows than this is
#: not guessed (see :func:`secret_columns_for`).
MAX_SECRET_MAJORITY = 0.8
#: The four attacks, in the order they are shown and stored.
ATTACK_NAMES: tuple[str, ...] = ("singling_out", "linkability", "inference", "membership")

_CONFIDENCE = 0.95
# Effective query weights tried when carrying held-out singling out to the training size.
_TITLES = {
    "singling_out": "Singling out",
    "linkability": "Linkability",
    "inference": "Inference",
    "membership": "Membership inference",
}
# Names that read like quasi-identifiers (things an attacker could know about a person).
_QUASI_IDENTIFIER = re.compile(
    r"age|birth|dob|sex|gender|zip|post(al)?_?code|postcode|city|town|state|country|region|"
    r"county|district|race|ethnic|nationality|marital|education|occupation|job|profession",
    re.IGNORECASE,
)
# Names that read like something a person would keep secret.
_SENSITIVE = re.compile(
    r"income|salary|wage|earning|balance|debt|loan|credit|default|fraud|diagnos|disease|"
    r"health|medical|illness|condition|religio|politic|churn|outcome|target|label|score",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class AttackRisk:
    """One attack's risk beyond the held-out baseline.

    Attributes:
        name: ``singling_out``, ``linkability``, ``inference`` or ``membership``.
        risk: What the synthetic data adds for the attacker, 0..1 (0 = nothing).
        ci: Its 95 % interval (low, high), within 0..1.
        sentence: The risk in plain words, built from the numbers.
        measured: False when the attack could not run on this data (the note says why);
            the risk is then 0 with interval (0, 0).
        attack_rate: Share of attacks on training rows that succeeded.
        baseline_rate: Share a random-guessing attacker gets (anonymeter's baseline).
        control_rate: Share of attacks on held-out rows that succeeded.
        attacks: Attacks per side (membership: rows per side).
        known_columns: Columns the attacker uses (linkability: both halves).
        secret: Inference only: the column guessed (the worst one at the top level).
        per_column: Inference only: one risk per secret column tried.
        halves: Linkability only: the two column sets linked.
        auc: Membership only: AUC of telling training from held-out rows.
        auc_ci: Membership only: its 95 % interval.
    """

    name: str
    risk: float
    ci: tuple[float, float]
    sentence: str
    measured: bool = True
    attack_rate: float | None = None
    baseline_rate: float | None = None
    control_rate: float | None = None
    attacks: int = 0
    known_columns: tuple[str, ...] = ()
    secret: str | None = None
    per_column: tuple[AttackRisk, ...] = ()
    halves: tuple[tuple[str, ...], tuple[str, ...]] | None = None
    auc: float | None = None
    auc_ci: tuple[float, float] | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready numbers: ``risk``, ``ci`` and the attack's own extras."""
        data: dict[str, Any] = {
            "risk": float(self.risk),
            "ci": [float(self.ci[0]), float(self.ci[1])],
            "measured": self.measured,
            "attacks": int(self.attacks),
        }
        for key in ("attack_rate", "baseline_rate", "control_rate", "auc"):
            value = getattr(self, key)
            if value is not None:
                data[key] = float(value)
        if self.auc_ci is not None:
            data["auc_ci"] = [float(self.auc_ci[0]), float(self.auc_ci[1])]
        if self.known_columns:
            data["known_columns"] = list(self.known_columns)
        if self.secret is not None:
            data["secret"] = self.secret
        if self.per_column:
            data["per_column"] = {
                item.secret or item.name: {"risk": float(item.risk),
                                           "ci": [float(item.ci[0]), float(item.ci[1])]}
                for item in self.per_column
            }
        if self.halves is not None:
            data["halves"] = [list(self.halves[0]), list(self.halves[1])]
        return data


@dataclass(frozen=True)
class AttackResult:
    """The four attacks on one synthetic sample.

    Attributes:
        singling_out: Singling-out risk.
        linkability: Linkability risk.
        inference: The worst inference risk over the secret columns tried.
        membership: Membership-inference risk.
        rows: Sample sizes used: ``train``, ``holdout`` (equal), ``synthetic``,
            ``attacks`` and the full sizes ``train_full``, ``holdout_full``,
            ``synthetic_full``.
        notes: Plain sentences on what was reduced, left out or could not be measured.
        columns: The columns the attacks used.
    """

    singling_out: AttackRisk
    linkability: AttackRisk
    inference: AttackRisk
    membership: AttackRisk
    rows: dict[str, int]
    notes: tuple[str, ...] = ()
    columns: tuple[str, ...] = field(default=())

    @property
    def risks(self) -> tuple[AttackRisk, ...]:
        """The four risks in :data:`ATTACK_NAMES` order."""
        return (self.singling_out, self.linkability, self.inference, self.membership)

    @property
    def worst(self) -> AttackRisk:
        """The highest of the four risks."""
        return max(self.risks, key=lambda item: item.risk)

    def as_dict(self) -> dict[str, dict[str, Any]]:
        """For metrics.json: ``{attack: {"risk": r, "ci": [low, high], ...}}``."""
        return {item.name: item.as_dict() for item in self.risks}


# --------------------------------------------------------------------------- words


def _per_hundred(value: float) -> str:
    hundredths = 100 * value
    if hundredths < 0.5:
        return "no"
    if hundredths < 1:
        return "fewer than 1 in 100"
    return f"about {round(hundredths)} in 100"


def _interval(ci: tuple[float, float]) -> str:
    return f"95 % interval {round(100 * ci[0])}–{round(100 * ci[1])} in 100"


def _names(columns: tuple[str, ...] | list[str], most: int = 4) -> str:
    names = list(columns)
    if len(names) > most:
        return ", ".join(names[:most - 1]) + f" and {len(names) - most + 1} more columns"
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _unmeasured(name: str, why: str, **extras: Any) -> AttackRisk:
    sentence = f"{_TITLES[name]} could not be measured: {why}"
    return AttackRisk(name=name, risk=0.0, ci=(0.0, 0.0), sentence=sentence, measured=False,
                      **extras)


# --------------------------------------------------------------------------- columns


def known_columns_for(columns: list[str]) -> list[str]:
    """The inference attacker's known columns (see the module docstring for the rule)."""
    room = min(MAX_KNOWN_COLUMNS, len(columns) - 1)
    if room <= 0:
        return []
    named = [name for name in columns if _QUASI_IDENTIFIER.search(str(name))]
    sensitive = [name for name in columns
                 if name not in named and _SENSITIVE.search(str(name))]
    rest = [name for name in columns if name not in named and name not in sensitive]
    return (named + rest + sensitive)[:room]


def secret_columns_for(columns: list[str], known: list[str],
                       frame: pd.DataFrame | None = None) -> list[str]:
    """The columns the inference attacker tries to guess (sensitive-sounding names first).

    With ``frame`` (the training rows), a column whose most common value covers more than
    :data:`MAX_SECRET_MAJORITY` of the rows is not tried when another one is left: anyone
    guesses it right by naming that value, and the risk, divided by the few rows that
    differ, swings from run to run (a 2 % fraud flag read 0.50 for an independent model).
    """
    left = [name for name in columns if name not in known]
    if frame is not None:
        spread = [name for name in left
                  if frame[name].value_counts(normalize=True, dropna=False).max()
                  <= MAX_SECRET_MAJORITY]
        left = spread or left
    sensitive = [name for name in left if _SENSITIVE.search(str(name))]
    return (sensitive + [name for name in left if name not in sensitive])[:MAX_SECRETS]


def linkability_halves(columns: list[str], schema: TableSchema
                       ) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The two column sets the linkability attacker holds (see the module docstring)."""
    continuous = [name for name in columns
                  if is_continuous(evaluation_sdtype(schema.column(name)))]
    dealt = continuous + [name for name in columns if name not in continuous]
    first, second = set(dealt[0::2]), set(dealt[1::2])
    return (tuple(name for name in columns if name in first),
            tuple(name for name in columns if name in second))


def _attack_frame(frame: pd.DataFrame, schema: TableSchema, columns: list[str]) -> pd.DataFrame:
    """What anonymeter's singling out reads: numbers (dates as days) and text labels."""
    data: dict[str, Any] = {}
    for name in columns:
        if is_continuous(evaluation_sdtype(schema.column(name))):
            data[name] = as_numeric(frame[name])
        else:
            labels = as_labels(frame[name]).to_numpy(dtype=object)
            labels[pd.isna(labels)] = None
            data[name] = labels
    return pd.DataFrame(data, index=frame.index)


def _secret_labels(
    reference: pd.Series, series_list: list[pd.Series], continuous: bool
) -> tuple[list[np.ndarray], bool]:
    """Labels to guess, and whether numbers were binned into tenths of ``reference``.

    Categories and numbers with few values are guessed exactly; other numbers (and dates)
    within their tenth: the deciles of the training values.
    """
    if not continuous:
        out = []
        for series in series_list:
            labels = as_labels(series).to_numpy(dtype=object)
            labels[pd.isna(labels)] = "missing"
            out.append(labels)
        return out, False
    finite = as_numeric(reference)
    finite = finite[np.isfinite(finite)]
    binned = len(np.unique(finite)) > SECRET_BINS
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, SECRET_BINS + 1)[1:-1])) \
        if binned else None
    out = []
    for series in series_list:
        numbers = as_numeric(series)
        labels = (np.digitize(numbers, edges) if edges is not None else numbers).astype(str)
        labels = labels.astype(object)
        labels[np.isnan(numbers)] = "missing"
        out.append(labels)
    return out, binned


# --------------------------------------------------------------------------- neighbours


def _nearest_index(reference: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """Index of each query's nearest reference row (sklearn's chunked brute force search)."""
    from sklearn.neighbors import NearestNeighbors

    with single_threaded_native_code():
        search = NearestNeighbors(n_neighbors=1, algorithm="brute").fit(reference)
        return search.kneighbors(queries, return_distance=False)[:, 0]


def _encoded(frames: list[pd.DataFrame], schema: TableSchema, columns: list[str]
             ) -> list[np.ndarray]:
    """Encode ``frames`` on ``columns``, the encoder fitted on the first (synthetic) one."""
    encoder = fit_row_encoder(frames[0], frames[1:], schema, columns)
    scale = np.float32(1 / math.sqrt(len(columns)))
    return [encode_rows(frame, encoder) * scale for frame in frames]


# --------------------------------------------------------------------------- statistics


def _results(n_attacks: int, success: int, baseline: int, control: float) -> Any:
    """Success rates (anonymeter, Wilson intervals) of attack, baseline and control."""
    from anonymeter.stats.confidence import EvaluationResults

    # control may be fractional: singling out rescales it when the sizes differ.
    return EvaluationResults(n_attacks=n_attacks, n_success=int(success),
                             n_baseline=int(baseline), n_control=control,
                             confidence_level=_CONFIDENCE)


def _residual(results: Any, guessing: list[str], title: str
              ) -> tuple[float, tuple[float, float]]:
    """Residual risk and interval (anonymeter); 0 when the attack is no better than guessing.

    ``title`` is appended to ``guessing`` in that case (one note lists them all).
    """
    risk = results.risk()
    value, low, high = (float(risk.value), float(risk.ci[0]), float(risk.ci[1]))
    if results.attack_rate.value <= results.baseline_rate.value:
        guessing.append(title)
        return 0.0, (0.0, max(high, 0.0))
    return value, (min(low, value), max(high, value))


def _rates(results: Any) -> dict[str, float]:
    return {
        "attack_rate": float(results.attack_rate.value),
        "baseline_rate": float(results.baseline_rate.value),
        "control_rate": float(results.control_rate.value),
    }


# --------------------------------------------------------------------------- attacks


def _random_query_baseline(ori: pd.DataFrame, syn: pd.DataFrame, n_attacks: int,
                           n_cols: int, seed: int) -> int:
    """The random-guess baseline of singling out (anonymeter's), in a reproducible order.

    Anonymeter draws each query's values from polars' ``unique()`` of the synthetic column,
    whose order is unspecified: the same seed gave a different baseline run to run. Here
    the values come in order of first appearance; the queries are anonymeter's own.
    """
    import polars as pl
    from anonymeter.evaluators.singling_out_evaluator import (
        _convert_polars_dtype,
        _evaluate_queries_and_return_successful,
        _random_query,
    )

    syn_pl = pl.DataFrame(syn.reset_index(drop=True)).unique(maintain_order=True)
    unique_values = {name: syn_pl[name].unique(maintain_order=True).to_list()
                     for name in syn_pl.columns}
    kinds = {name: _convert_polars_dtype(syn_pl[name].dtype) for name in syn_pl.columns}
    rng = np.random.default_rng(seed)
    queries = [
        _random_query(unique_values=unique_values,
                      cols=rng.choice(syn_pl.columns, size=n_cols, replace=False).tolist(),
                      column_types=kinds, rng=rng)
        for _ in range(n_attacks)
    ]
    ori_pl = pl.DataFrame(ori.reset_index(drop=True)).unique(maintain_order=True)
    return len(_evaluate_queries_and_return_successful(df=ori_pl, queries=queries))


def _singling_out(ori: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame,
                  n_attacks: int, seed: int, notes: list[str], guessing: list[str]
                  ) -> AttackRisk:
    from anonymeter.evaluators.singling_out_evaluator import SinglingOutEvaluator

    columns = list(ori.columns)
    n_cols = min(SINGLING_OUT_COLUMNS, len(columns))
    # anonymeter's own path with equal populations: a query that picks out one row in a
    # smaller set is more likely by chance alone, and anonymeter's size correction is not
    # needed (nor trusted: it fits the number of queries, not of successes).
    size = min(len(ori), len(control))
    ori = sample_rows(ori, size, seed + 300).reset_index(drop=True)
    control = sample_rows(control, size, seed + 301).reset_index(drop=True)
    evaluator = SinglingOutEvaluator(
        ori=ori, syn=syn.reset_index(drop=True), control=control, n_attacks=n_attacks,
        n_cols=n_cols, max_attempts=QUERY_ATTEMPTS_PER_ATTACK * n_attacks, seed=seed,
    ).evaluate(mode="multivariate")
    counted = evaluator.results(confidence_level=_CONFIDENCE)
    found = len(evaluator.queries())
    baseline = _random_query_baseline(ori, syn, n_attacks, n_cols, seed + 100)
    results = _results(n_attacks, counted.n_success, baseline, float(counted.n_control))
    if found < n_attacks:
        notes.append(
            f"Singling out: only {found} of {n_attacks} queries that pick out one synthetic "
            "row were found, so the risk may be underestimated."
        )
    risk, ci = _residual(results, guessing, "singling out")
    sentence = (
        f"An attacker who combines the values of {n_cols} columns read off the synthetic "
        f"rows could single out {_per_hundred(risk)} training rows beyond what the held-out "
        f"rows already allow ({_interval(ci)})."
    )
    return AttackRisk(name="singling_out", risk=risk, ci=ci, sentence=sentence,
                      attacks=n_attacks, known_columns=tuple(columns), **_rates(results))


def _linkability(ori: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame,
                 schema: TableSchema, columns: list[str], n_attacks: int, seed: int,
                 guessing: list[str]) -> AttackRisk:
    from anonymeter.evaluators.linkability_evaluator import LinkabilityIndexes

    if len(columns) < 2:
        return _unmeasured("linkability", "linking two tables needs at least two columns.")
    halves = linkability_halves(columns, schema)
    nearest: list[np.ndarray] = []  # per half: training targets, then held-out targets
    for half in halves:
        syn_x, ori_x, control_x = _encoded([syn, ori, control], schema, list(half))
        both = _nearest_index(syn_x, np.vstack([ori_x, control_x]))
        nearest.append(both)
    links = []
    for part in (slice(0, len(ori)), slice(len(ori), len(ori) + len(control))):
        indexes = LinkabilityIndexes(nearest[0][part][:, None], nearest[1][part][:, None])
        links.append(indexes.count_links(n_neighbors=1))
    rng = np.random.default_rng(seed)
    guessed = LinkabilityIndexes(rng.integers(0, len(syn), (n_attacks, 1)),
                                 rng.integers(0, len(syn), (n_attacks, 1)))
    results = _results(n_attacks, links[0], guessed.count_links(n_neighbors=1), links[1])
    risk, ci = _residual(results, guessing, "linkability")
    sentence = (
        f"An attacker holding two separate tables about the same people — one with "
        f"{_names(halves[0])}, the other with {_names(halves[1])} — could join "
        f"{_per_hundred(risk)} training rows through the synthetic rows beyond what the "
        f"held-out rows already allow ({_interval(ci)})."
    )
    return AttackRisk(name="linkability", risk=risk, ci=ci, sentence=sentence,
                      attacks=n_attacks, known_columns=tuple(columns), halves=halves,
                      **_rates(results))


def _inference(ori: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame,
               schema: TableSchema, columns: list[str], n_attacks: int, seed: int,
               guessing: list[str]) -> AttackRisk:
    from anonymeter.evaluators.inference_evaluator import evaluate_inference_guesses

    known = known_columns_for(columns)
    if not known:
        return _unmeasured("inference", "guessing one column from others needs at least "
                                        "two columns.")
    secrets = secret_columns_for(columns, known, ori)
    syn_x, ori_x, control_x = _encoded([syn, ori, control], schema, known)
    to_ori = _nearest_index(syn_x, ori_x)
    to_control = _nearest_index(syn_x, control_x)
    rng = np.random.default_rng(seed)
    per_column: list[AttackRisk] = []
    for secret in secrets:
        continuous = is_continuous(evaluation_sdtype(schema.column(secret)))
        (syn_labels, ori_labels, control_labels), binned = _secret_labels(
            ori[secret], [syn[secret], ori[secret], control[secret]], continuous)

        def hits(guesses: np.ndarray, truth: np.ndarray) -> int:
            index = pd.RangeIndex(len(truth))
            return int(evaluate_inference_guesses(
                guesses=pd.Series(guesses, index=index), secrets=pd.Series(truth, index=index),
                regression=False).sum())

        random_rows = rng.integers(0, len(syn_labels), len(ori_labels))
        results = _results(n_attacks, hits(syn_labels[to_ori], ori_labels),
                           hits(syn_labels[random_rows], ori_labels),
                           hits(syn_labels[to_control], control_labels))
        risk, ci = _residual(results, guessing, f"guessing {secret}")
        what = f"{secret} (within its tenth of values)" if binned else secret
        sentence = (
            f"An attacker who knows {_names(known)} could guess {what} for "
            f"{_per_hundred(risk)} training rows beyond what the held-out rows already "
            f"allow ({_interval(ci)})."
        )
        per_column.append(AttackRisk(
            name="inference", risk=risk, ci=ci, sentence=sentence, attacks=n_attacks,
            known_columns=tuple(known), secret=secret, **_rates(results)))
    worst = max(per_column, key=lambda item: item.risk)
    return AttackRisk(
        name="inference", risk=worst.risk, ci=worst.ci, sentence=worst.sentence,
        attack_rate=worst.attack_rate, baseline_rate=worst.baseline_rate,
        control_rate=worst.control_rate, attacks=n_attacks, known_columns=tuple(known),
        secret=worst.secret, per_column=tuple(per_column))


def _auc_interval(auc: float, positives: int, negatives: int) -> tuple[float, float]:
    """Hanley & McNeil (1982) 95 % interval of an AUC, within 0..1."""
    q1 = auc / (2 - auc)
    q2 = 2 * auc * auc / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc * auc)
                + (negatives - 1) * (q2 - auc * auc)) / (positives * negatives)
    half = 1.959963984540054 * math.sqrt(max(variance, 0.0))
    return max(0.0, auc - half), min(1.0, auc + half)


def _membership(ori: pd.DataFrame, control: pd.DataFrame, syn: pd.DataFrame,
                schema: TableSchema, columns: list[str]) -> AttackRisk:
    from sklearn.metrics import roc_auc_score

    if len(ori) < 2 or len(control) < 2:
        return _unmeasured("membership", "it needs at least two training and two held-out "
                                         "rows.")
    syn_x, ori_x, control_x = _encoded([syn, ori, control], schema, columns)
    distances = _nearest(syn_x, np.vstack([ori_x, control_x]), 1)[:, 0].astype(float)
    members = np.r_[np.ones(len(ori_x)), np.zeros(len(control_x))]
    auc = float(roc_auc_score(members, -distances))
    auc_ci = _auc_interval(auc, len(ori_x), len(control_x))
    risk = max(0.0, 2 * auc - 1)
    ci = (max(0.0, 2 * auc_ci[0] - 1), min(1.0, max(0.0, 2 * auc_ci[1] - 1)))
    if auc_ci[0] <= 0.5:
        reading = "no better than a coin toss"
    elif auc < 0.6:
        reading = "slightly better than a coin toss"
    else:
        reading = "clearly better than a coin toss"
    sentence = (
        f"Telling whether a person was in the training data from how close the synthetic "
        f"rows come to them works {reading} (AUC {auc:.2f}; 0.50 is a coin toss, 1.00 gives "
        f"everyone away): a risk of {round(100 * risk)} in 100 ({_interval(ci)})."
    )
    return AttackRisk(name="membership", risk=risk, ci=ci, sentence=sentence,
                      attacks=len(ori_x), known_columns=tuple(columns), auc=auc,
                      auc_ci=auc_ci)


# --------------------------------------------------------------------------- main


def _distinct_rows(frame: pd.DataFrame, schema: TableSchema, columns: list[str]
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The frame (positional index) without repeated rows, and its anonymeter form."""
    plain = frame.reset_index(drop=True)
    converted = _attack_frame(plain, schema, columns)
    keep = ~converted.duplicated().to_numpy()
    return plain[keep], converted[keep]


def attack_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> AttackResult:
    """Singling-out, linkability, inference and membership risks beyond the held-out baseline.

    Args:
        real_train: The real rows the synthesizer trained on (prepared).
        holdout: Held-out real rows it never saw: the control set.
        synthetic: Generated rows.
        schema: The reviewed schema (only modelled columns are attacked).
        seed: Seed of every sample and random choice: same inputs and seed, same numbers.
        progress: Called with (fraction, message).

    Returns:
        The four risks with their 95 % intervals, sentences, sample sizes and notes.

    Raises:
        EvaluationError: No modelled column, a frame lacks one, or a frame is empty.
    """
    report = progress or null_progress
    columns = evaluated_columns(schema, real_train, holdout, synthetic)
    require_rows(real_train, holdout, synthetic, "The privacy attacks need",
                 "the held-out rows are the baseline every attack is compared with. Keep a "
                 "held-out share when splitting")
    notes: list[str] = []
    empty = [name for name in columns if real_train[name].isna().all()]
    if empty:
        notes.append(f"Left out of the attacks (no values in the training rows): "
                     f"{_names(empty, most=6)}.")
        columns = [name for name in columns if name not in empty]
    if not columns:
        raise EvaluationError(
            "Every modelled column is empty in the training rows, so there is nothing to "
            "attack. Check that the right file and columns were loaded."
        )

    report(0.0, "Preparing the attack samples…")
    train_rows, train_attack = _distinct_rows(real_train, schema, columns)
    holdout_rows, holdout_attack = _distinct_rows(holdout, schema, columns)
    # Singling out: a query must pick out one person among (up to) all training rows.
    ori_attack = sample_rows(train_attack, MAX_POPULATION_ROWS, seed)
    control_attack = sample_rows(holdout_attack, MAX_POPULATION_ROWS, seed + 1)
    syn = sample_rows(synthetic.reset_index(drop=True), MAX_SYNTHETIC_ROWS, seed + 2)
    syn_attack = _attack_frame(syn, schema, columns)
    smaller = min(len(train_rows), len(holdout_rows))
    n_attacks = min(MAX_ATTACKS, smaller)
    if n_attacks < MAX_ATTACKS:
        notes.append(
            f"Only {smaller:,} distinct held-out rows to compare with, so each attack was run "
            f"{n_attacks:,} times instead of {MAX_ATTACKS:,}: the intervals are wide."
        )
    # Linkability and inference attack n_attacks rows of each side; membership more.
    ori_targets = sample_rows(train_rows, n_attacks, seed + 5)
    control_targets = sample_rows(holdout_rows, n_attacks, seed + 6)
    members = sample_rows(train_rows, min(smaller, MAX_ROWS), seed + 7)
    non_members = sample_rows(holdout_rows, min(smaller, MAX_ROWS), seed + 8)

    attacks: dict[str, AttackRisk] = {}
    guessing: list[str] = []
    steps = (
        ("singling_out", "Singling out: looking for queries that pick out one person…",
         lambda: _singling_out(ori_attack, control_attack, syn_attack, n_attacks, seed, notes,
                               guessing)),
        ("linkability", "Linkability: joining two halves of each row through synthetic rows…",
         lambda: _linkability(ori_targets, control_targets, syn, schema, columns, n_attacks,
                              seed + 3, guessing)),
        ("inference", "Inference: guessing secret columns from known ones…",
         lambda: _inference(ori_targets, control_targets, syn, schema, columns, n_attacks,
                            seed + 4, guessing)),
        ("membership", "Membership: telling training rows from held-out rows…",
         lambda: _membership(members, non_members, syn, schema, columns)),
    )
    for position, (name, message, run) in enumerate(steps):
        report(0.05 + 0.9 * position / len(steps), message)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # anonymeter's warnings become notes here
            try:
                attacks[name] = run()
            except Exception as error:  # noqa: BLE001 - anonymeter fails in data-dependent ways
                notes.append(f"{_TITLES[name]} could not be measured on this data ({error}).")
                attacks[name] = _unmeasured(name, "the attack failed on this data (see notes).")
    if guessing:
        notes.append(
            f"No better than random guessing, so no risk shown for: {_names(guessing, most=6)} "
            "(the interval still bounds what the attack could have missed)."
        )
    for item in attacks.values():
        if not item.measured and item.sentence not in notes:
            notes.append(item.sentence)
    report(1.0, "Attacks done.")
    rows = {
        "train": len(ori_attack), "holdout": len(control_attack), "synthetic": len(syn),
        "attacks": n_attacks, "membership": len(members), "train_full": len(real_train),
        "holdout_full": len(holdout), "synthetic_full": len(synthetic),
    }
    return AttackResult(notes=tuple(notes), rows=rows, columns=tuple(columns), **attacks)


# --------------------------------------------------------------------------- figure


def attack_figure(result: AttackResult) -> go.Figure:
    """The four risks as bars with their 95 % intervals on a 0–100 % axis."""
    import plotly.graph_objects as go

    from core.charts import SYNTHETIC_COLOUR

    measured = [item for item in result.risks if item.measured]
    labels = [_TITLES[item.name] + (f" ({item.secret})" if item.secret else "")
              for item in measured]
    risks = [item.risk for item in measured]
    figure = go.Figure(go.Bar(
        x=risks, y=labels, orientation="h", marker_color=SYNTHETIC_COLOUR,
        error_x={"type": "data", "symmetric": False,
                 "array": [item.ci[1] - item.risk for item in measured],
                 "arrayminus": [item.risk - item.ci[0] for item in measured]},
        text=[f"{risk:.0%}" for risk in risks], textposition="outside",
        hovertext=[item.sentence for item in measured], hoverinfo="text",
        name="risk beyond held-out rows",
    ))
    figure.update_layout(
        template="plotly_white", height=80 + 60 * max(len(measured), 1),
        margin={"l": 40, "r": 20, "t": 50, "b": 40}, showlegend=False,
        title={"text": "What an attacker gains from the synthetic rows (0% = nothing; "
                       "bars show the 95% interval)"},
    )
    figure.update_xaxes(range=[0, 1], tickformat=".0%",
                        title_text="risk beyond what held-out rows allow")
    figure.update_yaxes(autorange="reversed")
    return figure
