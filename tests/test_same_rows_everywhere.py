"""One stored model and one seed give the same rows in the server, the CLI and a worker.

Each sampler is a fresh process, as in production: the Streamlit server (it imports only
what the pages import), ``python -m core run``, and a job worker. A model's sampling code
travels with its classes (``core.engine.studio_models``), and the engine's patches are
applied by every load, so the three must agree row for row.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from core.store.registry import ModelRegistry
from core.store.settings import Settings
from tests.helpers import make_people

ROOT = Path(__file__).resolve().parents[1]
SEED = 7

# The Generate page: the server's preload, the Data page's reading and detection, then the
# page's own calls with its defaults. The caches of ui.caching are per session and refuse to
# run outside a server, so the functions they wrap are called.
_STREAMLIT_PAGES = """
import sys
from pathlib import Path

from ui.serve import preload

preload()
from core.data import loading
from core.data.schema import TableSchema, prepare_training_frame
from core.data.splitting import SplitSpec, split_real
from core.engine.generation import generate
from core.engine.metadata import detect_table
from ui import caching

model_id, csv, seed, out, other_out = sys.argv[1:]
assert "core.engine.studio_models" not in sys.modules  # nothing loaded a model yet
path = Path(csv)
loaded = loading.load_table(path.read_bytes(), path.name)
table = detect_table(loaded.frame, path.name, "Uploaded file", loaded.notes)
record = caching.model_registry().get(model_id)
assert record.data_fingerprint == table.fingerprint  # the page offers this model
schema = TableSchema.from_fingerprint_dict(record.schema)
real_train, _holdout = split_real(prepare_training_frame(table.frame, schema),
                                  SplitSpec(**record.split))
synthesizer = caching.synthesizer.__wrapped__(record.model_id)
for sampling_seed, target in ((int(seed), out), (int(seed) + 1, other_out)):
    sample = generate(synthesizer, record.model_id, record.train_rows, seed=sampling_seed,
                      schema=schema, real_example=real_train)
    sample.frame.to_csv(target, index=False)
"""

# A job worker: its module first, then the engine calls its jobs sample with.
_WORKER = """
import sys

import core.jobs.worker  # noqa: F401 - the worker process's own imports come first
from core.data.schema import TableSchema
from core.engine.generation import generate
from core.engine.models import load_synthesizer
from core.store.registry import ModelRegistry

model_id, seed, out = sys.argv[1:]
registry = ModelRegistry()
record = registry.get(model_id)
synthesizer = load_synthesizer(registry, model_id)
sample = generate(synthesizer, model_id, record.train_rows, seed=int(seed),
                  schema=TableSchema.from_fingerprint_dict(record.schema))
sample.frame.to_csv(out, index=False)
"""


def _run(arguments: list[str], data_dir: Path) -> subprocess.CompletedProcess:
    environment = {**os.environ, "STUDIO_DATA_DIR": str(data_dir)}
    environment.pop("RAY_ADDRESS", None)
    result = subprocess.run([sys.executable, *arguments], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def _cli(csv: Path, out: Path, data_dir: Path) -> dict:
    # Best has no time limit, so a busy machine cannot change the 3 epochs trained.
    _run(["-m", "core", "run", "--data", str(csv), "--synthesizer", "ctgan",
          "--preset", "best", "--epochs", "3", "--seed", str(SEED), "--target", "none",
          "--out", str(out)], data_dir)
    return json.loads((out / "metrics.json").read_text())


@pytest.mark.slow  # four fresh processes, each importing SDV and torch
@pytest.mark.timeout(900)
def test_a_stored_model_samples_the_same_rows_in_the_server_the_cli_and_a_worker(tmp_path):
    data_dir = tmp_path / "data"
    csv = tmp_path / "people.csv"
    make_people(800).to_csv(csv, index=False)  # 560 train rows: Best's batch of 500 fits

    trained = _cli(csv, tmp_path / "train", data_dir)  # trains and stores the model
    model_id = trained["model_id"]
    registry = ModelRegistry(Settings(data_dir=data_dir, max_upload_mb=10,
                                      sample_data_dir=tmp_path))
    stored = registry.get(model_id)
    assert stored is not None and stored.synthesizer == "ctgan" and stored.epochs_run == 3

    reused = _cli(csv, tmp_path / "cli", data_dir)  # a fresh CLI reuses it
    assert reused["model_id"] == model_id
    assert registry.get(model_id).created_at == stored.created_at  # not trained again
    _run(["-c", _STREAMLIT_PAGES, model_id, str(csv), str(SEED), str(tmp_path / "page.csv"),
          str(tmp_path / "page_other_seed.csv")], data_dir)
    _run(["-c", _WORKER, model_id, str(SEED), str(tmp_path / "worker.csv")], data_dir)

    cli = pd.read_csv(tmp_path / "cli" / "synthetic.csv")
    page = pd.read_csv(tmp_path / "page.csv")
    worker = pd.read_csv(tmp_path / "worker.csv")
    assert len(cli) == stored.train_rows and "age" in cli and "contact" in cli
    pd.testing.assert_frame_equal(page, cli)
    pd.testing.assert_frame_equal(worker, cli)
    # The seed decides the rows: equality above is not an accident of a constant sample.
    other_seed = pd.read_csv(tmp_path / "page_other_seed.csv")
    assert not other_seed["age"].equals(cli["age"])
    assert not other_seed["contact"].equals(cli["contact"])
