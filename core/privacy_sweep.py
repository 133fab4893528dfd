"""The privacy-budget what-if sweep: one TabularARGN per ε, each scored on the same split.

A differentially private fit promises that no single training row changes what the model
learns by more than a factor set by ε (smaller = stronger promise, more noise). What that
promise costs is data-dependent, so the sweep measures it: :func:`run_sweep` trains
TabularARGN (DP-SGD through mostlyai-engine) once per ε in :data:`DEFAULT_EPSILONS`
(``None`` = ε = ∞, no differential privacy) through :mod:`core.workflow` — plan, train or
reuse, sample, evaluate — so each point's model is stored in the registry and running the
same sweep again reuses all of them. Every point records the ε the model actually spent,
the quality score, the utility ratio (with a target), the four attack risks
(:func:`core.evaluation.attacks.attack_scores`, on the same real train, held-out and
synthetic rows the evaluation used), exact copies, the DCR share and the fit time.

:class:`SweepResult` is plain data (``to_dict``/``from_dict`` travel as JSON from a job),
with :meth:`SweepResult.as_frame`, a sentence (:meth:`SweepResult.summary`) and its
figure (:func:`sweep_figure`). The app runs it as the job kind "sweep" (:mod:`core.jobs`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pandas as pd

from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.catalogue import REGISTRY
from core.engine.training import FitProgress, TrainingRequest, run_training, training_key
from core.errors import StudioError, TrainingCancelled
from core.progress import ProgressCallback, null_progress, scaled
from core.store.registry import ModelRecord, ModelRegistry
from core.workflow import (
    Fitter,
    Run,
    find_trained,
    model_parts,
    model_schema,
    plan_request,
    run_model,
)

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from core.engine.device import DeviceInfo
    from core.evaluation.attacks import AttackResult

__all__ = [
    "ATTACKS",
    "DEFAULT_EPSILONS",
    "FIT_SECONDS",
    "SWEEP_PRESET",
    "SWEEP_SYNTHESIZER",
    "SweepPoint",
    "SweepResult",
    "epsilon_label",
    "plan_sweep",
    "run_sweep",
    "sweep_figure",
]

#: The ε values swept by default, strongest promise first; None is ε = ∞ (no DP).
DEFAULT_EPSILONS: tuple[float | None, ...] = (1.0, 3.0, 10.0, None)
#: The synthesizer the sweep trains (the catalogue's differentially private one).
SWEEP_SYNTHESIZER = "tabular_argn"
#: Its preset: the small network, so four fits fit in a lesson.
SWEEP_PRESET = "quick"
#: Seconds each fit may train. Four fits of 30 s plus drawing and scoring the rows
#: (5-15 s a point on the shipped samples) make the whole sweep about 2-4 minutes on 2
#: CPU cores; the page says so.
FIT_SECONDS = 30
#: The attacks whose risks the sweep records, with the words the page uses for them.
ATTACKS: dict[str, str] = {"singling_out": "singling-out", "linkability": "linkability",
                           "inference": "inference", "membership": "membership inference"}


def epsilon_label(epsilon: float | None) -> str:
    """ε as people read it: "1", "3", "0.5", "∞" (no differential privacy)."""
    return "∞" if epsilon is None else f"{epsilon:g}"


def _overrides(epsilon: float | None, fit_seconds: int, delta: float | None,
               epochs: int | None) -> dict[str, Any]:
    # No "epsilon" at all for ∞: the request is then a plain TabularARGN fit.
    overrides: dict[str, Any] = {"time_limit": int(fit_seconds)}
    if epochs is not None:
        overrides["epochs"] = int(epochs)
    if epsilon is not None:
        overrides["epsilon"] = float(epsilon)
        if delta is not None:
            overrides["delta"] = float(delta)
    return overrides


def plan_sweep(table: StudioTable, epsilons: Sequence[float | None] = DEFAULT_EPSILONS, *,
               seed: int = 0, device: str = "auto", split: SplitSpec | None = None,
               fit_seconds: int = FIT_SECONDS, delta: float | None = None,
               epochs: int | None = None) -> list[TrainingRequest]:
    """The training request of each point, in the order of ``epsilons``.

    Each is :func:`core.workflow.plan_request` for TabularARGN's Quick preset with the
    time limit ``fit_seconds``, the point's ε (and δ) and, when given, at most ``epochs``
    epochs (default: the preset's), so the same sweep has the same model ids and reuses
    its stored models.

    Raises:
        ParameterError: An ε or δ out of range (the message says which values are allowed).
    """
    split = split or SplitSpec(target=table.target)
    return [plan_request(table, SWEEP_SYNTHESIZER, SWEEP_PRESET, seed, device, split,
                         overrides=_overrides(epsilon, fit_seconds, delta, epochs))
            for epsilon in epsilons]


@dataclass(frozen=True)
class SweepPoint:
    """One ε of the sweep, measured (or why it could not be).

    Attributes:
        epsilon: The ε asked for; None = ∞ (no differential privacy).
        model_id: The model's id (its training key).
        epsilon_spent: The ε the kept model spent (≤ asked); None without DP.
        delta: The δ the spent ε holds with; None without DP.
        reused: The model was already stored (no fit in this run).
        quality: The quality (fidelity) score, 0-1; None if the point failed.
        utility_ratio: Train-on-synthetic / train-on-real score; None without a target.
        attacks: Attack name (:data:`ATTACKS`) -> ``{"risk": r, "ci": [low, high]}``;
            empty when the attacks were not measured.
        exact_match_rate: Synthetic rows identical to a training row.
        dcr_share: Share of synthetic rows closer to a training row than to a held-out one.
        fit_seconds: Seconds the model took to fit (when it was first trained).
        epochs: Epochs the fit ran.
        error: Why this point has no model or scores (e.g. a budget too small for the
            table), else None.
    """

    epsilon: float | None
    model_id: str
    epsilon_spent: float | None = None
    delta: float | None = None
    reused: bool = False
    quality: float | None = None
    utility_ratio: float | None = None
    attacks: dict[str, dict[str, Any]] = field(default_factory=dict)
    exact_match_rate: float | None = None
    dcr_share: float | None = None
    fit_seconds: float | None = None
    epochs: int | None = None
    error: str | None = None

    @property
    def measured(self) -> bool:
        """The point has a model and its scores."""
        return self.error is None and self.quality is not None

    @property
    def label(self) -> str:
        """ε as a label ("∞" without differential privacy)."""
        return epsilon_label(self.epsilon)

    def risk(self, attack: str) -> float | None:
        """The risk of ``attack`` (a key of :data:`ATTACKS`), or None if not measured."""
        found = self.attacks.get(attack)
        return None if found is None else float(found["risk"])


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep.

    Attributes:
        points: One per ε, in the order asked.
        dataset_name: The table's name.
        fingerprint: The table's fingerprint (the page shows a result only for its table).
        target: The column utility was measured on, or None.
        seed: Seed of every fit, sample and evaluation.
        fit_seconds: Each fit's time limit.
        synthesizer: The synthesizer key.
        preset: Its preset.
    """

    points: tuple[SweepPoint, ...]
    dataset_name: str
    fingerprint: str
    target: str | None
    seed: int
    fit_seconds: int
    synthesizer: str = SWEEP_SYNTHESIZER
    preset: str = SWEEP_PRESET
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def reused_all(self) -> bool:
        """Every measured point's model was already stored: nothing was trained this run."""
        measured = [point for point in self.points if point.measured]
        return bool(measured) and all(point.reused for point in measured)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-able data (a job hands it to the app this way)."""
        data = asdict(self)
        data["points"] = [asdict(point) for point in self.points]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SweepResult:
        """Inverse of :meth:`to_dict`."""
        points = tuple(SweepPoint(**point) for point in data["points"])
        return cls(**{**data, "points": points})

    def as_frame(self) -> pd.DataFrame:
        """One row per ε: what the page's table and the benchmark show."""
        rows = []
        for point in self.points:
            row: dict[str, Any] = {
                "ε asked": point.label,
                "ε spent": point.epsilon_spent,
                "quality": point.quality,
                "utility ratio": point.utility_ratio,
            }
            for attack, words in ATTACKS.items():
                row[f"{words} risk"] = point.risk(attack)
            row.update({"exact copies": point.exact_match_rate, "DCR share": point.dcr_share,
                        "fit s": point.fit_seconds, "epochs": point.epochs,
                        "model": "failed" if point.error else
                        "reused" if point.reused else "trained",
                        "note": point.error or ""})
            rows.append(row)
        return pd.DataFrame(rows)

    def summary(self) -> str:
        """What the strongest ε costs and buys against the weakest, in one or two sentences.

        For example: "Going from ε = ∞ (no differential privacy) to ε = 1 costs 0.12 of
        quality (0.91 → 0.79) and cuts the singling-out risk from 0.08 to 0.01."
        """
        measured = [point for point in self.points if point.measured]
        failed = [point for point in self.points if not point.measured]
        note = "" if not failed else " " + " ".join(
            f"ε = {point.label} could not be trained: {point.error}" for point in failed)
        if len(measured) < 2:
            return ("Fewer than two values of ε could be trained, so there is nothing to "
                    "compare." + note)
        weakest = max(measured, key=lambda p: math.inf if p.epsilon is None else p.epsilon)
        strongest = min(measured, key=lambda p: math.inf if p.epsilon is None else p.epsilon)
        if weakest is strongest:
            return "Every point of the sweep has the same ε: nothing to compare." + note
        start = ("ε = ∞ (no differential privacy)" if weakest.epsilon is None
                 else f"ε = {weakest.label}")
        changes = [_change("quality", float(weakest.quality or 0.0),
                           float(strongest.quality or 0.0))]
        if weakest.utility_ratio is not None and strongest.utility_ratio is not None:
            changes.append(_change("utility ratio", weakest.utility_ratio,
                                   strongest.utility_ratio))
        sentence = f"Going from {start} to ε = {strongest.label} {_join(changes)}"
        risks = _risk_change(weakest, strongest)
        sentence += f"; it {risks}." if risks else "."
        if strongest.epsilon_spent is not None and strongest.epsilon is not None and (
                strongest.epsilon_spent < 0.9 * strongest.epsilon):
            sentence += (f" The ε = {strongest.label} model spent only ε = "
                         f"{strongest.epsilon_spent:.2g}: training stopped (time limit or "
                         "epochs) before the whole budget was used.")
        return sentence + note


def _change(what: str, before: float, after: float) -> tuple[str, str]:
    """How a score changes: ("costs", "0.12 of quality (0.91 → 0.79)"), "gains", "keeps"."""
    difference = after - before
    if abs(difference) < 0.005:
        return "keeps", f"the {what} ({before:.2f} → {after:.2f})"
    verb = "costs" if difference < 0 else "gains"
    return verb, f"{abs(difference):.2f} of {what} ({before:.2f} → {after:.2f})"


def _join(changes: list[tuple[str, str]]) -> str:
    """Changes joined: "costs A and B" when the verbs agree, else "costs A and gains B"."""
    (verb, first), rest = changes[0], changes[1:]
    text = f"{verb} {first}"
    for other_verb, words in rest:
        text += f" and {words}" if other_verb == verb else f" and {other_verb} {words}"
    return text


def _risk_change(weakest: SweepPoint, strongest: SweepPoint) -> str:
    """How the singling-out risk (else the first attack measured at both) changes."""
    for attack, words in ATTACKS.items():
        before, after = weakest.attacks.get(attack), strongest.attacks.get(attack)
        if before is None or after is None:
            continue
        low, high = float(before["risk"]), float(after["risk"])
        if round(low, 2) == round(high, 2):
            change = f"leaves the {words} risk at {low:.2f}"
        else:
            verb = "cuts" if high < low else "raises"
            change = f"{verb} the {words} risk from {low:.2f} to {high:.2f}"
        (a_low, a_high), (b_low, b_high) = before["ci"], after["ci"]
        if round(low, 2) != round(high, 2) and a_low <= b_high and b_low <= a_high:
            change += " (their 95 % intervals overlap: the change may be chance)"
        return change
    return ""


# --------------------------------------------------------------------------- running


def _fitter(registry: ModelRegistry, device: DeviceInfo | None,
            should_cancel: Callable[[], bool] | None) -> Fitter:
    """Fits in this process (the job's worker), stopping at an epoch when cancelled."""

    def fit(request: TrainingRequest, frame: pd.DataFrame,
            listener: Callable[[FitProgress], None]) -> ModelRecord:
        return run_training(request, frame, listener=listener, should_cancel=should_cancel,
                            registry=registry, device=device)

    return fit


def _attack_summary(result: AttackResult | None) -> dict[str, dict[str, Any]]:
    if result is None:
        return {}
    summary = {}
    for attack in ATTACKS:
        risk = getattr(result, attack, None)
        if risk is not None and risk.measured:  # not measured: no number to draw
            summary[attack] = {"risk": round(float(risk.risk), 4),
                               "ci": [round(float(risk.ci[0]), 4), round(float(risk.ci[1]), 4)]}
    return summary


def _point(epsilon: float | None, run: Run, attacks: AttackResult | None) -> SweepPoint:
    """A measured point from its workflow run and attack result."""
    record, evaluation = run.record, run.evaluation
    utility = evaluation.utility
    return SweepPoint(
        epsilon=None if epsilon is None else float(epsilon), model_id=record.model_id,
        epsilon_spent=record.epsilon_spent, delta=record.delta, reused=run.reused,
        quality=round(float(evaluation.quality.quality_score), 4),
        utility_ratio=None if utility is None or utility.ratio is None
        else round(float(utility.ratio), 4),
        attacks=_attack_summary(attacks),
        exact_match_rate=round(float(evaluation.privacy.exact_match_rate), 5),
        dcr_share=round(float(evaluation.privacy.dcr_share), 4),
        fit_seconds=round(float(record.fit_seconds), 2), epochs=record.epochs_run)


def run_sweep(
    table: StudioTable,
    epsilons: Sequence[float | None] = DEFAULT_EPSILONS,
    *,
    seed: int = 0,
    fit_seconds: int = FIT_SECONDS,
    delta: float | None = None,
    epochs: int | None = None,
    device: str = "auto",
    split: SplitSpec | None = None,
    registry: ModelRegistry | None = None,
    fitter: Fitter | None = None,
    resolved_device: DeviceInfo | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] | None = None,
) -> SweepResult:
    """Train (or reuse), sample and evaluate TabularARGN once per ε; one point each.

    Args:
        table: The dataset.
        epsilons: The ε of each point; None = ∞ (no differential privacy).
        seed: Seed of every fit, sample and evaluation.
        fit_seconds: Each fit's time limit (default :data:`FIT_SECONDS`).
        delta: δ of the private fits (default: the synthesizer's own).
        epochs: At most this many epochs per fit (default: the preset's; the time limit
            usually ends the fit first).
        device: The device choice ("auto", "cpu", ...), part of each request.
        split: The honest split (default: 30 % held out, stratified on the target).
        registry: Where models are stored and looked up (default: the configured one).
        fitter: Fits a request that is not stored (default: here, on ``resolved_device``,
            stopping when ``should_cancel`` says so).
        resolved_device: The device the default fitter trains on.
        progress: ``progress(fraction, message)``; each point is an equal share, messages
            such as "Training ε = 3 (2 of 4)…".
        should_cancel: Polled between points and at each epoch; True ends the sweep.
        log: Free-form lines.

    A point whose fit, sampling or evaluation fails (for example an ε too small for the
    table's rows) is kept with its reason (:attr:`SweepPoint.error`); the others go on.

    Raises:
        TrainingCancelled: ``should_cancel`` said so.
        ParameterError: An ε or δ out of range.
    """
    from core.evaluation.attacks import attack_scores

    registry = registry or ModelRegistry()
    report = progress or null_progress
    split = split or SplitSpec(target=table.target)
    fit = fitter or _fitter(registry, resolved_device, should_cancel)
    requests = plan_sweep(table, epsilons, seed=seed, device=device, split=split,
                          fit_seconds=fit_seconds, delta=delta, epochs=epochs)
    count = len(requests)
    points = []
    for index, (epsilon, request) in enumerate(zip(epsilons, requests, strict=True)):
        if should_cancel is not None and should_cancel():
            raise TrainingCancelled("The what-if sweep was cancelled.")
        where = f"ε = {epsilon_label(epsilon)} ({index + 1} of {count})"
        step = scaled(report, index / count, (index + 1) / count)

        def prefixed(fraction: float, message: str, step: ProgressCallback = step,
                     where: str = where) -> None:
            step(fraction, f"{where}: {message}" if message else where)

        stored = find_trained(registry, request) is not None
        step(0.0, f"Reusing the trained model for {where}…" if stored
             else f"Training {where}…")
        try:
            run = run_model(table, request, registry, fit, seed=seed,
                            progress=scaled(prefixed, 0.0, 0.85), log=log)
            attacks = run.evaluation.attacks
            if attacks is None:  # evaluate_all did not measure them: on its own rows
                real_train, holdout = model_parts(table, run.record)
                attacks = attack_scores(real_train, holdout, run.sample.frame,
                                        model_schema(run.record), seed=seed,
                                        progress=scaled(prefixed, 0.85, 1.0))
        except TrainingCancelled:
            raise
        except StudioError as error:
            # One ε the table cannot afford (too few rows for a strong promise) must not
            # cost the others: the point says why.
            points.append(SweepPoint(epsilon=None if epsilon is None else float(epsilon),
                                     model_id=training_key(request), error=str(error)))
            step(1.0, f"{where}: no model ({error})")
            continue
        points.append(_point(epsilon, run, attacks))
        step(1.0, f"{where}: done")
    report(1.0, "Sweep done.")
    return SweepResult(points=tuple(points), dataset_name=table.name,
                       fingerprint=table.fingerprint, target=split.target, seed=seed,
                       fit_seconds=int(fit_seconds),
                       settings={"delta": delta, "epochs": epochs, "test_size": split.test_size,
                                 "split_seed": split.seed, "device": device,
                                 "title": REGISTRY[SWEEP_SYNTHESIZER].title})


# --------------------------------------------------------------------------- figure


def _x_positions(points: Sequence[SweepPoint]) -> tuple[list[float], float | None]:
    """Each point's x on a log axis; ∞ sits one decade right of the largest finite ε."""
    finite = [p.epsilon for p in points if p.epsilon is not None]
    infinity = 10 * max(finite) if finite else 1.0
    return [infinity if p.epsilon is None else p.epsilon for p in points], (
        infinity if any(p.epsilon is None for p in points) else None)


def sweep_figure(result: SweepResult) -> go.Figure:
    """Quality, utility ratio and attack risks against ε (log axis, ∞ as its own point).

    Finite ε are joined by lines; the no-privacy point (ε = ∞) is drawn apart, joined by a
    dotted line, since no distance on the axis means anything there. Attack risks carry
    their 95 % intervals.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from core.charts import REAL_COLOUR, SYNTHETIC_COLOUR

    points = list(result.points)
    xs, infinity = _x_positions(points)
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=("Fidelity and usefulness (higher is better)",
                                           "Attack risk (lower is safer)"))
    colours = {"quality": REAL_COLOUR, "utility ratio": SYNTHETIC_COLOUR,
               "singling_out": "#c92a2a", "linkability": "#862e9c", "inference": "#2f9e44",
               "membership": "#495057"}

    def add(name: str, values: list[float | None], colour: str, column: int,
            errors: tuple[list[float], list[float]] | None = None) -> None:
        known = [(x, y, i) for i, (x, y) in enumerate(zip(xs, values, strict=True))
                 if y is not None]
        if not known:
            return
        finite = [(x, y, i) for x, y, i in known if x != infinity or infinity is None]
        error_y = None
        if errors is not None:
            error_y = {"type": "data", "symmetric": False,
                       "array": [errors[1][i] for _, _, i in finite],
                       "arrayminus": [errors[0][i] for _, _, i in finite]}
        figure.add_trace(go.Scatter(
            x=[x for x, _, _ in finite], y=[y for _, y, _ in finite], mode="lines+markers",
            name=name, legendgroup=name, line={"color": colour}, error_y=error_y,
            hovertemplate=f"{name}<br>ε = %{{x:g}}: %{{y:.3f}}<extra></extra>"),
            row=1, col=column)
        beyond = [(x, y, i) for x, y, i in known if infinity is not None and x == infinity]
        if beyond:
            _, y, i = beyond[0]
            figure.add_trace(go.Scatter(
                x=[infinity], y=[y], mode="markers", name=name, legendgroup=name,
                showlegend=False, marker={"color": colour, "symbol": "diamond", "size": 10},
                error_y=None if errors is None else {
                    "type": "data", "symmetric": False, "array": [errors[1][i]],
                    "arrayminus": [errors[0][i]]},
                hovertemplate=f"{name}<br>ε = ∞ (no DP): %{{y:.3f}}<extra></extra>"),
                row=1, col=column)
            if finite:
                last_x, last_y, _ = max(finite)
                figure.add_trace(go.Scatter(
                    x=[last_x, infinity], y=[last_y, y], mode="lines", showlegend=False,
                    legendgroup=name, hoverinfo="skip",
                    line={"color": colour, "dash": "dot", "width": 1}), row=1, col=column)

    add("quality", [p.quality for p in points], colours["quality"], 1)
    add("utility ratio", [p.utility_ratio for p in points], colours["utility ratio"], 1)
    for attack, words in ATTACKS.items():
        risks = [p.risk(attack) for p in points]
        below = [0.0 if r is None else r - p.attacks[attack]["ci"][0]
                 for r, p in zip(risks, points, strict=True)]
        above = [0.0 if r is None else p.attacks[attack]["ci"][1] - r
                 for r, p in zip(risks, points, strict=True)]
        add(f"{words} risk", risks, colours[attack], 2, errors=(below, above))
    ticks = sorted(set(xs))
    labels = ["∞ (no DP)" if infinity is not None and x == infinity else f"{x:g}"
              for x in ticks]
    figure.update_xaxes(type="log", tickvals=ticks, ticktext=labels,
                        title_text="ε (privacy budget; smaller = stronger promise)")
    figure.update_yaxes(rangemode="tozero")
    figure.update_layout(height=380, margin={"l": 10, "r": 10, "t": 50, "b": 10},
                         legend={"orientation": "h", "y": -0.3})
    return figure
