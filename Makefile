# Contact Load: two commands do everything on a fresh machine.
#   make run   set up, create the database with demo data when empty, serve on :8501,
#              importing what is dropped in data/inbox/
#   make test  set up with the test tools (and Chromium), lint, type-check, run the suite

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DB     ?= data/contactload.duckdb
PORT   ?= 8501
# The folder the dashboard watches for files to import (default: inbox/ beside the database).
INBOX  ?=
# A roles file turns on team mode (sign-in through .streamlit/secrets.toml [auth]).
ROLES  ?=
# apt-get needs root; use sudo when we are not root and sudo exists.
SUDO   := $(shell [ "$$(id -u)" = 0 ] || command -v sudo)

.PHONY: install install-test system-deps run test lint demo bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files keep `make install` fast when nothing changed: pip runs again only when
# pyproject.toml is newer than the last install.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

install-test: install $(VENV)/.installed-test

# Debian's Chromium for the real-browser tests (Playwright drives it; it never
# downloads a browser of its own).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; \
	fi

run: install
	$(BIN)/contactload demo --if-empty --db $(DB)
	$(BIN)/python -m ui.serve --server.address 127.0.0.1 --server.port $(PORT) \
		--server.headless true --browser.gatherUsageStats false -- --db $(DB) \
		$(if $(ROLES),--roles $(ROLES)) $(if $(INBOX),--inbox $(INBOX))

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The suite runs on every core (pytest-xdist); worksteal hands each worker a contiguous run
# of tests, so module-scoped fixtures are built about once per worker, and lets an idle
# worker take over the rest of a busy one's. TEST_WORKERS=0 runs it in one process.
# The slowest tests are listed at the end, so a new slow one shows up at once.
TEST_WORKERS ?= auto

test: install-test system-deps lint
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --durations=15

demo: install
	$(BIN)/contactload demo --db $(DB)

bench: install-test
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.egg-info
