# Two commands: `make demo` and `make test`. Both build the environment first.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv

.PHONY: env demo test test-fast lint bench chaos lock clean browser

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check uv==0.13.8

# Installs exactly what requirements.lock pins; re-runs only when the lock or pyproject changes.
$(VENV)/.synced: requirements.lock pyproject.toml | $(BIN)/python
	$(UV) pip sync --quiet --python $(BIN)/python requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e '.[dev]'
	touch $@

env: $(VENV)/.synced

# From the checkout (python -m puts it on the path): the demo's sandbox is not part of the installed package.
demo: env
	$(BIN)/python -m workers.cli demo

# The inbox page test drives Debian's chromium (browser downloads do not work here). As root (CI) it is installed
# once from the package registry; elsewhere install it yourself, or that one test skips and says why.
browser:
	@command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || \
		echo "chromium not installed: the inbox page test will skip (apt-get install chromium)"; }

# The house's rules a machine can check: lint, format, the layers (import-linter's contracts in pyproject.toml, one
# per rule in the README's map) and mypy --strict where it is clean. A broken rule is a red build, not a review comment.
lint: env
	$(BIN)/ruff check --quiet .
	$(BIN)/ruff format --check --quiet .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy workflows core schemas api activities

test: env browser lint
	$(BIN)/python -m pytest -q

# Pure logic and the database only (tests using the dev server, workers, sandbox, SMTP sink, API or vendor fakes
# are marked `stack` by tests/conftest.py): under a minute, for the edit-test loop. CI runs `make test`.
test-fast: env
	$(BIN)/python -m pytest -q -m "not stack"

bench: env
	$(BIN)/python -m bench.scan --customers 1000

# Production faults rerun against the real stack (not part of `make test`): a table of fault, expected, observed,
# lost (must be 0), then the rows as JSON. `make chaos ARGS=--short` is the few-minute form for CI.
chaos: env
	$(BIN)/python -m bench.chaos $(ARGS)

# Re-pin after changing dependencies in pyproject.toml.
lock: | $(BIN)/python
	$(UV) pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock
	$(UV) pip compile --quiet --python-version 3.11 pyproject.toml -o requirements-prod.lock

clean:
	rm -rf $(VENV) .renewals
