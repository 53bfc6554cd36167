# Two commands on a fresh machine with Python 3.11 and make:
#   make demo   create .venv, install mssim, run the default scenario
#   make test   install the test extras and run the whole suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench notebooks install install-dev clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,dask,dashboard]"
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

demo: install
	$(BIN)/mssim run --jobs 2

test: install-dev
	$(BIN)/python -m pytest -n 2 --dist loadfile -q

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Execute the teaching notebooks at full settings and store their outputs.
notebooks: install-dev
	MPLBACKEND=Agg $(BIN)/python notebooks/execute.py

bench: install-dev
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) build src/*.egg-info
