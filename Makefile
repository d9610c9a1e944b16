# The README's commands. Each creates (or reuses) the virtualenv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup demo test lint bench clean

$(STAMP): pyproject.toml examples/workbench-example/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]" -e examples/workbench-example
	touch $(STAMP)

setup: $(STAMP)

## The main job: compare the built-in models on the embedded synthetic dataset.
demo: setup
	$(BIN)/workbench compare --data synthetic --all-models --split "kfold n_folds=3" \
		--metric rmse --metric mae --metric ndcg@10 --metric precision@10 --metric recall@10 \
		--metric coverage@10 --export terminal --export "html path=reports/demo.html" --seed 42

## The whole test suite.
test: setup
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check workbench plugins tests examples benchmarks

bench: setup
	$(BIN)/python -m benchmarks.run

clean:
	rm -rf $(VENV) .pytest_cache reports runs
