# Two commands: `make demo` and `make test`. Both build the environment first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: env demo test bench lock clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

# Installs exactly what requirements.lock pins; re-runs only when the lock or pyproject changes.
$(VENV)/.synced: requirements.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

env: $(VENV)/.synced

demo: env
	$(BIN)/renewals demo

test: env
	$(BIN)/python -m pytest -q

bench: env
	$(BIN)/python -m bench.scan --customers 1000

# Re-pin after changing dependencies in pyproject.toml.
lock: | $(BIN)/python
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) .renewals
