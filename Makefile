# The README's commands. Each creates (or reuses) the virtualenv and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: setup demo test lint bench bench-full bench-setup clean

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

## Benchmarks against the reference libraries; writes benchmarks/results/*.json and
## regenerates docs/benchmarks.md. Quick: minutes; full: about an hour on 2 cores.
bench-setup: setup
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[bench]"
	# one by one, so that one that does not build leaves the others (lenskit is left out:
	# it would downgrade pandas); the suite reports what is missing
	for pkg in scikit-surprise matrix-factorization; do \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check $$pkg || \
		echo "$$pkg did not install: the benchmark suite reports it as missing"; \
	done

bench: bench-setup
	$(BIN)/python -m benchmarks.run

bench-full: bench-setup
	$(BIN)/python -m benchmarks.run --full

clean:
	rm -rf $(VENV) .pytest_cache reports runs
