# Synthetic Data Studio. `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# Only this machine can open the app; HOST=0.0.0.0 serves everyone who can reach it (no login:
# see "Running it for others" in the README).
HOST ?= 127.0.0.1
# pip re-runs only when a requirements file changes.
RUNTIME_STAMP := $(VENV)/.runtime-installed
DEV_STAMP := $(VENV)/.dev-installed

.DEFAULT_GOAL := help
.PHONY: help run test test-fast test-random lint format bench sample-data clean

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required (set PYTHON=/path/to/python3.11)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(RUNTIME_STAMP): requirements.txt requirements-nodeps.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	$(BIN)/pip install -q --no-deps -r requirements-nodeps.txt
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(RUNTIME_STAMP)
	$(BIN)/pip install -q -r requirements-dev.txt
	@touch $@

run: $(RUNTIME_STAMP) ## Set up .venv and start the app on http://localhost:8501 (HOST=0.0.0.0 to share it)
	$(BIN)/python -m ui.serve --server.address $(HOST) --server.port $(PORT)

test: $(DEV_STAMP) ## Set up dev tools and run lint plus the whole test suite (unit, AppTest, browser)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-fast: $(DEV_STAMP) ## Run the suite without browser and slow tests
	$(BIN)/python -m pytest -m "not e2e and not slow"

test-random: $(DEV_STAMP) ## Run the suite without browser tests in a random order (SEED=n to repeat one)
	$(BIN)/python -m pytest -m "not e2e" -p random_order --random-order $(if $(SEED),--random-order-seed=$(SEED))

lint: $(DEV_STAMP) ## Lint with ruff
	$(BIN)/ruff check .

format: $(DEV_STAMP) ## Format and auto-fix with ruff
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(RUNTIME_STAMP) ## Run the benchmarks and rewrite bench/RESULTS.md
	$(BIN)/python -m bench

sample-data: $(RUNTIME_STAMP) ## Regenerate sample_data/ from the seeded script
	$(BIN)/python scripts/make_sample_data.py

clean: ## Remove the venv, caches and stored models
	rm -rf $(VENV) .pytest_cache .ruff_cache .studio_data test-artifacts
