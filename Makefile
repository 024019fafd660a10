# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST := $(BIN)/python -m pytest
# llama.cpp is compiled for what every x86-64 server of the last decade has (AVX2, FMA, F16C),
# not for this exact CPU: a native build on a recent Intel Xeon picks llama.cpp's AMX kernels,
# which crash on the bundled model's prompts. Set CMAKE_ARGS yourself to build otherwise.
CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON -DGGML_BMI2=ON
export CMAKE_ARGS

.PHONY: install engine demo test test-fast browser-deps clean docs bench

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	# llama-cpp-python compiles llama.cpp the first time (~5 min on 2 cores); pip caches the wheel.
	$(BIN)/python -m pip install --progress-bar off -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) engine

## llama.cpp's llama-server (the fast local engine) and llama-batched-bench, built once from the
## llama.cpp sources in the sdist of the llama-cpp-python version pip installed, with the CMAKE_ARGS
## above, into ~/.cache/distilabel_nb/llama.cpp-<version>/bin (outside the clone: a clean clone finds
## it there). The first build takes about 10 minutes on 2 cores; afterwards this is a no-op.
engine: $(STAMP)
	$(BIN)/distilabel-nb build-engine --jobs 2

## Generate and label the bundled instructions with the bundled local model.
demo: install
	$(BIN)/distilabel-nb demo

browser-deps: install
	bash tests/browser/install_chromium.sh

## The whole suite: unit, real model, real server, notebooks, browser.
test: install browser-deps
	$(PYTEST) tests notebooks --nbval-lax --nbval-current-env -p no:cacheprovider
	$(BIN)/mkdocs build --strict

## Without the browser tests.
test-fast: install
	DISTILABEL_NB_SKIP_BROWSER=1 $(PYTEST) tests notebooks --nbval-lax --nbval-current-env -m "not browser"

## Speed and memory against references measured in the same run (several minutes; see docs/benchmarks.md).
bench: install
	$(BIN)/python benchmarks/run_all.py

## The documentation site, built into site/ with strict link and reference checks.
docs: install
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) demo_output .pytest_cache
