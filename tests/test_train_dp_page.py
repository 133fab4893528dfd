"""The Train page's "Differential privacy" option, and the spent ε wherever the model shows.

The private model is fitted in this process first (one epoch on a tiny table) with the
request the page must plan; clicking Train then reuses it only if the page put ε and δ
into the request, so the test needs no background worker.
"""

from __future__ import annotations

from core.data.splitting import SplitSpec
from core.engine.metadata import detect_table
from core.engine.training import run_training
from core.store.registry import ModelRegistry
from core.workflow import plan_request
from tests.apptest import open_app, page_text, sidebar_text, texts
from tests.helpers import make_people

MODEL = "studio.current_model"
JOB = "studio.current_job"


def test_dp_option_trains_with_epsilon_and_the_model_shows_what_it_spent():
    table = detect_table(make_people(200, seed=4).drop(columns=["comment", "job_title"]),
                         "people.csv", "test", target="churned")
    at = open_app(table)
    at.switch_page("app_pages/train.py").run()

    # Another synthesizer: no option, and the page says why.
    at.radio(key="train_synthesizer").set_value("gaussian_copula").run()
    assert not at.exception
    assert not any(box.key == "dp_on_gaussian_copula" for box in at.checkbox)
    assert "Not available for Gaussian Copula" in page_text(at)

    at.radio(key="train_synthesizer").set_value("tabular_argn").run()
    at.radio(key="train_preset").set_value("quick").run()
    assert "ε limits how much any one person's row can change the model" in page_text(at)
    assert at.number_input(key="dp_epsilon_tabular_argn").disabled
    at.number_input(key="param_tabular_argn_quick_epochs").set_value(1).run()
    at.checkbox(key="dp_on_tabular_argn").check().run()
    at.number_input(key="dp_epsilon_tabular_argn").set_value(4.0).run()
    assert not at.exception and not at.number_input(key="dp_epsilon_tabular_argn").disabled
    assert any("Estimated fit time" in text for text in texts(at.markdown))

    from ui.state import workspace_id_of

    request = plan_request(table, "tabular_argn", "quick", 0, "cpu",
                           SplitSpec(target="churned"),
                           {"epochs": 1, "epsilon": 4.0, "delta": 1e-5})
    registry = ModelRegistry(workspace=workspace_id_of(at.query_params["ws"]))
    record = run_training(request, table.frame, registry=registry)
    assert record.epsilon_spent is not None

    at.button(key="train_start").click().run()
    assert not at.exception and JOB not in at.session_state  # reused: same ε, same id
    current = at.session_state[MODEL]
    assert current.model_id == record.model_id
    label = f"DP ε = {record.epsilon_spent:.2g} (δ 1e-5)"
    assert label in sidebar_text(at)
    assert any(label in text and "differential privacy" in text for text in texts(at.caption))

    at.switch_page("app_pages/generate.py").run()
    assert not at.exception and label in page_text(at)
