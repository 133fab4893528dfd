"""Compare synthesizers on one table and pick one: the Compare page's and ``auto``'s engine.

Each candidate is trained (or reused, with Train's exact request), sampled and evaluated by
:mod:`core.workflow`; :func:`selection_score` applies the one selection rule (privacy guard
from :mod:`core.evaluation.thresholds` first, then the mean of quality and utility ratio).
``auto`` (:func:`auto_compare`) screens the fast synthesizers first and spends what is left
of its budget on slower ones only while screening is weak (docs/ARCHITECTURE.md, "Compare").
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY, dp_capable, get_spec, synthesizers_for
from core.engine.device import DeviceInfo
from core.engine.generation import GeneratedSample
from core.engine.training import (
    REFERENCE_SPEED,
    TrainingRequest,
    estimate_fit_seconds,
)
from core.errors import ParameterError, StudioError
from core.evaluation import EvaluationResult
from core.evaluation.thresholds import (
    ACCEPTABLE,
    ATTACK_RISK_FAIR,
    LEVELS,
    MAX_DCR_SHARE,
    MAX_EXCESS_EXACT_MATCH_RATE,
    NOT_MEASURED,
    privacy_acceptable,
)
from core.evaluation.verdict import ATTACK_NAMES, highest_attack
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry
from core.workflow import (
    BUDGET_SLACK,
    MIN_EPOCHS,
    find_trained,
    fit_in_process,
    plan_request,
    run_model,
    train_rows,
)

__all__ = [
    "AUTO_BUDGET_SECONDS",
    "AUTO_CANDIDATES",
    "AUTO_FAST",
    "AUTO_SEQUENCE_FAST",
    "AUTO_SEQUENCE_SLOW",
    "AUTO_SLOW",
    "CandidateResult",
    "GOOD",
    "SELECTION_RULE",
    "auto_candidates",
    "auto_compare",
    "best_of",
    "compare",
    "estimate_after_fit_seconds",
    "leaderboard_rows",
    "screening_weakness",
    "selection_rule_text",
    "selection_score",
]

#: What ``auto`` screens first: synthesizers that fit in seconds (those in the catalogue run).
AUTO_FAST: tuple[tuple[str, str], ...] = (
    ("gaussian_copula", "balanced"),
    ("sequential_trees", "balanced"),
)


#: What ``auto`` tries only when screening is weak, most promising first, each with the time
#: left: on 2 CPU cores these take minutes to learn what the fast ones get in seconds.
AUTO_SLOW: tuple[tuple[str, str], ...] = (
    ("tabular_argn", "balanced"),
    ("tvae", "balanced"),
    ("ctgan", "balanced"),
    ("copula_gan", "balanced"),
)


#: ``auto`` on an event table (``schema.sequence`` set): PAR first (about a minute on a few
#: hundred entities), TabularARGN's sequential mode only while PAR reads weak.
AUTO_SEQUENCE_FAST: tuple[tuple[str, str], ...] = (("par", "balanced"),)
AUTO_SEQUENCE_SLOW: tuple[tuple[str, str], ...] = (("tabular_argn", "balanced"),)


#: Everything ``auto`` may try, in order (only synthesizers the catalogue has).
AUTO_CANDIDATES: tuple[tuple[str, str], ...] = tuple(
    candidate for candidate in (*AUTO_FAST, *AUTO_SLOW) if candidate[0] in REGISTRY)


#: Seconds ``auto`` takes for the whole run (fit + sample + evaluate) unless told otherwise.
AUTO_BUDGET_SECONDS = 60.0


#: The selection rule as ``metrics.json`` states it (``selection.rule`` of an auto run).
SELECTION_RULE = (
    f"eligible if exact_match_rate - holdout_exact_match_rate <= "
    f"{MAX_EXCESS_EXACT_MATCH_RATE:g} and dcr_share <= {MAX_DCR_SHARE:g} (the verdict's "
    f"privacy reading is {' or '.join(ACCEPTABLE)}); score = mean(quality, min(utility "
    "ratio, 1)) or quality; highest eligible score wins"
)


#: The verdict's best level: ``auto`` stops trying slower candidates once the best reads it.
GOOD = LEVELS[0]




#: A deep fit shorter than this learns next to nothing, so ``auto`` does not start one
#: (loans.csv: CTGAN Balanced cut to 10 s scored quality 0.79, usefulness 0.66).
_MIN_DEEP_FIT_SECONDS = 10.0


#: A deep fit gets this share of what is left once sampling and evaluating are kept aside:
#: it may end an epoch past its limit, and a network samples slower than the fast
#: synthesizers whose sampling was measured (TVAE drew loans.csv's rows in 3-6 s, the
#: Gaussian Copula in 0.7 s; without it ``auto`` overran 60 s by 6 s).
_DEEP_FIT_SHARE = 0.8


def selection_score(evaluation: EvaluationResult) -> tuple[bool, float, str]:
    """Rank a candidate: (passes the privacy guard, score, reason).

    Rule (the one ``auto`` and the Compare page use, :data:`SELECTION_RULE`):

    * **Privacy guard** — a candidate is eligible exactly when its verdict's privacy reading
      is good or fair (:func:`core.evaluation.thresholds.privacy_acceptable`): at most 5 %
      of its rows copy a training row beyond what unseen real rows match by chance, and its
      DCR share is at most 0.70 (0.5 = as close to the training rows as unseen real rows
      are; 1.0 = every row hugs a training row), and no attack (singling out, linking,
      inference, membership) gains more than 0.15 over unseen real rows.
    * **Score** — with a target: the mean of the SDMetrics quality score and the utility
      ratio (TSTR / TRTR, capped at 1.0); without one, or when models trained on the real
      data barely beat always guessing the majority (the ratio would be noise): quality.
    * The highest score among eligible candidates wins; if none is eligible, the best
      overall wins, flagged.
    """
    privacy = evaluation.privacy
    quality = evaluation.quality.quality_score
    worst_attack = highest_attack(evaluation.attacks)
    # The verdict's privacy reading also weighs what the table numbers cannot see (a text
    # column's leak check), so the guard is that reading; it agrees with privacy_acceptable
    # on the table's own numbers (tests/test_workflow.py).
    eligible = evaluation.verdict.privacy.level in ACCEPTABLE
    table_eligible = privacy_acceptable(privacy.exact_match_rate, privacy.dcr_share,
                                        privacy.holdout_exact_match_rate,
                                        None if worst_attack is None else worst_attack[1])
    utility = evaluation.utility
    if utility is not None and utility.ratio is not None and utility.informative:
        ratio = min(max(utility.ratio, 0.0), 1.0)
        score = 0.5 * quality + 0.5 * ratio
        reason = f"quality {quality:.2f}, utility ratio {utility.ratio:.2f}"
    elif utility is not None and not utility.informative:
        score = quality
        reason = (f"quality {quality:.2f} (utility not ranked: the target is barely "
                  "predictable even from real data)")
    else:
        score = quality
        reason = f"quality {quality:.2f} (no utility measured)"
    if not eligible:
        chance = (f", {privacy.holdout_exact_match_rate:.1%} by chance"
                  if privacy.holdout_exact_match_rate >= 0.005 else "")
        attack = ("" if worst_attack is None
                  else f", {ATTACK_NAMES[worst_attack[0]]} risk at least {worst_attack[1]:.2f}")
        if table_eligible:  # the table passes: what failed is said in the reading
            reason += f"; fails the privacy guard ({evaluation.verdict.privacy.reason})"
        else:
            reason += (f"; fails the privacy guard (exact copies {privacy.exact_match_rate:.1%}"
                       f"{chance}, DCR share {privacy.dcr_share:.2f}{attack})")
    return eligible, score, reason


def selection_rule_text() -> str:
    """The selection rule in plain words (the Compare page's caption)."""
    return (
        f"Rule for the recommendation: a candidate is eligible if its privacy reading is "
        f"{' or '.join(ACCEPTABLE)}, that is at most {MAX_EXCESS_EXACT_MATCH_RATE:.0%} of its "
        f"rows copy a training row (beyond what unseen real rows match by chance) and its "
        f"DCR share is at most {MAX_DCR_SHARE:.2f}, and no privacy attack gains more than "
        f"{ATTACK_RISK_FAIR:.2f} over unseen real rows; among eligible ones the highest mean of "
        "quality and utility ratio wins (quality alone without a target)."
    )


@dataclass
class CandidateResult:
    """One candidate of a comparison.

    Attributes:
        request: What was trained.
        record: The stored model (None if training failed).
        sample: The rows it generated.
        evaluation: Their evaluation.
        eligible: Passes the privacy guard.
        score: :func:`selection_score`'s score.
        reason: Why it scored as it did, or why it failed or was skipped.
        seconds: Wall-clock time of train + sample + evaluate.
        reused: The model came from the registry (no fit).
        timings: :func:`run_timings`.
        slow: Tried only when screening is weak (``auto``'s slower candidates).
        skipped: Not started (``reason`` says why).
        needed_s: Seconds it was estimated to need at the least (fit + sample + evaluate)
            when it was planned; None without a budget, and for a candidate that ran before
            any had finished (one always runs).
        left_s: Seconds of the budget left when it was planned; None without a budget.
    """

    request: TrainingRequest
    record: ModelRecord | None = None
    sample: GeneratedSample | None = None
    evaluation: EvaluationResult | None = None
    eligible: bool = False
    score: float = float("-inf")
    reason: str = ""
    seconds: float = 0.0
    reused: bool = False
    timings: dict[str, float] = field(default_factory=dict)
    slow: bool = False
    skipped: bool = False
    needed_s: float | None = None
    left_s: float | None = None

    @property
    def status(self) -> str:
        """``ran``, ``reused``, ``skipped`` or ``failed``."""
        if self.skipped:
            return "skipped"
        if self.evaluation is None:
            return "failed"
        return "reused" if self.reused else "ran"

    @property
    def label(self) -> str:
        """The synthesizer's title and the preset, e.g. "Gaussian Copula · balanced"."""
        return f"{REGISTRY[self.request.synthesizer].title} · {self.request.preset}"


def best_of(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """The winner by :func:`selection_score` (eligible first, then score)."""
    scored = [r for r in results if r.evaluation is not None]
    if not scored:
        return None
    return max(scored, key=lambda r: (r.eligible, r.score))


def screening_weakness(results: Sequence[CandidateResult]) -> str | None:
    """Why the best of ``results`` leaves room for a slower candidate; None if good enough.

    Good enough means what the verdict calls good: the best candidate passes the privacy
    guard and every aspect its verdict measured (fidelity, utility, privacy) reads "good"
    (:mod:`core.evaluation.thresholds`). Anything less is weak: a slower synthesizer may do
    better.
    """
    best = best_of(results)
    if best is None or best.evaluation is None:
        return "no candidate finished"
    if not best.eligible:
        return f"the best one, {best.label}, fails the privacy guard"
    weak = [f"{reading.aspect} is {reading.level}"
            for reading in best.evaluation.verdict.readings
            if reading.level not in (GOOD, NOT_MEASURED)]
    if weak:
        return f"the best one, {best.label}, reads: {', '.join(weak)}"
    return None


def estimate_after_fit_seconds(rows: int, columns: int) -> float:
    """Estimated seconds to draw ``rows`` rows of ``columns`` columns and evaluate them.

    Used until a candidate's own time is measured (the same table costs about the same for
    every candidate). Measured on 2 shared CPU cores: the quality report grows with the
    column pairs (about 8 ms a pair), the usefulness models and distances with the rows
    (about 0.5 ms a row): 10,000 x 55 took 17-22 s, loans.csv 4.3 s, transactions.csv 7.4 s.

    Args:
        rows: Synthetic rows (as many as the real training rows by default).
        columns: Modelled columns.
    """
    pairs = columns * (columns - 1) / 2
    return 3.0 + 0.008 * pairs + 0.0005 * rows + 1e-6 * rows * columns


def _smallest_fit(table: StudioTable, request: TrainingRequest, speed: float | None = None
                  ) -> float:
    """Seconds the shortest useful fit of ``request`` takes (the whole fit if not deep)."""
    params = dict(request.params)
    if get_spec(request.synthesizer).deep:
        # A deep fit can be cut short, but a handful of epochs is the least worth starting.
        params["time_limit"] = 0
        if "epochs" in params:
            params["epochs"] = min(int(params["epochs"]), MIN_EPOCHS)
    try:
        seconds = estimate_fit_seconds(request.synthesizer, params, table.frame, table.schema,
                                       1 - request.split.test_size, speed)
    except ParameterError:  # no time model for it yet
        return _MIN_DEEP_FIT_SECONDS
    return max(seconds, _MIN_DEEP_FIT_SECONDS) if get_spec(request.synthesizer).deep else seconds


def _measured_speed(table: StudioTable, results: Sequence[CandidateResult]) -> float | None:
    """This machine's speed in the fit time model's unit, read off the fast fits run here.

    The time model's own speed test (:func:`core.engine.training.machine_speed`, a small torch
    workload) took 4-14 s on 2 shared cores and then read the CPU 20-100 times slower than
    the fits ran (TVAE planned at ~185 s fitted in 11 s). A fast fit timed against its
    estimate at the reference speed gives the machine's pace for free; never faster than
    the reference (an overestimate only skips a candidate, the time limit still holds).
    None until a fast fit has been measured.
    """
    ratios = []
    for result in results:
        if result.record is None or get_spec(result.request.synthesizer).deep:
            continue
        try:
            expected = estimate_fit_seconds(
                result.request.synthesizer, dict(result.request.params), table.frame,
                table.schema, 1 - result.request.split.test_size, REFERENCE_SPEED)
        except ParameterError:
            continue
        ratios.append(result.record.fit_seconds / max(expected, 1e-6))
    return max(1.0, *ratios) * REFERENCE_SPEED if ratios else None


def _fit_need(table: StudioTable, request: TrainingRequest, stored: bool,
              results: Sequence[CandidateResult]) -> float:
    """Seconds of fit to plan for ``request`` before starting it.

    A fast (not deep) synthesizer takes as long as the longest fast fit measured so far:
    its fit is seconds next to the sampling and evaluation measured with it, and the fit
    time model's speed test (a torch workload) would itself cost seconds and misread a
    busy CPU. Deep ones need their shortest useful fit (:func:`_smallest_fit`).
    """
    if stored:
        return 0.0
    if not get_spec(request.synthesizer).deep:
        fits = [r.record.fit_seconds for r in results
                if r.record is not None and not get_spec(r.request.synthesizer).deep]
        if fits:
            return max(fits)
    return _smallest_fit(table, request, _measured_speed(table, results))


def compare(
    table: StudioTable,
    candidates: Sequence[tuple[str, str]] = AUTO_CANDIDATES,
    budget: float | None = None,
    seed: int = 0,
    device: str = "auto",
    split: SplitSpec | None = None,
    rows: int | None = None,
    registry: ModelRegistry | None = None,
    progress: ProgressCallback | None = None,
    log: Callable[[str], None] | None = None,
    resolved_device: DeviceInfo | None = None,
    slow: Sequence[tuple[str, str]] = (),
    clock: Callable[[], float] = time.monotonic,
    privacy: Mapping[str, Any] | None = None,
    sensitive_columns: Sequence[str] | None = None,
) -> list[CandidateResult]:
    """Train, sample and evaluate candidates in order, within ``budget`` seconds.

    ``candidates`` all run while the budget holds them, sharing it equally; ``slow`` ones
    run after them only while the best so far is weak (:func:`screening_weakness`), each
    with all the time left and a time limit cut to it (``auto``: :func:`auto_compare`).

    Budget: sampling and evaluating a candidate costs about the same on one table, so it is
    estimated from rows x columns (:func:`estimate_after_fit_seconds`) until one candidate
    measured it. Once a candidate has finished, no candidate starts whose fit
    (:func:`_fit_need`) plus that cost does not fit what is left of its share; it is skipped
    with both numbers. Deep models get their epochs from 80 % of their share once that cost is
    kept aside (:func:`plan_request`), unless a model of the preset's plain request (the one
    Train plans, same key) is stored: that one is reused as it is.

    Each candidate is :func:`run_model`. Fits run on ``resolved_device`` when a job backend
    gives one (default: ``device`` resolved on this machine). ``clock`` measures the budget
    (injectable for tests). ``privacy`` (``epsilon``, ``delta``) trains every candidate with
    differential privacy; give only DP-capable candidates then. ``sensitive_columns`` are the
    columns fairness is judged on (None: the suggested ones).
    """
    registry = registry or ModelRegistry()
    report = progress or null_progress
    say = log or (lambda message: None)
    split = split or SplitSpec(target=table.target)
    fit = fit_in_process(registry, resolved_device)
    started = clock()
    queue = [(candidate, False) for candidate in candidates] + [
        (candidate, True) for candidate in slow]
    estimated_after = estimate_after_fit_seconds(rows or train_rows(table, split),
                                                 len(table.schema.modelled_columns))
    measured_after: float | None = None
    if budget is not None:
        say(f"Budget {budget:.0f} s; drawing and evaluating one candidate's rows: "
            f"~{estimated_after:.0f} s (estimated from rows x columns)")
    results: list[CandidateResult] = []
    for index, ((synthesizer, preset), is_slow) in enumerate(queue):
        plain = plan_request(table, synthesizer, preset, seed, device, split,
                             overrides=dict(privacy) if privacy else None)
        base = CandidateResult(request=plain, slow=is_slow)
        if is_slow:
            weakness = screening_weakness(results)
            if weakness is None:
                best = best_of(results)
                base.skipped = True
                base.reason = ("skipped: screening was good enough" if best is None or not
                               best.slow else f"skipped: {best.label} was good enough")
                results.append(base)
                say(f"{base.label}: {base.reason}")
                continue
            if not any(r.slow for r in results):
                say(f"Screening was weak ({weakness}): trying slower synthesizers")
        # The request Train plans for this preset: a model stored under its key (trained on
        # Train, by the CLI or by an earlier comparison) is reused exactly, with no fit.
        stored = find_trained(registry, plain) is not None
        reserve = measured_after if measured_after is not None else estimated_after
        request, share = plain, None
        if budget is not None:
            left = budget - (clock() - started)
            sharing = 1 if is_slow else sum(1 for _, later in queue[index:] if not later)
            share = left / sharing
            base.left_s = round(left, 2)
            # Until one candidate has finished, one runs whatever it needs (not estimated:
            # on a busy machine the estimate's speed test alone can take seconds).
            finished = any(r.evaluation is not None for r in results)
            if finished:
                fit_need = _fit_need(table, plain, stored, results)
                if get_spec(synthesizer).deep:
                    fit_need /= _DEEP_FIT_SHARE
                base.needed_s = round(reserve + fit_need, 2)
            if finished and base.needed_s > share:
                of = f" (its share of {left:.0f} s)" if sharing > 1 else ""
                base.skipped = True
                base.reason = (f"skipped: not enough budget left: needs ~{base.needed_s:.0f} s, "
                               f"{max(share, 0.0):.0f} s left{of}")
                results.append(base)
                say(f"{base.label}: {base.reason}")
                continue
            if not stored:
                request = plan_request(table, synthesizer, preset, seed, device, split,
                                       overrides=dict(privacy) if privacy else None,
                                       fit_budget=max(_DEEP_FIT_SHARE * (share - reserve),
                                                      1.0),
                                       speed=_measured_speed(table, results),
                                       slack=1.0 if is_slow else BUDGET_SLACK)
        result = dataclasses.replace(base, request=request)
        step = scaled(report, index / len(queue), (index + 1) / len(queue))
        candidate_started = clock()
        try:
            run = run_model(table, request, registry, fit, rows, seed, progress=step, log=say,
                            sensitive_columns=sensitive_columns)
        except StudioError as error:
            result.reason = f"failed: {error}"
        else:
            result.record, result.sample, result.evaluation = (run.record, run.sample,
                                                               run.evaluation)
            result.reused, result.timings = run.reused, run.timings
            result.eligible, result.score, result.reason = selection_score(run.evaluation)
            measured_after = max(measured_after or 0.0, run.after_fit_seconds)
        result.seconds = clock() - candidate_started
        say(f"{result.label}: {result.reason} ({result.seconds:.0f} s)")
        results.append(result)
    report(1.0, "Comparison done.")
    return results


def auto_candidates(private: bool = False, schema: Any = None
                    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """``auto``'s (fast, slow) candidates: those of the two lists the catalogue has.

    With ``private`` (a privacy budget ε was asked for), only the DP-capable ones, all
    screened first: there is no faster private one to try before them. With ``schema``,
    only the synthesizers that can learn its shape (``synthesizers_for``): an event table
    gets the sequence synthesizers.

    Raises:
        ParameterError: No synthesizer can learn this shape with what was asked.
    """
    is_sequence = schema is not None and getattr(schema, "sequence", None) is not None
    fast_list, slow_list = ((AUTO_SEQUENCE_FAST, AUTO_SEQUENCE_SLOW) if is_sequence
                            else (AUTO_FAST, AUTO_SLOW))
    usable = set(synthesizers_for(schema)) if schema is not None else set(REGISTRY)
    if private:
        found = [c for c in (*fast_list, *slow_list) if c[0] in usable and dp_capable(c[0])]
        if not found:
            raise ParameterError(
                "No synthesizer trains this table's shape with a privacy budget ε (sequences "
                "have none yet). Leave ε empty.")
        return found, []
    return ([c for c in fast_list if c[0] in usable],
            [c for c in slow_list if c[0] in usable])


def auto_compare(table: StudioTable, budget: float = AUTO_BUDGET_SECONDS, *,
                 epsilon: float | None = None, delta: float | None = None,
                 **options: Any) -> list[CandidateResult]:
    """``--synthesizer auto``: screen the fast candidates, then the slow ones while weak.

    Args:
        table: The dataset.
        budget: Seconds for every candidate's fit, sampling and evaluation together.
        epsilon: A privacy budget ε: only DP-capable synthesizers are tried, each with it.
        delta: Its δ (None: chosen from the data size).
        **options: Passed on to :func:`compare` (seed, device, split, rows, registry,
            progress, log, resolved_device, clock).
    """
    fast, slow = auto_candidates(private=epsilon is not None, schema=table.schema)
    privacy = None if epsilon is None else {"epsilon": epsilon, "delta": delta}
    return compare(table, fast, budget, slow=slow, privacy=privacy, **options)


def _surest_attack(evaluation: EvaluationResult | None) -> float | None:
    """The attack risk the privacy guard counts (the low end of the surest one's interval)."""
    worst = None if evaluation is None else highest_attack(evaluation.attacks)
    return None if worst is None else round(worst[1], 4)


def leaderboard_rows(results: Sequence[CandidateResult]) -> list[dict[str, Any]]:
    """The comparison as JSON-able rows, best first, the recommended one flagged.

    Skipped candidates are rows too: ``status`` says ``skipped`` and ``reason`` why.
    """
    best = best_of(results)
    rows = []
    for result in results:
        evaluation = result.evaluation
        utility = evaluation.utility if evaluation is not None else None
        rows.append({
            "synthesizer": result.request.synthesizer,
            "title": REGISTRY[result.request.synthesizer].title,
            "preset": result.request.preset,
            "model_id": result.record.model_id if result.record else None,
            "quality": None if evaluation is None else
            round(evaluation.quality.quality_score, 4),
            "utility_ratio": None if utility is None or utility.ratio is None
            else round(utility.ratio, 4),
            "exact_match_rate": None if evaluation is None else
            round(evaluation.privacy.exact_match_rate, 5),
            "dcr_share": None if evaluation is None else round(evaluation.privacy.dcr_share, 4),
            "attack_risk": _surest_attack(evaluation),
            "epsilon": None if result.record is None else result.record.epsilon_spent,
            "privacy": None if evaluation is None else evaluation.verdict.privacy.level,
            "fit_s": None if result.record is None else round(result.record.fit_seconds, 2),
            "epochs": None if result.record is None else result.record.epochs_run,
            "reused": result.reused,
            "score": None if evaluation is None else round(result.score, 4),
            "eligible": result.eligible,
            "recommended": result is best,
            "reason": result.reason,
            "verdict": None if evaluation is None else evaluation.verdict.headline,
            "status": result.status,
            "slow": result.slow,
            "seconds": round(result.seconds, 2),
            "needed_s": result.needed_s,
            "left_s": result.left_s,
        })
    rows.sort(key=lambda row: (row["recommended"], row["eligible"],
                               -math.inf if row["score"] is None else row["score"]),
              reverse=True)
    return rows

