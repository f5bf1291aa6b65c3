# Two commands for a newcomer: `make run` (install, ingest, serve) and `make test`.
# Each creates .venv when missing and installs everything the step needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTHON ?= $(shell command -v python3.11 || command -v python3)

# No internet at run time: a failed model-hub lookup would hang for a minute.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false
export ANONYMIZED_TELEMETRY := False

.PHONY: install compile run test lint typecheck pytest gate browser postgres redis bench eval clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, at the CPU pin; an unpinned torch would pull a multi-GB CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

# The app's bytecode, ahead of its start: a server started with PYTHONDONTWRITEBYTECODE (as
# containers often are) would otherwise compile its ~70 modules at every start, ~0.5 s of CPU
# of a cold start. Only what changed since is compiled again.
compile: install
	$(PY) -m compileall -q api assistant knowledge cli eval

# Debian's Chromium for the browser tests (chat page, HTML report).
browser:
	@command -v chromium >/dev/null || { \
	  echo "installing Debian chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium chromium-driver; }

# Debian's PostgreSQL and Redis for the storage and shared-rate-limit tests: each test session
# starts its own throwaway server on a free loopback port (tests/api/servers.py).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || { \
	  echo "installing Debian postgresql for the storage tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq postgresql; }

redis:
	@command -v redis-server >/dev/null || { \
	  echo "installing Debian redis-server for the rate-limit tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq redis-server; }

run: compile
	$(BIN)/help-assistant ingest
	$(BIN)/help-assistant serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install browser postgres redis
	$(BIN)/pytest

gate: install
	$(BIN)/help-assistant eval --gate --no-corrections

test: lint typecheck pytest gate

bench: compile
	$(BIN)/help-assistant bench

eval: install
	$(BIN)/help-assistant eval

clean:
	rm -rf $(VENV) .data .mypy_cache .ruff_cache .pytest_cache
