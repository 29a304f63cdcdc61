# make run: set up .venv and start the app (SQLite, offline demo provider when no keys are set).
# make test: set up .venv and run every check (ruff, the whole pytest suite).
# make local: add the optional local model (llama-cpp-python builds from source: minutes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint format bench clean local

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run serve.py

local: $(STAMP)
	$(BIN)/pip install --quiet -r requirements-local.txt

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python bench/engine_throughput.py
	$(BIN)/python bench/stop_latency.py
	$(BIN)/python bench/lab_variants.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
