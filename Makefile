# newsmill: `make` lists the documented targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
CARGO ?= cargo
BIN := target/release/newsmill
VENV := .venv
PY := $(VENV)/bin/python
INTEROP_OUT := target/interop-output

.PHONY: help build pipeline test test-rust interop venv clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | sort -u | awk 'BEGIN {FS = ":.*?## "} {printf "  %-16s %s\n", $$1, $$2}'

build: ## Build the release binary (target/release/newsmill)
	$(CARGO) build --release --locked

pipeline: build ## Run pipelines/default.toml on input/, writing output/
	$(BIN) run pipelines/default.toml

test: test-rust interop ## Every test: Rust unit, integration and golden tests, then the interop check

test-rust: ## Rust unit, integration and golden tests (release build)
	$(CARGO) test --release --locked

# A stamp file, not bin/python: that is a symlink, and touching it would touch the
# interpreter it points to.
VENV_STAMP := $(VENV)/.installed

$(VENV_STAMP): tests/interop/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r tests/interop/requirements.txt
	@touch $@

venv: $(VENV_STAMP) ## Local Python environment (pinned polars, pyarrow, DuckDB) for interop checks

interop: build $(VENV_STAMP) ## Run the default pipeline and open every table with polars, pyarrow and DuckDB
	rm -rf $(INTEROP_OUT)
	$(BIN) run pipelines/default.toml --output $(INTEROP_OUT) --progress never --log-format json 2> target/interop-run.log
	$(PY) tests/interop/check_tables.py $(INTEROP_OUT)
	$(PY) tests/interop/run_notebook.py notebooks/explore.ipynb $(INTEROP_OUT)

clean: ## Remove build output, the local venv and output/
	$(CARGO) clean
	rm -rf $(VENV) output

include $(wildcard mk/*.mk)
