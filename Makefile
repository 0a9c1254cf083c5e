# Two commands: `make run` and `make test` (plus `make bench`). Each sets up .venv as needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench venv clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	mkdir -p var
	$(BIN)/oopsguard serve --config config

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/relay.py
	$(BIN)/python bench/checks.py
	$(BIN)/python bench/rules.py
	$(BIN)/python bench/probes.py

clean:
	rm -rf $(VENV) var build *.egg-info
