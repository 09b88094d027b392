# One command to start the app on the bundled sample data, one to run every test.
# Both create the virtual environment and install sloview on first use.
PYTHON ?= python3
VENV   ?= .venv
PORT   ?= 8501
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed-stamp

.PHONY: setup run test lint bench bench-sources sample clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)  ## create .venv and install sloview with its dev tools

run: $(STAMP)  ## start the app on http://127.0.0.1:$(PORT) with the bundled sample data
	$(BIN)/streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false

lint: $(STAMP)  ## ruff (lint + format) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## the whole test suite (CI runs exactly this with CI=true)
	$(BIN)/python -m pytest

ROWS ?= 10000000
bench: $(STAMP)  ## benchmarks (ingest, engine, the room in a browser) at ROWS requests; JSON
	$(BIN)/python bench/ingest_bench.py --rows $(ROWS)
	$(BIN)/python bench/engine_bench.py --rows $(ROWS) --json
	$(BIN)/python bench/room_bench.py
	$(BIN)/python bench/room_bench.py --rows $(ROWS) --sessions 0

BIG_ROWS ?= 100000000
bench-sources: $(STAMP)  ## PostgreSQL (ROWS), Prometheus (30 days at 1m) and DuckDB (BIG_ROWS) to aggregates
	$(BIN)/python bench/sql_bench.py --rows $(ROWS)
	$(BIN)/python bench/prometheus_bench.py --days 30
	$(BIN)/python bench/duckdb_bench.py --rows $(BIG_ROWS)

sample: $(STAMP)  ## regenerate sample_data/genai_requests.parquet (deterministic)
	$(BIN)/python sample_data/generate.py

clean:
	rm -rf $(VENV) build *.egg-info
