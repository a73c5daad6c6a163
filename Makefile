# Everything a fresh machine needs: Python 3.11+ and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.bruxwatch-installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all]'
	@touch $(STAMP)

demo: $(STAMP)
	$(BIN)/bruxwatch demo

test: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q -n auto

bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[all,bench]'
	$(BIN)/python benchmarks/offline.py

lint: $(STAMP)
	$(BIN)/ruff check bruxwatch tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
