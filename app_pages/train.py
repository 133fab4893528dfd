"""Train: choose a synthesizer, preset and device; fit in the background; manage models."""

from __future__ import annotations

import datetime
from typing import Any

import pandas as pd
import streamlit as st

from core.charts import loss_figure
from core.data.splitting import SplitSpec
from core.data.table import StudioTable
from core.engine.catalogue import (
    PRESETS,
    REGISTRY,
    ParamSpec,
    SynthesizerSpec,
    default_delta,
    dp_synthesizers,
    synthesizers_for,
)
from core.engine.device import DeviceInfo
from core.engine.training import TrainingRequest, wide_table_warning
from core.errors import StudioError
from core.jobs.status import JobStatus
from core.store.registry import ModelRecord
from core.workflow import (
    estimate_fit,
    find_trained,
    fit_advice,
    plan_request,
    runs_on_gpu,
    train_rows,
)
from ui import caching, demo, presentation, related_work, state
from ui import sequences as sequence_ui
from ui.widgets import (
    download_button,
    duration,
    finished_fit,
    job_progress,
    md,
    privacy_words,
    require_dataset,
    show_chart,
    train_in_background,
    user_errors,
)

st.title("Train")
st.caption(
    "Pick a synthesizer and how hard it should try. Training runs in the background: you "
    "can watch the loss, cancel, or switch pages and come back."
)
state.show_flash()
if state.get_related() is not None:  # several related tables (ui/related_work.py)
    related_work.train_page()
    st.stop()
if not require_dataset():
    st.stop()

table: StudioTable = state.get_dataset()
registry = caching.model_registry()
demo.banner("train")
runner = caching.job_runner()
#: Starting a worker is mentioned in the estimate when it adds more than this (seconds).
_STARTUP_WORTH_SAYING = 1.0


# --------------------------------------------------------------------------- what runs

current_job = state.get(state.CURRENT_JOB)
job_status: JobStatus | None = runner.status(current_job) if current_job is not None else None
compare_job = state.get(state.COMPARE_JOB)
comparing = compare_job is not None and runner.status(compare_job).is_active


def fit_words(synthesizer: str, preset: str | None = None, seed: int | None = None) -> str:
    """"**Gaussian Copula** with the **Quick** preset (seed 0)": what a fit trains."""
    title = REGISTRY[synthesizer].title if synthesizer in REGISTRY else synthesizer
    words = f"**{title}**"
    if preset:
        words += (" with edited settings" if preset == "custom"
                  else f" with the **{preset.capitalize()}** preset")
    return words + (f" (seed {seed})" if seed is not None else "")


def running_fit_words() -> str | None:
    """What the session's active fit trains, from its request (or its status); None if none."""
    if job_status is None or not job_status.is_active:
        return None
    request = state.fit_request(current_job)
    if request is not None:
        return fit_words(request.synthesizer, request.preset, request.seed)
    return fit_words(job_status.synthesizer) if job_status.synthesizer else "a model"


def why_train_is_off() -> str | None:
    """Why Train cannot start now (a fit or a comparison runs in this workspace), or None."""
    running = running_fit_words()
    if running is not None:
        waiting = "waits in the queue" if job_status.state == "queued" else "is training"
        return (f"Train is off while {running} {waiting} in this workspace: one fit at a "
                "time. Cancel it below, or wait until it ends.")
    if comparing:
        return ("Train is off while a comparison fits models in this workspace (see the "
                "Compare page). Cancel it there, or wait until it ends.")
    return None


if state.target_is_suggested(table):
    st.caption(
        f":material/help: Usefulness is tested by predicting **{md(table.target)}**, the "
        "suggested target (the studio's guess). Confirm it or pick another on the Data page."
    )

sequence_ui.train_shape(table)

# --------------------------------------------------------------------------- choices


def param_widget(spec: SynthesizerSpec, preset: str, param: ParamSpec, default: Any) -> Any:
    """One hyperparameter's input, keyed per synthesizer and preset."""
    key = f"param_{spec.key}_{preset}_{param.name}"
    if param.kind == "int":
        return st.number_input(param.label, int(param.minimum or 0), int(param.maximum or 10**6),
                               int(default), key=key, help=param.help)
    if param.kind == "float":
        return st.number_input(param.label, float(param.minimum or 0.0),
                               float(param.maximum or 1e6), float(default), key=key,
                               help=param.help, format="%.6g")
    if param.kind == "bool":
        return st.checkbox(param.label, bool(default), key=key, help=param.help)
    if param.kind == "choice":
        return st.selectbox(param.label, param.choices, index=param.choices.index(default),
                            key=key, help=param.help)
    return st.text_input(param.label, ", ".join(str(v) for v in default), key=key,
                         help=param.help)


def how_it_works(spec: SynthesizerSpec) -> None:
    """The synthesizer's plain-words card and picture."""
    with st.container(border=True):
        left, right = st.columns([3, 2])
        with left:
            st.markdown(f"**How {spec.title} works.** {spec.how_it_works}")
            st.markdown(f"**When to pick it.** {spec.when_to_pick}")
        with right:
            st.graphviz_chart(spec.picture, width="stretch")


def privacy_option(spec: SynthesizerSpec, rows: int) -> dict[str, float]:
    """The "Differential privacy" option: ε and δ for a DP-capable synthesizer, else why not.

    Returns:
        The overrides it adds (``epsilon``, ``delta``), empty when off.
    """
    with st.expander("Differential privacy", icon=":material/shield_lock:"):
        if not spec.dp_params:
            names = " or ".join(REGISTRY[key].title for key in dp_synthesizers())
            st.caption(
                f"Not available for {spec.title}. A formal guarantee needs training in small "
                "noisy steps whose privacy cost can be counted (DP-SGD); "
                f"{spec.title} learns in a way that cost cannot be counted for. Pick {names} "
                "to train with a privacy budget."
            )
            return {}
        st.markdown(
            "**ε limits how much any one person's row can change the model**: smaller ε = "
            "stronger privacy, less faithful data; ε around 1-10 is common. **δ** is the "
            "small chance the guarantee fails. The value ranges and categories the model "
            "may use are read with part of the budget too, so nothing escapes it."
        )
        on = st.checkbox("Train with differential privacy", key=f"dp_on_{spec.key}")
        left, right = st.columns(2)
        epsilon_spec, delta_spec = spec.param("epsilon"), spec.param("delta")
        epsilon = left.number_input(
            epsilon_spec.label, float(epsilon_spec.minimum or 0.01),
            float(epsilon_spec.maximum or 1000.0), 3.0, step=0.5, key=f"dp_epsilon_{spec.key}",
            disabled=not on, help=epsilon_spec.help)
        delta = right.number_input(
            delta_spec.label, float(delta_spec.minimum or 1e-12),
            float(delta_spec.maximum or 1e-3), default_delta(rows), format="%.1e",
            key=f"dp_delta_{spec.key}", disabled=not on,
            help=f"{delta_spec.help} For {rows:,} training rows: {default_delta(rows):.0e}.")
        if not on:
            return {}
        st.caption(
            "Training stops before the budget is spent and keeps its best model within it; "
            "the ε it actually spent is shown with the model. A small budget on a small "
            "table may run out before one pass over the data: raise ε then."
        )
        return {"epsilon": float(epsilon), "delta": float(delta)}


def choose_and_start() -> None:
    """Pick the synthesizer and settings, see the estimate, and start (or reuse) a fit."""
    st.subheader("1 · Synthesizer")
    usable = synthesizers_for(table.schema)  # sequences: only those that learn histories
    cards = st.columns(len(usable))
    for column, each in zip(cards, [REGISTRY[key] for key in usable], strict=True):
        with column.container(border=True, height="stretch"):
            st.markdown(f"**{each.title}**")
            st.caption(each.tagline)
            st.markdown(f":material/speed: {each.speed}")
    synth_key = st.radio(
        "Synthesizer", usable, format_func=lambda key: REGISTRY[key].title,
        horizontal=True, key="train_synthesizer", label_visibility="collapsed",
    )
    spec: SynthesizerSpec = REGISTRY[synth_key]
    how_it_works(spec)

    st.subheader("2 · Settings")
    left, middle, right = st.columns(3)
    preset = left.radio(
        "Preset", PRESETS, horizontal=True, key="train_preset",
        format_func=str.capitalize, index=1,
        help="Quick: a first look in seconds. Balanced: good results in about a minute on a "
        "laptop, stopping early when the loss settles. Best: the full SDV defaults.",
    )
    seed = middle.number_input("Seed", 0, 2**31 - 1, 0, key="train_seed",
                               help="Same seed + same settings → the same model and samples.")
    device_info: DeviceInfo = caching.device()
    device_options = ["auto", "cpu"] + ([device_info.kind] if device_info.is_gpu else [])
    device_choice = right.radio(
        "Device", device_options, key="train_device", horizontal=True,
        index=device_options.index(state.get_device_preference())
        if state.get_device_preference() in device_options else 0,
        format_func=lambda d: {"auto": "Auto", "cpu": "Force CPU"}.get(d, d.upper()),
        help=f"This machine: {device_info.label}. Auto uses a GPU when there is one.",
    )
    if device_choice != state.get_device_preference():
        state.set_device_preference(device_choice)
    uses_gpu = runs_on_gpu(spec.key, device_choice, device_info)
    right.caption(
        f"Runs on: **{device_info.label if uses_gpu else 'CPU'}**"
        + ("" if spec.deep else f" ({spec.title} needs no GPU)")
    )

    overrides: dict[str, Any] = {}
    preset_values = spec.presets[preset]
    if not presentation.is_on():  # an audience does not need the knobs
        with st.expander("Advanced hyperparameters", icon=":material/tune:"):
            st.caption(f"Starting from the **{preset}** preset. Batch size 0 means automatic.")
            grid = st.columns(3)
            for index, param in enumerate(spec.params):
                with grid[index % 3]:
                    value = param_widget(spec, preset, param, preset_values[param.name])
                default = preset_values[param.name]
                if param.kind == "layers":
                    try:
                        value = tuple(int(v) for v in str(value).replace(" ", "").split(",")
                                      if v)
                    except ValueError:
                        pass  # resolve_params explains the bad value
                    if value != tuple(default):
                        overrides[param.name] = value
                elif value != default:
                    overrides[param.name] = value

    test_size, split_seed = 0.3, 0
    overrides.update(privacy_option(spec, train_rows(table, SplitSpec(target=table.target))))
    if not presentation.is_on():
        with st.expander("Honest split", icon=":material/call_split:"):
            st.markdown(
                "Before training, the real rows are split: the synthesizer only sees the "
                "**train** part. The **held-out** part is kept to test usefulness and privacy "
                "fairly later."
            )
            left, right = st.columns(2)
            test_size = left.slider("Held-out share", 0.1, 0.5, 0.3, 0.05, key="train_test_size")
            split_seed = right.number_input("Split seed", 0, 2**31 - 1, 0,
                                            key="train_split_seed")
            if table.target and state.target_is_suggested(table):
                st.caption(f"Stratified on **{md(table.target)}**, the suggested target.")
            else:
                st.caption(f"Stratified on **{md(table.target)}**." if table.target else
                           "No target column chosen on the Data page: the split is random.")
    split = SplitSpec(test_size=float(test_size), seed=int(split_seed), target=table.target)

    request: TrainingRequest | None = None
    with user_errors("checking the settings"):
        request = plan_request(table, spec.key, preset, int(seed), device_choice, split,
                               overrides)
    if request is None:
        st.button("Train", type="primary", key="train_start", disabled=True,
                  icon=":material/play_arrow:", help="Fix the settings above first.")
        return
    cached = find_trained(registry, request)
    if cached is not None:
        st.success(
            f"This exact model is already trained ({duration(cached.fit_seconds)} on "
            f"{cached.device}); **Train** reuses it instantly.", icon=":material/bolt:",
        )
        estimate = 0.0
    else:
        estimate = estimate_fit(table, request, speed=caching.machine_speed(), on_gpu=uses_gpu)
        # The fit runs in a worker: starting one (and importing torch and SDV) is part of
        # the wait unless a warm one is ready.
        startup = runner.startup_seconds_estimate()
        st.markdown(
            f":material/schedule: Estimated fit time: **about {duration(estimate + startup)}"
            "**" + (f", including ~{duration(startup)} to start a worker,"
                    if startup > _STARTUP_WORTH_SAYING else "")
            + f" on {device_info.label if uses_gpu else 'the CPU'} "
            f"({train_rows(table, split):,} training rows, "
            f"{len(table.schema.modelled_columns)} modelled columns"
            + (f", {request.params['epochs']} epochs" if spec.deep else "") + ")."
        )
        advice = fit_advice(table, estimate)
        if advice:
            st.warning(md(advice), icon=":material/hourglass_top:")
        wide = wide_table_warning(request.synthesizer, request.params, table.frame,
                                  table.schema, 1 - request.split.test_size,
                                  speed=caching.machine_speed(), on_gpu=uses_gpu)
        if wide:
            st.warning(md(wide), icon=":material/view_week:")
    why_off = why_train_is_off() or sequence_ui.why_not_trainable(table)
    if st.button("Train", type="primary", key="train_start", disabled=why_off is not None,
                 icon=":material/play_arrow:", help=why_off):
        with user_errors("starting the training"):
            trained = train_in_background(request, table.frame, estimate_seconds=estimate)
            if trained.reused:
                state.flash(f"Reused the trained model **{trained.record.label}** from the "
                            "cache.")
            st.rerun()
    if why_off is not None:
        st.caption(f":material/block: {why_off}")


def demo_fit() -> None:
    """During the guided demo: what it trains, read from its running job or its model."""
    record: ModelRecord | None = state.get(state.CURRENT_MODEL)
    running = running_fit_words()
    request = state.fit_request(current_job)
    if running is not None:
        synthesizer, said = job_status.synthesizer, f"The demo is training {running}."
        if request is not None:
            synthesizer = request.synthesizer
    elif record is not None and record.data_fingerprint == table.fingerprint:
        synthesizer = record.synthesizer
        said = f"The demo trained {fit_words(record.synthesizer, record.preset, record.seed)}."
    else:
        st.caption("The demo's button above starts the fit; what it trains shows here.")
        return
    st.markdown(f":material/model_training: {said}")
    if synthesizer in REGISTRY:
        how_it_works(REGISTRY[synthesizer])


if demo.active():  # the demo trains its own model: its settings, not the pickers, are shown
    demo_fit()
else:
    choose_and_start()

# --------------------------------------------------------------------------- progress


@st.fragment(run_every=1.0)
def job_panel() -> None:
    """Poll the running job; redraw progress, ETA and the live loss curve."""
    job_id = state.get(state.CURRENT_JOB)
    if job_id is None:
        return
    status = runner.status(job_id)
    title = REGISTRY[status.synthesizer].title if status.synthesizer in REGISTRY else "Model"
    head = f"**Training {title}**"
    request = state.fit_request(job_id)  # None after a reload: the status has no preset
    if request is not None and request.preset != "custom":
        head += f" with the **{request.preset.capitalize()}** preset"
    if status.is_active:
        def live_loss() -> None:
            if status.losses:
                show_chart(loss_figure(status.losses), key="live_loss")

        job_progress(runner, status,
                     title=head
                     + (f" on {status.device}" if status.device else ""),
                     key="train_job", cancel_key="train_cancel", details=live_loss)
        return
    state.pop(state.CURRENT_JOB)
    record, problem = finished_fit(registry, status)
    if record is not None:
        state.put(state.CURRENT_MODEL, record)
        # The fit's own time, and the wait the user had: starting the worker too.
        state.flash(f"Trained **{record.label}** in {duration(record.fit_seconds)}"
                    + (f" (fit) · {duration(status.wall_seconds)} in all"
                       if status.wall_seconds is not None else "") + ".")
    elif problem is not None:
        state.flash(problem[1], problem[0])
    st.rerun()


if state.get(state.CURRENT_JOB) is not None:
    job_panel()

# --------------------------------------------------------------------------- result

current: ModelRecord | None = state.get(state.CURRENT_MODEL)
if current is not None and current.data_fingerprint == table.fingerprint:
    st.subheader("Current model")
    with st.container(border=True):
        cols = st.columns(4)
        cols[0].metric("Synthesizer", REGISTRY[current.synthesizer].title)
        cols[1].metric("Fit time", duration(current.fit_seconds))
        cols[2].metric("Device", current.device)
        if current.final_loss:
            name, value = next(iter(current.final_loss.items()))
            cols[3].metric(f"Final {name.lower()}", f"{value:.3f}")
        else:
            cols[3].metric("Training rows", f"{current.train_rows:,}")
        if current.epochs_run is not None:
            st.caption(
                f"{current.epochs_run} epochs"
                + (" — stopped early: the loss had stopped improving." if current.stopped_early
                   else ".")
            )
        words = privacy_words(current)
        if words:
            st.caption(f":material/shield_lock: {words}")
        for note in current.notes:
            st.caption(f":material/info: {note}")
        if current.losses:
            show_chart(loss_figure(current.losses), key="final_loss")
        st.page_link("app_pages/generate.py", label="Generate synthetic rows",
                     icon=":material/arrow_forward:")

# --------------------------------------------------------------------------- models

st.subheader("Models for this dataset")
if registry.healed_message:
    st.info(registry.healed_message, icon=":material/healing:")
records: list[ModelRecord] = []
with user_errors("listing the models"):
    records = registry.list_for_data(table.fingerprint)
if not records:
    st.caption("None yet. Trained models are saved in this workspace and listed here, also "
               "after a reload or a restart.")
else:
    overview = pd.DataFrame(
        [
            {
                "model": r.label,
                "trained": datetime.datetime.fromtimestamp(r.created_at).strftime(
                    "%Y-%m-%d %H:%M"),
                "fit time": duration(r.fit_seconds),
                "device": r.device,
                "epochs": r.epochs_run,
                "privacy": getattr(r, "privacy_label", None) or "",
                "quality": r.scores.get("quality"),
                "utility ratio": r.scores.get("utility_ratio"),
                "id": r.model_id,
            }
            for r in records
        ]
    )
    st.dataframe(overview, hide_index=True, width="stretch",
                 column_config={"quality": st.column_config.NumberColumn(format="%.2f"),
                                "utility ratio": st.column_config.NumberColumn(format="%.2f")})
    by_id = {r.model_id: r for r in records}
    chosen_id = st.selectbox("Model", list(by_id), key="models_pick",
                             format_func=lambda mid: f"{by_id[mid].label} ({mid[:8]})")
    chosen = by_id[chosen_id]
    with st.expander("Settings of this model"):
        st.json({"params": chosen.params, "split": chosen.split, "seed": chosen.seed},
                expanded=True)
    left, middle, right = st.columns(3)
    if left.button("Use this model", key="models_use", icon=":material/check:"):
        state.put(state.CURRENT_MODEL, chosen)
        state.flash(f"Now using **{chosen.label}**.")
        st.rerun()
    if middle.button("Delete", key="models_delete", icon=":material/delete:"):
        if registry.delete(chosen.model_id):
            state.flash(f"Deleted **{chosen.label}**.", "info")
        else:  # deleted meanwhile, e.g. in another tab of this workspace
            state.flash(f"**{chosen.label}** is not in this workspace any more; nothing was "
                        "deleted.", "warning")
        if current is not None and current.model_id == chosen.model_id:
            state.pop(state.CURRENT_MODEL)
        st.rerun()
    with user_errors("preparing the download"):
        download_button(
            right, "Download", lambda: registry.export_bundle(chosen.model_id),
            key="models_download", mime="application/octet-stream",
            file_name=f"{chosen.synthesizer}-{chosen.model_id[:8]}.sdsmodel",
        )

with st.expander("Upload a model file", icon=":material/upload:"):
    st.caption(
        "Only model files downloaded from this studio are accepted: a model file can run "
        "code when loaded, so each carries a signature that this server checks first."
    )
    bundle = st.file_uploader("Model file (.sdsmodel)", key="models_upload")
    if bundle is not None and st.session_state.get("models_upload_done") != bundle.file_id:
        st.session_state["models_upload_done"] = bundle.file_id
        try:
            imported = registry.import_bundle(bundle.getvalue(),
                                              expected_fingerprint=table.fingerprint)
        except StudioError as error:
            st.session_state["models_upload_error"] = str(error)
        else:
            st.session_state.pop("models_upload_error", None)
            state.put(state.CURRENT_MODEL, imported)
            state.flash(f"Uploaded and verified **{imported.label}**.")
            st.rerun()
    if bundle is not None and st.session_state.get("models_upload_error"):
        st.error(st.session_state["models_upload_error"], icon=":material/gpp_bad:")
