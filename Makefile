# make run: set up .venv and start the app (SQLite, offline demo provider when no keys are set).
# make test: set up .venv (Phoenix in .venv/phoenix, the npm tools) and run every check (ruff, pytest).
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

# A portable build: no -march=native, AVX2 at most, no AVX-512 and no AMX, so the wheel runs on any
# x86-64 machine of this kind (a native build on a CPU with AMX segfaults where the sandbox refuses
# AMX's tile state). --no-cache-dir: pip's wheel cache must not hand back an older native build.
# The last step runs one short generation in a child process and says plainly if it cannot run here.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_CPU_ALL_VARIANTS=OFF -DGGML_BACKEND_DL=OFF \
	-DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON \
	-DGGML_AVX512=OFF -DGGML_AVX512_VBMI=OFF -DGGML_AVX512_VNNI=OFF -DGGML_AVX512_BF16=OFF \
	-DGGML_AVX_VNNI=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
LOCAL_STAMP := $(VENV)/.local-installed

$(LOCAL_STAMP): $(STAMP) requirements-local.txt Makefile
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" FORCE_CMAKE=1 \
		$(BIN)/pip install --quiet --no-cache-dir -r requirements-local.txt
	$(BIN)/python -m duet_core.providers.local_check
	touch $(LOCAL_STAMP)

local: $(LOCAL_STAMP)

# The OpenID Provider the browser tests sign in through (tests/browser/oidc: oidc-provider, npm).
OIDC_STAMP := tests/browser/oidc/node_modules/.installed

$(OIDC_STAMP): tests/browser/oidc/package.json tests/browser/oidc/package-lock.json
	cd tests/browser/oidc && npm ci --no-audit --no-fund --loglevel=error
	touch $(OIDC_STAMP)

# axe-core for the accessibility check in the browser tests (tests/browser/test_accessibility.py),
# at the version package-lock.json pins; node_modules is not committed.
A11Y := tests/browser/a11y
A11Y_STAMP := $(A11Y)/node_modules/.installed

$(A11Y_STAMP): $(A11Y)/package.json $(A11Y)/package-lock.json
	cd $(A11Y) && npm ci --no-audit --no-fund
	touch $(A11Y_STAMP)

# Arize Phoenix, the trace collector the telemetry tests read spans back from, in a virtualenv of
# its own inside .venv (its pins clash with the app's; nothing of Duet imports it).
PHOENIX_VENV := $(VENV)/phoenix
PHOENIX_STAMP := $(PHOENIX_VENV)/.installed

$(PHOENIX_STAMP): requirements-phoenix.txt | $(BIN)/python
	$(PYTHON) -m venv $(PHOENIX_VENV)
	$(PHOENIX_VENV)/bin/pip install --quiet --upgrade pip
	$(PHOENIX_VENV)/bin/pip install --quiet -r requirements-phoenix.txt
	touch $(PHOENIX_STAMP)

test: $(STAMP) $(OIDC_STAMP) $(A11Y_STAMP) $(PHOENIX_STAMP)
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
