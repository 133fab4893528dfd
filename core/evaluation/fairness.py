"""Bias: does synthesis change how groups of people are treated?

For each sensitive column the user picks (:func:`suggest_sensitive_columns` proposes them
by name and by value), two comparisons:

* **Outcome rates per group** in the real training rows vs the synthetic rows. For a
  category target the outcome is the share of its *minority class* (the least frequent
  class in the real training rows, e.g. ``defaulted = True``); for a number target it is
  the group's average. A number column (age) is cut into :data:`N_BANDS` quantile bands of
  the real values; a category column keeps its :data:`MAX_GROUPS` largest groups and pools
  the rest as "(other values)". A group with fewer than :data:`MIN_GROUP_ROWS` real or
  synthetic rows is shown but marked unreliable and left out of every judgement.
* **Fairness gaps of models** (category targets only): the utility check's gradient-boosting
  model trained on real rows and on synthetic rows (:mod:`core.evaluation._model_pair`),
  both scored on the same held-out real rows with fairlearn's
  ``demographic_parity_difference`` (the largest difference between groups in the share
  predicted as the minority class) and ``equalized_odds_difference`` (the largest
  difference in true- or false-positive rates). More than two classes: one-vs-rest on the
  minority class. A number target has no such gaps (they need a yes/no outcome); its rates
  are still compared.

A gap counts as **widened** when the synthetic side exceeds the real side by more than
:data:`FAIRNESS_GAP_TOLERANCE` (shares; for averages :data:`FAIRNESS_MEAN_GAP_TOLERANCE`
standard deviations of the real target) *and* more than the sampling noise of the smallest
group compared, n rows: comparing two gaps compares four group shares, each with a standard
error of at most 0.5/√n, so the difference has one of about 1/√n and the noise allowed is
two of those, 2/√n (4/√n standard deviations for averages). A small table does not cry wolf.

Bounds: each model trains on at most :data:`MAX_TRAIN_ROWS` rows, the gaps use at most
:data:`MAX_HOLDOUT_ROWS` held-out rows and the rates at most :data:`MAX_RATE_ROWS` rows of
each side (seeded samples).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from core.data.schema import TableSchema
from core.errors import EvaluationError
from core.evaluation._common import (
    as_labels,
    as_numeric,
    evaluation_sdtype,
    is_continuous,
    sample_rows,
    single_threaded_native_code,
)
from core.evaluation._model_pair import ModelPair, fit_model_pair, target_task
from core.evaluation.thresholds import FAIRNESS_GAP_TOLERANCE, FAIRNESS_MEAN_GAP_TOLERANCE
from core.progress import ProgressCallback, null_progress

if TYPE_CHECKING:
    import plotly.graph_objects as go

__all__ = [
    "FAIRNESS_GAP_TOLERANCE",
    "FAIRNESS_MEAN_GAP_TOLERANCE",
    "MAX_GROUPS",
    "MAX_HOLDOUT_ROWS",
    "MAX_RATE_ROWS",
    "MAX_TRAIN_ROWS",
    "MIN_CLASS_ROWS_PER_GROUP",
    "MIN_GROUP_ROWS",
    "N_BANDS",
    "ColumnFairness",
    "FairnessResult",
    "fairness_figure",
    "fairness_scores",
    "suggest_sensitive_columns",
]

#: A group needs this many rows (real and synthetic for rates, held-out for model gaps)
#: to be judged; smaller groups are shown as unreliable.
MIN_GROUP_ROWS = 20
#: Equalized odds compares rates among each group's positives and negatives: a group needs
#: this many held-out rows of each to take part.
MIN_CLASS_ROWS_PER_GROUP = 5
#: Category columns keep their largest groups; the rest are pooled as "(other values)".
MAX_GROUPS = 8
#: Number and date columns are cut into this many quantile bands of the real values.
N_BANDS = 4
#: Bound on the rows each model trains on (seeded sample, stratified on the class).
MAX_TRAIN_ROWS = 10_000
#: Bound on the held-out rows the models' gaps are measured on.
MAX_HOLDOUT_ROWS = 20_000
#: Bound on the real and synthetic rows whose outcome rates are compared.
MAX_RATE_ROWS = 200_000

_OTHER = "(other values)"
_MISSING = "(missing)"
_MAX_SUGGEST_DISTINCT = 60

# --------------------------------------------------------------------------- suggestions

# Word parts of column names that name a protected or sensitive attribute, in a few
# languages, accents folded (see _fold). Short words must be a whole word part (or followed
# by one of _SUFFIXES) so that "usage" or "terrace" do not match "age" or "race".
_NAME_WORDS = frozenset({
    # sex and gender
    "sex", "gender", "geschlecht", "sexe", "sexo", "sesso", "geslacht", "plec",
    "genero", "genere", "пол", "性别", "性別",
    # age and its proxies
    "age", "ages", "aged", "alter", "edad", "idade", "leeftijd", "wiek",
    "dob", "yob", "birth", "birthday", "birthdate", "birthyear", "geburtsdatum",
    "geburtsjahr", "naissance", "nacimiento", "nascita", "возраст", "年龄", "年齢",
    # race and ethnicity
    "race", "racial", "ethnicity", "ethnic", "ethnie", "etnia", "etnicidad", "ethnizitat",
    "etnicita", "raza", "razza", "раса", "民族",
    # nationality, citizenship, origin
    "nationality", "nationalite", "nacionalidad", "nazionalita", "nacionalidade",
    "staatsangehorigkeit", "nationaliteit", "citizenship", "citizen", "immigrant",
    "immigration", "migrant", "migration", "birthplace", "origin", "национальность",
    "гражданство", "国籍",
    # religion
    "religion", "religious", "faith", "religione", "religiao", "konfession", "religie",
    "религия", "宗教",
    # marital status and family
    "marital", "married", "marriage", "familienstand", "matrimonial", "civil",
    # disability and health-linked
    "disability", "disabled", "handicap", "impairment", "behinderung", "discapacidad",
    "disabilita", "pregnant", "pregnancy",
    # other protected grounds
    "orientation", "sexuality", "lgbt", "lgbtq", "caste", "tribe", "tribal", "veteran",
})
# Words that also count inside a longer word part (customergender, maritalstatus); the
# others must be a whole part, or one followed by a suffix below (agegroup, sexcode).
_COMPOUND_WORDS = frozenset({
    "gender", "geschlecht", "ethnicity", "ethnic", "ethnie", "nationality", "nationalite",
    "nacionalidad", "citizenship", "religion", "marital", "disability", "disabled",
    "birthdate", "birthday", "birthyear", "birthplace", "geburtsdatum", "geburtsjahr",
    "familienstand", "staatsangehorigkeit", "pregnancy", "sexuality", "racial", "handicap",
})
_SUFFIXES = ("group", "grp", "band", "bracket", "range", "class", "cat", "category",
             "code", "bucket", "bin", "s")
# "civil" alone is a civil-engineering column; it counts only next to "status"/"state".
_NEEDS_STATUS = frozenset({"civil"})

_MALE = frozenset({"m", "male", "man", "men", "boy", "masculine", "masculino", "masculin",
                   "mannlich", "maschio", "homme", "hombre", "h", "mann", "男", "мужской"})
_FEMALE = frozenset({"f", "female", "woman", "women", "girl", "feminine", "femenino",
                     "feminin", "weiblich", "w", "femmina", "femme", "mujer", "frau", "女",
                     "женский"})
_OTHER_GENDER = frozenset({"x", "other", "diverse", "divers", "d", "nonbinary", "non binary",
                           "non-binary", "unknown", "u", "prefer not to say", "not stated",
                           "na", "n/a", "none", "intersex", "autre", "otro"})
_RACES = frozenset({
    "white", "black", "asian", "hispanic", "latino", "latina", "latinx", "caucasian",
    "african american", "black or african american", "native american", "american indian",
    "american indian or alaska native", "alaska native", "pacific islander",
    "native hawaiian or other pacific islander", "hispanic or latino", "indigenous",
    "aboriginal", "first nations", "mixed", "multiracial", "two or more races", "arab",
    "middle eastern", "south asian", "east asian", "southeast asian", "amer indian eskimo",
    "asian pac islander", "other", "unknown", "roma", "maori",
})
_AGE_BAND = re.compile(
    r"^\s*(?:(?:under|below|over|above|<|>|<=|>=|≤|≥)\s*\d{1,3}|\d{1,3}\s*\+|"
    r"\d{1,3}\s*(?:-|–|—|to)\s*\d{1,3}|\d{1,3}\s*(?:and|or)\s*(?:over|older|above|up))"
    r"\s*(?:years?|yrs?|ans|jahre|años)?\s*$",
    re.IGNORECASE,
)
_DEMONYMS = frozenset({
    "american", "british", "english", "scottish", "welsh", "irish", "canadian", "mexican",
    "brazilian", "argentinian", "argentine", "chilean", "colombian", "peruvian", "cuban",
    "french", "german", "italian", "spanish", "portuguese", "dutch", "belgian", "swiss",
    "austrian", "swedish", "norwegian", "danish", "finnish", "polish", "czech", "slovak",
    "hungarian", "romanian", "bulgarian", "greek", "turkish", "russian", "ukrainian",
    "chinese", "japanese", "korean", "indian", "pakistani", "bangladeshi", "vietnamese",
    "thai", "filipino", "indonesian", "malaysian", "australian", "new zealander",
    "nigerian", "kenyan", "ethiopian", "egyptian", "moroccan", "algerian", "tunisian",
    "south african", "ghanaian", "iranian", "iraqi", "syrian", "lebanese", "israeli",
    "saudi", "afghan", "somali", "sudanese", "jamaican", "haitian", "foreign", "foreigner",
    "national", "domestic", "native", "non-national", "eu", "non-eu",
})
_REGION_NAME_WORDS = frozenset({"state", "province", "region", "county", "district"})


def _fold(text: str) -> str:
    """Lowercase, accents removed (``Nationalité`` → ``nationalite``); other scripts kept."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _word_parts(name: str) -> list[str]:
    spaced = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name)  # camelCase → camel Case
    return [part for part in re.split(r"[\W_\d]+", _fold(spaced)) if part]


def _name_is_sensitive(name: str) -> bool:
    parts = _word_parts(name)
    for index, part in enumerate(parts):
        candidates = {part}
        for suffix in _SUFFIXES:  # agegroup, sexcode, races
            if part.endswith(suffix) and len(part) > len(suffix):
                candidates.add(part[: -len(suffix)])
        for word in candidates & _NAME_WORDS:
            if word in _NEEDS_STATUS:
                if {"status", "state", "etat", "estado"} & set(parts[max(0, index - 1):
                                                                   index + 2]):
                    return True
                continue
            return True
        if any(word in part for word in _COMPOUND_WORDS):
            return True
    return False


def _value_set(series: pd.Series) -> set[str]:
    return {
        re.sub(r"[\s_\-]+", " ", _fold(str(value))).strip()
        for value in series.dropna().unique()
    }


def _looks_like_sex(values: set[str]) -> bool:
    return (len(values) <= 6 and bool(values & _MALE) and bool(values & _FEMALE)
            and values <= _MALE | _FEMALE | _OTHER_GENDER)


def _looks_like_race(values: set[str]) -> bool:
    known = values & _RACES
    return len(known - {"other", "unknown"}) >= 2 and len(known) >= 0.6 * len(values)


def _looks_like_age_bands(values: set[str]) -> bool:
    if not 2 <= len(values) <= 20:
        return False
    bands = [value for value in values if _AGE_BAND.match(value)]
    years = [int(number) for value in bands for number in re.findall(r"\d+", value)]
    return len(bands) >= 0.8 * len(values) and max(years, default=999) <= 120


def _countries() -> tuple[frozenset[str], frozenset[str]]:
    """Country names (folded) and ISO alpha-2/alpha-3 codes (lowercase), from Faker."""
    from faker.providers.address import Provider as Codes
    from faker.providers.address.en import Provider as Names

    names = frozenset(re.sub(r"[\s_\-]+", " ", _fold(name)) for name in Names.countries)
    codes = frozenset(code.lower() for code in (*Codes.alpha_2_country_codes,
                                                *Codes.alpha_3_country_codes))
    return names | {"usa", "uk", "united states", "england", "scotland", "wales"}, codes


def _looks_like_countries(name: str, values: set[str]) -> bool:
    if len(values) < 2 or set(_word_parts(name)) & _REGION_NAME_WORDS:
        return False  # US state codes overlap ISO country codes (CA, GA, IN...)
    names, codes = _countries()
    named = len(values & (names | _DEMONYMS))
    coded = len(values & codes)
    return named >= 0.8 * len(values) or (len(values) >= 3 and coded >= 0.9 * len(values))


def suggest_sensitive_columns(
    frame: pd.DataFrame, schema: TableSchema, *, target: str | None = None
) -> list[str]:
    """Columns that look like sensitive attributes (sex, age, race, nationality, ...).

    A modelled column is suggested when a word part of its name names such an attribute
    (in English and a few other languages: ``sex``, ``Geschlecht``, ``age_band``,
    ``nationalité``, ``marital_status``...) or, for a category column with few distinct
    values, when its values look like sexes or genders (M/F, male/female...), races or
    ethnicities, age bands ("18-25", "65+") or countries and nationalities.

    Args:
        frame: The table (loaded or prepared).
        schema: Its reviewed schema; only modelled columns are suggested.
        target: The predicted column, never suggested.

    Returns:
        Column names in table order.
    """
    suggested: list[str] = []
    for name in schema.modelled_columns:
        if name == target or name not in frame.columns:
            continue
        if _name_is_sensitive(name):
            suggested.append(name)
            continue
        if evaluation_sdtype(schema.column(name)) not in ("categorical", "boolean"):
            continue
        series = frame[name]
        if series.nunique(dropna=True) > _MAX_SUGGEST_DISTINCT:
            continue
        values = _value_set(series)
        if (_looks_like_sex(values) or _looks_like_race(values)
                or _looks_like_age_bands(values) or _looks_like_countries(name, values)):
            suggested.append(name)
    return suggested


# --------------------------------------------------------------------------- groups


def _number_text(value: float, dates: bool) -> str:
    if dates:
        return str((pd.Timestamp(0) + pd.to_timedelta(value, unit="D")).date())
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.3g}"


@dataclass(frozen=True)
class _Grouping:
    """How one column's values become groups (learned on the real training rows)."""

    labels: tuple[str, ...]
    assign: Callable[[pd.Series], np.ndarray]
    banded: bool


def _category_grouping(labels: pd.Series) -> _Grouping:
    counts = labels.value_counts()
    kept = [str(g) for g, n in counts.items() if n >= MIN_GROUP_ROWS][:MAX_GROUPS]
    if not kept:  # every group small: keep the largest ones, judged unreliable later
        kept = [str(g) for g in counts.index[:MAX_GROUPS]]
    pooled = len(kept) < len(counts)
    keep = set(kept)

    def assign(series: pd.Series) -> np.ndarray:
        values = series.to_numpy(dtype=object)
        return np.where(pd.Series(values).isin(keep).to_numpy(), values, _OTHER)

    return _Grouping(tuple(kept) + ((_OTHER,) if pooled else ()), assign, banded=False)


def _labels_of(series: pd.Series, numeric: bool, dates: bool) -> pd.Series:
    if numeric:
        values = as_numeric(series)
        text = [_MISSING if math.isnan(v) else _number_text(v, dates) for v in values]
        return pd.Series(text, dtype=object)
    return as_labels(series).fillna(_MISSING).astype(str).reset_index(drop=True)


def _grouping(real: pd.Series, sdtype: str) -> tuple[_Grouping, Callable[[pd.Series],
                                                                          pd.Series]]:
    """The groups of a column and the function turning its values into group keys."""
    continuous = is_continuous(sdtype)
    dates = sdtype == "datetime"
    values = as_numeric(real) if continuous else None
    present = values[~np.isnan(values)] if values is not None else None
    if present is None or len(np.unique(present)) <= N_BANDS + 2:
        def keys(series: pd.Series) -> pd.Series:
            return _labels_of(series, continuous, dates)

        return _category_grouping(keys(real)), keys
    whole = not dates and bool(np.all(np.mod(present, 1) == 0))
    edges = np.quantile(present, np.linspace(0, 1, N_BANDS + 1))
    # Whole numbers: "up to 33.5" holds the same values as "up to 33", which reads better.
    edges = np.unique(np.floor(edges) if whole else edges)
    inner = edges[1:-1]
    names: list[str] = []
    for index in range(len(edges) - 1):
        low, high = edges[index], edges[index + 1]
        if index == 0:
            names.append(f"up to {_number_text(high, dates)}")
        elif index == len(edges) - 2:
            names.append(f"{_number_text(low + 1, dates)} and over" if whole
                         else f"over {_number_text(low, dates)}")
        elif whole:
            names.append(f"{_number_text(low + 1, dates)}–{_number_text(high, dates)}")
        else:
            joiner = " to " if dates else "–"
            names.append(f"{_number_text(low, dates)}{joiner}{_number_text(high, dates)}")
    if len(names) == 1:
        names = ["all values"]
    band_names = np.array(names, dtype=object)

    def banded_keys(series: pd.Series) -> pd.Series:
        numbers = as_numeric(series)
        bands = band_names[np.searchsorted(inner, np.nan_to_num(numbers), side="left")]
        return pd.Series(np.where(np.isnan(numbers), _MISSING, bands), dtype=object)

    labels = tuple(names) + ((_MISSING,) if np.isnan(values).any() else ())
    return _Grouping(labels, lambda s: s.to_numpy(dtype=object), banded=True), banded_keys


def _groups_of(grouping: _Grouping, keys: Callable[[pd.Series], pd.Series],
               series: pd.Series) -> np.ndarray:
    return grouping.assign(keys(series.reset_index(drop=True)))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class ColumnFairness:
    """How one sensitive column's groups fare in real vs synthetic data.

    Attributes:
        column: The sensitive column.
        banded: Whether its groups are quantile bands of numbers or dates.
        rates: One row per group: ``group``, ``real_rows``, ``synthetic_rows``,
            ``real_rate``, ``synthetic_rate`` (the outcome: share of the minority class or
            average target), ``reliable`` (both sides have :data:`MIN_GROUP_ROWS` rows).
        rate_gap: ``{"real", "synthetic"}``: largest minus smallest rate among reliable
            groups (NaN with fewer than two).
        demographic_parity: ``{"real", "synthetic"}`` demographic parity differences of the
            models on held-out rows, or None when not measured (see ``gap_note``).
        equalized_odds: Same for equalized-odds differences.
        widened: Whether synthesis widened a gap (rates or a model's) beyond the tolerance
            and the noise.
        sentence: The plain-language reading.
        gap_note: Why the model gaps are missing or partial ("" if measured on all groups).
    """

    column: str
    banded: bool
    rates: pd.DataFrame
    rate_gap: dict[str, float]
    demographic_parity: dict[str, float] | None
    equalized_odds: dict[str, float] | None
    widened: bool
    sentence: str
    gap_note: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able numbers (NaN becomes None)."""
        def pair(values: dict[str, float] | None) -> dict[str, float | None] | None:
            return None if values is None else {k: _finite(v) for k, v in values.items()}

        return {
            "groups": [
                {"group": str(row["group"]), "real_rows": int(row["real_rows"]),
                 "synthetic_rows": int(row["synthetic_rows"]),
                 "real_rate": _finite(row["real_rate"]),
                 "synthetic_rate": _finite(row["synthetic_rate"]),
                 "reliable": bool(row["reliable"])}
                for row in self.rates.to_dict("records")
            ],
            "rate_gap": pair(self.rate_gap),
            "demographic_parity_difference": pair(self.demographic_parity),
            "equalized_odds_difference": pair(self.equalized_odds),
            "widened": self.widened,
            "sentence": self.sentence,
        }


@dataclass(frozen=True, eq=False)
class FairnessResult:
    """Outcome rates and model fairness gaps per sensitive column, real vs synthetic.

    Attributes:
        target: The outcome column.
        task: ``classification`` or ``regression``.
        positive_class: The class whose share is the outcome (the minority class of the
            real training rows), None for a number target.
        outcome: The outcome in words ("share of 'defaulted' = 'True'", "average 'income'").
        columns: Sensitive column → :class:`ColumnFairness`.
        gaps_skipped: Why the model gaps were not measured at all (number target), or None.
        rows: Rows used: ``real_train``, ``synthetic_train``, ``holdout`` (models),
            ``real_rates``, ``synthetic_rates``.
        notes: What was sampled or left out, in plain sentences.
    """

    target: str
    task: str
    positive_class: str | None
    outcome: str
    columns: dict[str, ColumnFairness]
    gaps_skipped: str | None
    rows: dict[str, int]
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def widened_columns(self) -> list[str]:
        """Sensitive columns whose gap synthesis widened."""
        return [name for name, column in self.columns.items() if column.widened]

    @property
    def sentences(self) -> list[str]:
        """One sentence per sensitive column."""
        return [column.sentence for column in self.columns.values()]

    def as_dict(self) -> dict[str, Any]:
        """A JSON-able summary for metrics.json's ``fairness`` key."""
        return {
            "target": self.target,
            "task": self.task,
            "positive_class": self.positive_class,
            "outcome": self.outcome,
            "tolerance": (FAIRNESS_GAP_TOLERANCE if self.task == "classification"
                          else FAIRNESS_MEAN_GAP_TOLERANCE),
            "min_group_rows": MIN_GROUP_ROWS,
            "gaps_skipped": self.gaps_skipped,
            "widened_columns": self.widened_columns,
            "columns": {name: column.as_dict() for name, column in self.columns.items()},
        }


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


# --------------------------------------------------------------------------- measuring


def _rates(groups: np.ndarray, outcome: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame({"group": groups, "outcome": outcome})
    summary = frame.groupby("group", sort=False)["outcome"].agg(["size", "mean"])
    return summary


def _spread(table: pd.DataFrame, side: str) -> float:
    values = table.loc[table["reliable"], f"{side}_rate"].dropna()
    return float(values.max() - values.min()) if len(values) >= 2 else float("nan")


def _widened(real: float, synthetic: float, tolerance: float, noise: float) -> int:
    """+1 widened, -1 narrowed, 0 about the same (or not measurable)."""
    if not (math.isfinite(real) and math.isfinite(synthetic)):
        return 0
    margin = max(tolerance, noise)
    if synthetic - real > margin:
        return 1
    if real - synthetic > margin:
        return -1
    return 0


def _model_gaps(
    pair: ModelPair, groups: np.ndarray
) -> tuple[dict[str, float] | None, dict[str, float] | None, int, int, str]:
    """Both models' fairness gaps on the held-out rows.

    Returns (demographic parity, equalized odds, the change of each (see :func:`_widened`),
    a note on groups left out).
    """
    from fairlearn.metrics import demographic_parity_difference, equalized_odds_difference

    assert pair.minority is not None
    truth = pair.truth == pair.minority
    with single_threaded_native_code():
        predicted = {
            "real": np.asarray(pair.real_model.predict(pair.features)) == pair.minority,
            "synthetic": np.asarray(pair.synthetic_model.predict(pair.features))
            == pair.minority,
        }
    sizes = pd.Series(groups).value_counts()
    usable = [g for g, n in sizes.items() if n >= MIN_GROUP_ROWS]
    left_out = [str(g) for g in sizes.index if g not in set(usable)]
    note = (f"Groups with fewer than {MIN_GROUP_ROWS} held-out rows were left out of the "
            f"model gaps: {', '.join(left_out)}." if left_out else "")
    if len(usable) < 2:
        return None, None, 0, 0, (
            f"Model gaps not measured: fewer than two groups have {MIN_GROUP_ROWS} "
            "held-out rows."
        )
    mask = np.isin(groups, usable)
    parity = {side: float(demographic_parity_difference(
        truth[mask], values[mask], sensitive_features=groups[mask]))
        for side, values in predicted.items()}
    parity_noise = 2 / math.sqrt(int(sizes[usable].min()))
    parity_change = _widened(parity["real"], parity["synthetic"], FAIRNESS_GAP_TOLERANCE,
                             parity_noise)
    frame = pd.DataFrame({"group": groups[mask], "truth": truth[mask]})
    positives = frame.groupby("group")["truth"].agg(["sum", "size"])
    smallest = np.minimum(positives["sum"], positives["size"] - positives["sum"])
    odds_groups = [g for g, n in smallest.items() if n >= MIN_CLASS_ROWS_PER_GROUP]
    odds: dict[str, float] | None = None
    odds_change = 0
    if len(odds_groups) >= 2:
        odds_mask = np.isin(groups, odds_groups)
        odds = {side: float(equalized_odds_difference(
            truth[odds_mask], values[odds_mask], sensitive_features=groups[odds_mask]))
            for side, values in predicted.items()}
        odds_noise = 2 / math.sqrt(int(smallest[odds_groups].min()))
        odds_change = _widened(odds["real"], odds["synthetic"], FAIRNESS_GAP_TOLERANCE,
                               odds_noise)
    return parity, odds, parity_change, odds_change, note


def _gap_text(value: float, shares: bool) -> str:
    return f"{value:.2f}" if shares else _number_text(float(f"{value:.3g}"), False)


def _model_change(parity_change: int, odds_change: int) -> int:
    """Widened if either gap widened, else narrowed if either narrowed."""
    changes = (parity_change, odds_change)
    return 1 if 1 in changes else (-1 if -1 in changes else 0)


def _sentence(
    column: str, table: pd.DataFrame, rate_gap: dict[str, float], rate_change: int,
    parity: dict[str, float] | None, odds: dict[str, float] | None,
    changes: tuple[int, int], positive: str | None, target: str, scale: float,
) -> str:
    parts: list[str] = []
    model_change = _model_change(*changes)
    if parity is not None:
        assert positive is not None
        how = {1: "more unequally than", -1: "less unequally than",
               0: "about as unequally as"}[model_change]
        shown = (f"the share predicted '{positive}' differs between groups by "
                 f"{parity['synthetic']:.2f} vs {parity['real']:.2f}")
        if model_change == 1 and changes[0] != 1 and odds is not None:
            shown = (f"the equalized-odds gap, the largest difference in how often true and "
                     f"false '{positive}' cases are caught, is {odds['synthetic']:.2f} vs "
                     f"{odds['real']:.2f}")
        sentence = (f"A model trained on the synthetic data treats groups of '{column}' "
                    f"{how} one trained on real data ({shown})")
        if model_change == 1:
            sentence += ": synthesis widened the gap"
        elif abs(parity["synthetic"] - parity["real"]) > FAIRNESS_GAP_TOLERANCE:
            sentence += "; with groups this small, a difference this size can be chance"
        parts.append(sentence + ".")
    if math.isfinite(rate_gap["real"]) and math.isfinite(rate_gap["synthetic"]):
        shares = positive is not None
        what = (f"the share of '{target}' = '{positive}'" if positive is not None
                else f"the average '{target}'")
        verdict = {1: ": synthesis widened the gap", -1: ": synthesis narrowed the gap",
                   0: ", about the same"}[rate_change]
        tolerance = FAIRNESS_GAP_TOLERANCE if shares else FAIRNESS_MEAN_GAP_TOLERANCE * scale
        if rate_change == 0 and abs(rate_gap["synthetic"] - rate_gap["real"]) > tolerance:
            verdict = " (with groups this small, a difference this size can be chance)"
        parts.append(
            f"In the rows themselves, {what} differs between groups of '{column}' by up to "
            f"{_gap_text(rate_gap['synthetic'], shares)} in synthetic data vs "
            f"{_gap_text(rate_gap['real'], shares)} in real data{verdict}."
        )
    else:
        parts.append(f"Fewer than two groups of '{column}' have {MIN_GROUP_ROWS} rows on both "
                     "sides, so their outcome rates are not compared.")
    small = [str(g) for g in table.loc[~table["reliable"], "group"]]
    if small:
        parts.append(f"Groups with fewer than {MIN_GROUP_ROWS} rows ({', '.join(small)}) are "
                     "shown but not judged.")
    return " ".join(parts)


def fairness_scores(
    real_train: pd.DataFrame,
    holdout: pd.DataFrame,
    synthetic: pd.DataFrame,
    schema: TableSchema,
    target: str | None,
    sensitive_columns: list[str] | tuple[str, ...],
    *,
    seed: int = 0,
    progress: ProgressCallback | None = None,
) -> FairnessResult:
    """Outcome rates per group and models' fairness gaps, real vs synthetic.

    Args:
        real_train: The real rows the synthesizer trained on (prepared frame).
        holdout: Held-out real rows (never seen by the synthesizer).
        synthetic: Generated rows.
        schema: The reviewed schema.
        target: The outcome column.
        sensitive_columns: The columns whose groups are compared (modelled columns).
        seed: Seed of the samples and the models.
        progress: Called with (fraction, message).

    Returns:
        See :class:`FairnessResult`.

    Raises:
        EvaluationError: No target, a one-class or empty target, no sensitive column, a
            sensitive column that is the target or not a modelled column.
    """
    report = progress or null_progress
    task, columns = target_task(real_train, holdout, synthetic, schema, target)
    assert target is not None
    sensitive = list(dict.fromkeys(sensitive_columns))
    if not sensitive:
        raise EvaluationError(
            "No sensitive column is picked: choose at least one column (such as sex, age or "
            "nationality) whose groups should be compared."
        )
    if target in sensitive:
        raise EvaluationError(
            f"'{target}' is the target and cannot also be a sensitive column: the check "
            "compares the target's rates across the groups of other columns. Remove it "
            "from the sensitive columns."
        )
    unknown = [name for name in sensitive if name not in columns]
    if unknown:
        raise EvaluationError(
            f"The sensitive column(s) {', '.join(map(repr, unknown))} are not columns the "
            "synthesizer learns (missing, dropped, faked or an identifier): pick modelled "
            "columns."
        )
    notes: list[str] = []
    pair: ModelPair | None = None
    gaps_skipped: str | None = None
    positive: str | None = None
    if task == "classification":
        report(0.0, "Training models on real and synthetic rows…")
        pair = fit_model_pair(real_train, holdout, synthetic, schema, target, seed=seed,
                              max_train_rows=MAX_TRAIN_ROWS, max_test_rows=MAX_HOLDOUT_ROWS)
        notes.extend(pair.notes)
        assert pair.minority is not None
        positive = pair.classes[pair.minority]
        outcome = f"share of '{target}' = '{positive}'"
    else:
        real_values = as_numeric(real_train[target])
        if pd.Series(real_values).nunique() < 2:
            raise EvaluationError(
                f"The target '{target}' has only one value in the real training rows: "
                "there is no outcome to compare between groups — pick another target."
            )
        gaps_skipped = (
            f"Model fairness gaps need a yes/no outcome; '{target}' is a number, so only "
            "its average per group is compared."
        )
        outcome = f"average '{target}'"
    report(0.6, "Comparing outcomes between groups…")
    real_rows = sample_rows(real_train.reset_index(drop=True), MAX_RATE_ROWS, seed + 4)
    synth_rows = sample_rows(synthetic.reset_index(drop=True), MAX_RATE_ROWS, seed + 5)
    for what, before, after in (("real training", len(real_train), len(real_rows)),
                                ("synthetic", len(synthetic), len(synth_rows))):
        if after < before:
            notes.append(f"Outcome rates use a seeded sample of {after:,} of {before:,} "
                         f"{what} rows.")

    def outcome_of(frame: pd.DataFrame) -> np.ndarray:
        if positive is not None:
            labels = as_labels(frame[target])
            hit = (labels == positive).to_numpy(dtype=float)
            hit[labels.isna().to_numpy()] = np.nan
            return hit
        return as_numeric(frame[target])

    real_outcome, synth_outcome = outcome_of(real_rows), outcome_of(synth_rows)
    scale = 1.0
    if task == "regression":
        scale = float(np.nanstd(real_outcome)) or 1.0
    results: dict[str, ColumnFairness] = {}
    for position, name in enumerate(sensitive):
        report(0.6 + 0.4 * position / len(sensitive), f"Comparing groups of '{name}'…")
        grouping, keys = _grouping(real_rows[name], evaluation_sdtype(schema.column(name)))
        real_groups = _groups_of(grouping, keys, real_rows[name])
        synth_groups = _groups_of(grouping, keys, synth_rows[name])
        real_summary = _rates(real_groups[~np.isnan(real_outcome)],
                              real_outcome[~np.isnan(real_outcome)])
        synth_summary = _rates(synth_groups[~np.isnan(synth_outcome)],
                               synth_outcome[~np.isnan(synth_outcome)])
        labels = list(grouping.labels) + [
            g for g in synth_summary.index if g not in set(grouping.labels)]
        table = pd.DataFrame({
            "group": labels,
            "real_rows": [int(real_summary["size"].get(g, 0)) for g in labels],
            "synthetic_rows": [int(synth_summary["size"].get(g, 0)) for g in labels],
            "real_rate": [float(real_summary["mean"].get(g, np.nan)) for g in labels],
            "synthetic_rate": [float(synth_summary["mean"].get(g, np.nan)) for g in labels],
        })
        table = table[(table["real_rows"] > 0) | (table["synthetic_rows"] > 0)]
        table = table.reset_index(drop=True)
        table["reliable"] = ((table["real_rows"] >= MIN_GROUP_ROWS)
                             & (table["synthetic_rows"] >= MIN_GROUP_ROWS))
        rate_gap = {"real": _spread(table, "real"), "synthetic": _spread(table, "synthetic")}
        reliable = table[table["reliable"]]
        smallest = int(min(reliable["real_rows"].min(), reliable["synthetic_rows"].min())
                       ) if len(reliable) else 0
        if task == "classification":
            rate_change = _widened(rate_gap["real"], rate_gap["synthetic"],
                                   FAIRNESS_GAP_TOLERANCE,
                                   2 / math.sqrt(smallest) if smallest else math.inf)
        else:
            rate_change = _widened(rate_gap["real"] / scale, rate_gap["synthetic"] / scale,
                                   FAIRNESS_MEAN_GAP_TOLERANCE,
                                   4 / math.sqrt(smallest) if smallest else math.inf)
        parity = odds = None
        changes = (0, 0)
        gap_note = gaps_skipped or ""
        if pair is not None:
            holdout_groups = _groups_of(grouping, keys, pair.holdout[name])
            parity, odds, *found, gap_note = _model_gaps(pair, holdout_groups)
            changes = (found[0], found[1])
        model_change = _model_change(*changes)
        sentence = _sentence(name, table, rate_gap, rate_change, parity, odds, changes,
                             positive, target, scale)
        results[name] = ColumnFairness(
            column=name, banded=grouping.banded, rates=table, rate_gap=rate_gap,
            demographic_parity=parity, equalized_odds=odds,
            widened=rate_change > 0 or model_change > 0, sentence=sentence,
            gap_note=gap_note,
        )
    report(1.0, "Fairness done.")
    rows = {"real_rates": len(real_rows), "synthetic_rates": len(synth_rows)}
    if pair is not None:
        rows.update(pair.rows)
    return FairnessResult(
        target=target, task=task, positive_class=positive, outcome=outcome, columns=results,
        gaps_skipped=gaps_skipped, rows=rows, notes=tuple(notes),
    )


# --------------------------------------------------------------------------- figure


def fairness_figure(result: FairnessResult, column: str | None = None) -> go.Figure:
    """Outcome rate per group of one sensitive column, real vs synthetic bars.

    Args:
        result: What :func:`fairness_scores` returned.
        column: The sensitive column (default: the first one).
    """
    import plotly.graph_objects as go

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    name = column or next(iter(result.columns))
    details = result.columns[name]
    table = details.rates
    shown = [group if reliable else f"{group} (few rows)"
             for group, reliable in zip(table["group"], table["reliable"], strict=True)]
    figure = go.Figure()
    for side, label, colour in (("real", "Real data", REAL_COLOUR),
                                ("synthetic", "Synthetic data", SYNTHETIC_COLOUR)):
        figure.add_bar(
            x=shown, y=list(table[f"{side}_rate"].astype(float)), name=label,
            marker={"color": colour,
                    "opacity": [1.0 if r else 0.45 for r in table["reliable"]]},
            customdata=list(table[f"{side}_rows"]),
            hovertemplate="%{x}: %{y:.3f} (%{customdata:,} rows)<extra>" + label
            + "</extra>",
        )
    percent = result.task == "classification"
    figure.update_layout(
        barmode="group", height=360,
        title={"text": f"{result.outcome[0].upper()}{result.outcome[1:]} by '{name}'"},
        yaxis={"tickformat": ".0%" if percent else ",", "rangemode": "tozero"},
        margin={"l": 40, "r": 20, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "xanchor": "center",
                "x": 0.5},
    )
    return figure
