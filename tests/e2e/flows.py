"""User-level steps across pages (load data, train, generate), built on ``helpers``.

Each step does what a user does and checks what the user should see; it returns once the
app is idle again. Long work (a fit, a comparison, an evaluation) gets its own generous
timeout: on a busy two-core CI machine a two-second fit can take twenty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from playwright.sync_api import Locator, Page, expect

from tests.e2e.helpers import (
    alerts,
    choose_radio,
    choose_select,
    click_button,
    expect_rerun,
    fill_number,
    goto_page,
    keyed,
    main,
    seen,
    sidebar,
    wait_for_app_idle,
    watch,
)

__all__ = [
    "EVALUATE_TIMEOUT_MS",
    "TRAIN_TIMEOUT_MS",
    "Dataset",
    "expect_sidebar",
    "fake_dataset",
    "grid",
    "load_sample",
    "model_label",
    "open_tab",
    "progress_seen",
    "start_training",
    "train",
    "wait_for_evaluation",
    "wait_for_training",
    "watch_progress",
]

TRAIN_TIMEOUT_MS = 120_000
"""A Quick Gaussian Copula fit takes seconds; a cold worker first imports torch and SDV."""
EVALUATE_TIMEOUT_MS = 180_000
"""Generating and evaluating (quality, utility models, privacy distances) in one run."""

PROGRESS_WATCH = "training-progress"
# "Trained <label> in 0.4 s (fit) · 3.1 s in all." (the label has no " in ").
_TRAINED = re.compile(r"^Trained (.+?) in .+\.$")


@dataclass(frozen=True)
class Dataset:
    """A dataset as the sidebar names it."""

    name: str
    shape: str  # "4,000 rows × 16 columns"


def load_sample(page: Page, key: str, filename: str) -> Dataset:
    """On the Data page: click a shipped sample's "Load"."""
    click_button(page, key=f"load_sample_{key}")
    success = alerts(page, "success")
    expect(success).to_contain_text(f"Loaded {filename}: ")
    shape = re.search(r": (.+)\.$", success.first.inner_text().strip())
    assert shape, success.first.inner_text()
    dataset = Dataset(filename, shape[1])
    expect_sidebar(page, dataset)
    return dataset


def fake_dataset(page: Page, kind: str, rows: int, seed: int) -> Dataset:
    """On the Data page: fake a ``kind`` table ("loans", "customers", ...)."""
    choose_radio(page, "Fake a dataset")
    choose_select(page, "Kind of data", kind)
    form = page.get_by_test_id("stForm")
    form.get_by_role("spinbutton", name="Rows").fill(str(rows))
    form.get_by_role("spinbutton", name="Seed").fill(str(seed))
    click_button(page, "Generate", within=form)
    name = f"fake {kind} (seed {seed})"
    expect(alerts(page, "success")).to_contain_text(f"Loaded {name}: {rows:,} rows")
    dataset = Dataset(name, re.search(r": (.+)\.$", alerts(page, "success").first.inner_text()
                                      .strip())[1])
    expect_sidebar(page, dataset)
    return dataset


def expect_sidebar(page: Page, dataset: Dataset | None = None, model: str | None = None) -> None:
    """The sidebar names the session's dataset (and shape) and its current model."""
    bar = sidebar(page)
    if dataset is not None:
        expect(bar).to_contain_text(f"Dataset: {dataset.name}")
        expect(bar).to_contain_text(dataset.shape)
    if model is not None:
        expect(bar).to_contain_text(f"Model: {model}")


def model_label(synthesizer: str, preset: str, seed: int = 0) -> str:
    """How the app labels a model: "Gaussian Copula · quick · seed 0"."""
    return f"{synthesizer} · {preset.lower()} · seed {seed}"


def start_training(page: Page, synthesizer: str = "Gaussian Copula", preset: str = "Quick",
                   seed: int | None = None, epochs: int | None = None) -> None:
    """On the Train page: choose the synthesizer, preset (and seed, epochs), click Train.

    Returns once the click's run is over (the progress panel is up, or the fit is already
    done). Every stage the progress panel showed from the click on is recorded: see
    :func:`progress_seen`.
    """
    choose_radio(page, synthesizer, within=keyed(page, "train_synthesizer"))
    choose_radio(page, preset, within=keyed(page, "train_preset"))
    if seed is not None:
        fill_number(page, seed, key="train_seed")
    if epochs is not None:
        page.get_by_test_id("stExpander").filter(has_text="Advanced hyperparameters") \
            .locator("summary").click()
        spec = {"CTGAN": "ctgan", "TVAE": "tvae", "CopulaGAN": "copulagan"}[synthesizer]
        fill_number(page, epochs, key=f"param_{spec}_{preset.lower()}_epochs")
    watch_progress(page)
    click_button(page, key="train_start")


def watch_progress(page: Page) -> None:
    """Record from now on the stages the Train page's progress panel shows (a bar's text
    for measured work, a spinner's label before; see :func:`progress_seen`)."""
    watch(page, PROGRESS_WATCH, "[data-testid=stMain] .st-key-train_job_stage")


def progress_seen(page: Page) -> list[str]:
    """Stages the training panel showed since :func:`watch_progress` (which
    :func:`start_training` calls before it clicks Train): "Waiting in the queue",
    "Starting a worker", ..., "Training: epoch 3 of 300"."""
    return seen(page, PROGRESS_WATCH)


def wait_for_training(page: Page, timeout_ms: float = TRAIN_TIMEOUT_MS) -> str:
    """Wait for the running fit to end; return the success flash ("Trained … in 3 s.").

    Fails at once (not after the timeout) if the fit ends with an error flash.
    """
    trained = alerts(page, "success").filter(has_text=_TRAINED)
    outcome = trained.or_(alerts(page, "error"))
    expect(outcome.first).to_be_visible(timeout=timeout_ms)
    wait_for_app_idle(page)
    errors = alerts(page, "error").all_inner_texts()
    assert not errors, f"The training ended with an error: {errors}"
    return trained.first.inner_text().strip()


def wait_for_evaluation(page: Page, timeout_ms: float = EVALUATE_TIMEOUT_MS) -> None:
    """On the Evaluate page: wait for the evaluation job to end and its tabs to show.

    Fails at once (not after the timeout) if the evaluation ends with an error.
    """
    tabs = page.get_by_test_id("stTab")
    expect(tabs.first.or_(alerts(page, "error")).first).to_be_visible(timeout=timeout_ms)
    wait_for_app_idle(page)
    errors = alerts(page, "error").all_inner_texts()
    assert not errors, f"The evaluation ended with an error: {errors}"


def train(page: Page, synthesizer: str = "Gaussian Copula", preset: str = "Quick",
          seed: int = 0) -> str:
    """Go to Train, fit, wait; check the flash, "Current model" and the sidebar.

    Returns the model's label.
    """
    goto_page(page, "Train")
    start_training(page, synthesizer, preset, seed=seed)
    label = model_label(synthesizer, preset, seed)
    flash = wait_for_training(page)
    assert _TRAINED.match(flash)[1] == label, flash
    expect(main(page).get_by_role("heading", name="Current model")).to_be_visible()
    expect_sidebar(page, model=label)
    return label


def open_tab(page: Page, name: str) -> Locator:
    """Click a tab and wait for the script run it starts (the studio's tabs are stateful, so
    the open tab survives reruns); return its panel."""
    tab = page.get_by_test_id("stTab").filter(has_text=re.compile(rf"^{re.escape(name)}$"))
    if tab.get_attribute("aria-selected") == "true":
        tab.click()
    else:
        with expect_rerun(page):
            tab.click()
    panel = page.get_by_role("tabpanel", name=name)
    expect(panel).to_be_visible()
    return panel


def grid(scope: Locator | Page, index: int = 0) -> Locator:
    """The accessible table of an ``st.dataframe`` in ``scope``, scrolled into view (the
    grid draws its rows only once it is on screen)."""
    frame = scope.get_by_test_id("stDataFrame").nth(index)
    frame.scroll_into_view_if_needed()
    return frame.locator("table[role=grid]")
