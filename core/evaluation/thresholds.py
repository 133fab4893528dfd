"""Every number that turns a score into a judgement, in one place.

The verdict (:mod:`core.evaluation.verdict`), Compare's privacy guard
(:func:`core.comparison.selection_score`), the Evaluate page's good/fair/poor badges and the
score gauges all read their levels here, so one score never gets two readings
(docs/ARCHITECTURE.md).

=====================  ===============================  ===============================
score                  good                             fair (else poor)
=====================  ===============================  ===============================
fidelity: a 0..1       ≥ 0.85                           ≥ 0.70
similarity (quality
score, one column's
score, column pairs)
utility: TSTR / TRTR   ≥ 0.90                           ≥ 0.75
privacy: distances      excess copies ≤ 1 % and DCR      excess copies ≤ 5 % and DCR
                       share ≤ 0.60                     share ≤ 0.70
privacy: attacks       highest attack risk ≤ 0.05       highest attack risk ≤ 0.15
privacy: text leaks    excess leak rate ≤ 1 %           excess leak rate ≤ 5 %
related tables:        100 % (no orphan)                ≥ 99 %
referential integrity
related tables:        ≥ 0.85                           ≥ 0.70
cardinality
=====================  ===============================  ===============================

The privacy reading is the worse of its two rows: distances (copies, DCR share) and attacks
(:mod:`core.evaluation.attacks`: singling-out, linkability, inference and membership risk,
each what the synthetic rows let an attacker do beyond what never-seen real rows allow).
An attack counts with the low end of its 95 % interval (what it demonstrably gained): a
small sample's point estimate swings by chance (:func:`core.evaluation.verdict.highest_attack`).
A differential-privacy ε (:data:`EPSILON_STRONG`, :data:`EPSILON_WEAK`) is named in the
reading as the formal guarantee it is, but never lifts a level the evidence lowered: ε bounds
what any attack can learn, the attacks measure what these particular ones did.

A text column (written by a text model, :mod:`core.evaluation.text`) leaks when its synthetic
texts repeat a run of 8 or more words of a training text, or a whole one: the *excess leak
rate* is the larger of those two shares minus the share of never-seen real texts that do the
same by chance. The privacy reading takes the worst text column's level too
(:data:`TEXT_LEAK_GOOD`, :data:`TEXT_LEAK_FAIR`): copied words of a real complaint expose its
writer however private the table's other columns are. When most never-seen texts share such
runs by chance (:data:`TEXT_TEMPLATED`: templated language), runs longer than those texts
share count instead (:func:`core.evaluation.text.long_run_words`) and the verdict says so.

*Excess copies* are the synthetic rows that copy a training row, minus the share of
never-seen real rows that match a training row by chance (a table with few distinct rows
matches itself without any memorising). When half or more of the never-seen rows match
(:data:`REPEATED_TABLE`), the table is mostly repeated rows: copies cannot be told from
memorising, so privacy is "fair" at best. The *DCR share* is 0.5 when synthetic rows are no
closer to the training rows than unseen real rows are, and 1.0 when every row hugs one.

A model passes Compare's privacy guard exactly when its privacy reading is acceptable
(good or fair): the guard's limits are the "fair" row above.

Sequences (event tables, :mod:`core.evaluation.sequences`) add two rows. Fidelity is the
worse of the quality score's level and the *weakest* sequence score's (lengths, transitions,
time between events, autocorrelation) read with :data:`SEQUENCE_GOOD` / :data:`SEQUENCE_FAIR`:
shuffled events keep every column's values, so only the order scores see them. Privacy is
the worse of the row distances and the entity check: the *excess copy rate* (synthetic
sequences repeating a training sequence or a long run of one, minus held-out sequences that
do by chance) within :data:`SEQUENCE_COPY_GOOD` / :data:`SEQUENCE_COPY_FAIR` and the DCR share
of the per-entity rows within the DCR limits above. The row attacks are not run on events.

The verdict also warns when the data is too thin to trust the reading (fewer than
:data:`MIN_REAL_ROWS` real rows, or a target class with fewer than :data:`MIN_CLASS_ROWS`)
and names a class whose share the synthetic rows change by :data:`CLASS_SHARE_FACTOR` or more
(or drop), when enough rows are expected for that to be more than chance.

These are rules of thumb for a first reading, not guarantees: a "good" privacy reading is
not a formal (e.g. differential) privacy guarantee.
"""

from __future__ import annotations

__all__ = [
    "ACCEPTABLE",
    "ATTACK_RISK_FAIR",
    "ATTACK_RISK_GOOD",
    "EPSILON_STRONG",
    "EPSILON_WEAK",
    "attack_level",
    "epsilon_strength",
    "CANARY_NEAR_RATIO",
    "CARDINALITY_FAIR",
    "CARDINALITY_GOOD",
    "INTEGRITY_FAIR",
    "INTEGRITY_GOOD",
    "PII_SAME_ENTITY",
    "cardinality_level",
    "integrity_level",
    "CLASS_SHARE_FACTOR",
    "CLASS_SHARE_MIN_CHANGE",
    "DRIVER_SHARE",
    "FAIRNESS_GAP_TOLERANCE",
    "FAIRNESS_MEAN_GAP_TOLERANCE",
    "LOST_DRIVER_DROP",
    "LOST_DRIVER_SHARE",
    "FIDELITY_FAIR",
    "FIDELITY_GOOD",
    "LEVELS",
    "MAX_DCR_SHARE",
    "MAX_CLASSES_JUDGED",
    "MAX_EXCESS_EXACT_MATCH_RATE",
    "MIN_CLASS_ROWS",
    "MIN_EXPECTED_FOR_DROP",
    "MIN_EXPECTED_FOR_SHIFT",
    "MIN_REAL_ROWS",
    "NOT_MEASURED",
    "PLANTED_RELATION_TOLERANCE",
    "PLANTED_SHARE_TOLERANCE",
    "PRIVACY_FAIR",
    "PRIVACY_GOOD",
    "MIN_REAL_ENTITIES",
    "REPEATED_TABLE",
    "SEQUENCE_COPY_FAIR",
    "SEQUENCE_COPY_GOOD",
    "SEQUENCE_FAIR",
    "SEQUENCE_GOOD",
    "TEXT_LEAK_FAIR",
    "TEXT_LEAK_GOOD",
    "TEXT_TEMPLATED",
    "UTILITY_FAIR",
    "UTILITY_GOOD",
    "excess_exact_match_rate",
    "fidelity_level",
    "privacy_acceptable",
    "privacy_level",
    "sequence_level",
    "sequence_privacy_level",
    "text_leak_level",
    "utility_level",
]

NOT_MEASURED = "not measured"
#: Levels a reading can take, best first.
LEVELS: tuple[str, ...] = ("good", "fair", "poor", NOT_MEASURED)
#: Privacy levels that pass Compare's guard.
ACCEPTABLE: tuple[str, ...] = ("good", "fair")

FIDELITY_GOOD = 0.85
FIDELITY_FAIR = 0.70
UTILITY_GOOD = 0.90
UTILITY_FAIR = 0.75
#: (largest excess exact-match rate, largest DCR share) for "good" and "fair" privacy.
PRIVACY_GOOD = (0.01, 0.60)
PRIVACY_FAIR = (0.05, 0.70)
#: Largest attack risk (core/evaluation/attacks.py) for "good" and for "fair" privacy. Risks
#: are excess success rates over the held-out baseline: 0.05 = the synthetic rows let an
#: attacker succeed on 5 more in 100 targets than never-seen real rows would.
ATTACK_RISK_GOOD = 0.05
ATTACK_RISK_FAIR = 0.15
#: A differential-privacy ε at or below this is a strong formal guarantee; above
#: EPSILON_WEAK it bounds so little that the reading says so.
EPSILON_STRONG = 1.0
EPSILON_WEAK = 10.0
#: Share of never-seen real rows that copy a training row from which the real table counts as
#: mostly repeated rows: exact copies and distances then say little about memorising, so the
#: privacy reading is "fair" at best and says why.
REPEATED_TABLE = 0.5
#: Largest excess leak rate of a text column (share of synthetic texts repeating 8+ words of a
#: training text, or a whole one, beyond never-seen real texts) for "good" and "fair" privacy.
TEXT_LEAK_GOOD = 0.01
TEXT_LEAK_FAIR = 0.05
#: Share of never-seen real texts repeating a training run from which the language counts as
#: templated: the run check says little about partial copying, and the verdict says so.
TEXT_TEMPLATED = 0.5

#: Sequences: the weakest order score (lengths, transitions, time between events,
#: autocorrelation) at or above this reads "good", at or above SEQUENCE_FAIR "fair".
SEQUENCE_GOOD = 0.85
SEQUENCE_FAIR = 0.70
#: Largest excess copy rate of synthetic sequences (copying a training sequence or a long run
#: of one, beyond held-out sequences) for "good" and "fair" privacy.
SEQUENCE_COPY_GOOD = 0.01
SEQUENCE_COPY_FAIR = 0.05
#: Fewer real entities (training + held-out) than this: sequence scores swing, and the verdict
#: says so.
MIN_REAL_ENTITIES = 100

#: Fewer real rows (training + held-out) than this: every score swings from run to run, so
#: the verdict warns that its reading is unreliable.
MIN_REAL_ROWS = 300
#: Fewer real rows than this in one target class: that class's share and the usefulness
#: score are unreliable (a 30 % held-out part keeps only ~9 of 30 rows to test on).
MIN_CLASS_ROWS = 30
#: A class whose synthetic share is this many times smaller or larger than intended (the
#: real share, or the asked-for share of a rebalanced sample) is named in the verdict...
CLASS_SHARE_FACTOR = 2.0
#: ...when its share also moves by at least this much (2 percentage points)...
CLASS_SHARE_MIN_CHANGE = 0.02
#: ...and at least this many synthetic rows of it were expected (fewer is mostly chance).
MIN_EXPECTED_FOR_SHIFT = 20
#: A class with no synthetic row at all is named as dropped from this many expected rows.
MIN_EXPECTED_FOR_DROP = 5
#: Columns with more distinct values than this are not judged class by class.
MAX_CLASSES_JUDGED = 20

#: Planted truth (core/evaluation/planted.py): a relation is kept when its synthetic rank
#: correlation has the real sign and is within this distance of the real one.
PLANTED_RELATION_TOLERANCE = 0.15
#: A planted share (rare class, outlier group) is kept when the synthetic share is within
#: (relative × real share + absolute) of the real one: 4.9 % may become 2.2–7.6 %, not 15.7 %.
PLANTED_SHARE_TOLERANCE = (0.35, 0.01)
#: A canary "reappears" when a synthetic row is an exact copy, or is nearer to it than this
#: fraction of the distance to its nearest other real row (one category apart is distance 1).
CANARY_NEAR_RATIO = 0.5

#: Fairness (core/evaluation/fairness.py): a gap between groups (in shares, 0..1) counts as
#: widened when the synthetic one exceeds the real one by more than this (and more than the
#: sampling noise, 2/√n of the smallest group compared).
FAIRNESS_GAP_TOLERANCE = 0.05
#: The same for a number target's group averages, in standard deviations of the target.
FAIRNESS_MEAN_GAP_TOLERANCE = 0.1

#: A column is a driver of a model when its importance is at least this share of that
#: model's largest importance and above the spread of its own shuffles (a column ranked
#: third with almost no weight, or with a drop that is shuffle noise, is none).
DRIVER_SHARE = 0.1
#: A driver is named as lost when its importance falls by at least this much (in score
#: points) and to below :data:`LOST_DRIVER_SHARE` of its real importance.
LOST_DRIVER_DROP = 0.02
#: See :data:`LOST_DRIVER_DROP`.
LOST_DRIVER_SHARE = 0.5

#: Related tables (core/evaluation/multi_table.py): referential integrity, the share of child
#: rows whose foreign key finds its parent, is "good" only when every row does (a correct
#: synthesizer never writes an orphan) and "fair" down to 99 %.
INTEGRITY_GOOD = 1.0
INTEGRITY_FAIR = 0.99
#: A relationship's cardinality score (1 − the largest gap between the real and synthetic
#: distributions of children per parent) is read like any other similarity score.
CARDINALITY_GOOD = FIDELITY_GOOD
CARDINALITY_FAIR = FIDELITY_FAIR
#: A personal-data column of a child table counts as the same person's value as a parent's
#: column when at least this share of real child rows repeats their parent's value; only
#: then must the synthetic tables keep one fake value per person.
PII_SAME_ENTITY = 0.99

#: Compare's privacy guard: the "fair" privacy limits, so eligible means acceptable privacy.
MAX_EXCESS_EXACT_MATCH_RATE, MAX_DCR_SHARE = PRIVACY_FAIR


def _level(value: float, good: float, fair: float) -> str:
    if value != value:  # NaN: nothing could be scored
        return NOT_MEASURED
    return "good" if value >= good else "fair" if value >= fair else "poor"


def fidelity_level(score: float) -> str:
    """The reading of a 0..1 similarity score (quality score, a column's or pairs' score)."""
    return _level(score, FIDELITY_GOOD, FIDELITY_FAIR)


def integrity_level(fraction: float) -> str:
    """The reading of a referential-integrity fraction (1.0 = no orphan)."""
    if fraction != fraction:
        return NOT_MEASURED
    return ("good" if fraction >= INTEGRITY_GOOD
            else "fair" if fraction >= INTEGRITY_FAIR else "poor")


def cardinality_level(score: float) -> str:
    """The reading of a relationship's cardinality score (children per parent kept)."""
    return _level(score, CARDINALITY_GOOD, CARDINALITY_FAIR)


def utility_level(ratio: float) -> str:
    """The reading of a TSTR / TRTR utility ratio."""
    return _level(ratio, UTILITY_GOOD, UTILITY_FAIR)


def excess_exact_match_rate(exact_match_rate: float, by_chance: float = 0.0) -> float:
    """Copies beyond what never-seen real rows match by chance (never below 0)."""
    return max(0.0, exact_match_rate - by_chance)


def attack_level(highest_risk: float | None) -> str:
    """The reading of the highest attack risk (None or NaN: not measured)."""
    if highest_risk is None or highest_risk != highest_risk:
        return NOT_MEASURED
    return ("good" if highest_risk <= ATTACK_RISK_GOOD
            else "fair" if highest_risk <= ATTACK_RISK_FAIR else "poor")


def epsilon_strength(epsilon: float | None) -> str | None:
    """"strong", "moderate" or "weak" for a differential-privacy ε; None without one."""
    if epsilon is None or epsilon != epsilon:
        return None
    return ("strong" if epsilon <= EPSILON_STRONG
            else "moderate" if epsilon <= EPSILON_WEAK else "weak")


def text_leak_level(leak_rate: float, by_chance: float = 0.0, copy_rate: float = 0.0,
                    copy_by_chance: float = 0.0, long_run_excess: float = 0.0) -> str:
    """The privacy reading of a text column from its leak check (NaN: not measured).

    Args:
        leak_rate: Share of synthetic texts repeating 8+ consecutive words of a training text.
        by_chance: The same share for never-seen real texts.
        copy_rate: Share of synthetic texts copying a whole training text.
        copy_by_chance: The same share for never-seen real texts.
        long_run_excess: Extra share of synthetic texts copying runs longer than never-seen
            texts do (templated language), already net of chance.
    """
    if leak_rate != leak_rate:
        return NOT_MEASURED
    copies = 0.0 if copy_rate != copy_rate else copy_rate - (copy_by_chance or 0.0)
    longer = 0.0 if long_run_excess != long_run_excess else long_run_excess
    excess = max(0.0, leak_rate - (by_chance if by_chance == by_chance else 0.0), copies,
                 longer)
    return ("good" if excess <= TEXT_LEAK_GOOD
            else "fair" if excess <= TEXT_LEAK_FAIR else "poor")


def privacy_level(exact_match_rate: float, dcr_share: float, by_chance: float = 0.0,
                  attack_risk: float | None = None) -> str:
    """The privacy reading of the synthetic rows: the worse of distances and attacks.

    Args:
        exact_match_rate: Share of synthetic rows that copy a training row exactly.
        dcr_share: Share of synthetic rows closer to the training rows than to held-out ones.
        by_chance: Share of held-out real rows that match a training row exactly.
        attack_risk: The highest of the attack risks, or None when not measured.
    """
    excess = excess_exact_match_rate(exact_match_rate, by_chance)
    if (excess <= PRIVACY_GOOD[0] and dcr_share <= PRIVACY_GOOD[1]
            and by_chance < REPEATED_TABLE):
        level = "good"
    elif excess <= PRIVACY_FAIR[0] and dcr_share <= PRIVACY_FAIR[1]:
        level = "fair"
    else:
        level = "poor"
    attacked = attack_level(attack_risk)
    if attacked != NOT_MEASURED and LEVELS.index(attacked) > LEVELS.index(level):
        level = attacked
    return level


def privacy_acceptable(exact_match_rate: float, dcr_share: float, by_chance: float = 0.0,
                       attack_risk: float | None = None) -> bool:
    """True when :func:`privacy_level` is good or fair: Compare's privacy guard."""
    return privacy_level(exact_match_rate, dcr_share, by_chance, attack_risk) in ACCEPTABLE


def sequence_level(weakest_score: float | None) -> str:
    """The reading of the weakest sequence order score (None or NaN: not measured)."""
    if weakest_score is None:
        return NOT_MEASURED
    return _level(weakest_score, SEQUENCE_GOOD, SEQUENCE_FAIR)


def sequence_privacy_level(excess_copy_rate: float | None, entity_dcr_share: float | None
                           ) -> str:
    """The entity-level privacy reading: copied sequences and per-entity distances.

    Args:
        excess_copy_rate: Share of synthetic sequences copying a training one (or a long run
            of one) beyond what held-out sequences do by chance, or None.
        entity_dcr_share: DCR share of the per-entity rows, or None.
    """
    levels = []
    if excess_copy_rate is not None and excess_copy_rate == excess_copy_rate:
        levels.append("good" if excess_copy_rate <= SEQUENCE_COPY_GOOD
                      else "fair" if excess_copy_rate <= SEQUENCE_COPY_FAIR else "poor")
    if entity_dcr_share is not None and entity_dcr_share == entity_dcr_share:
        levels.append("good" if entity_dcr_share <= PRIVACY_GOOD[1]
                      else "fair" if entity_dcr_share <= PRIVACY_FAIR[1] else "poor")
    return max(levels, key=LEVELS.index) if levels else NOT_MEASURED
