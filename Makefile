# Quick start on a fresh machine: `make run`, then `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test test-only install install-dev browser lint format migrations-check vendor clean lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files make the install step a no-op until a requirements file changes. Both files pin
# every package with its hashes, so pip installs exactly what they name and nothing else.
$(VENV)/.runtime: $(BIN)/python requirements.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.txt
	touch $@

install: $(VENV)/.runtime
install-dev: $(VENV)/.dev

run: install
	$(BIN)/python -m vsocare.launcher

# Debian's chromium for the browser tests; without root or apt the tests are skipped and say why.
browser:
	@if [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian chromium for the browser tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
			|| echo "Could not install chromium: the browser tests will be skipped"; \
	else \
		echo "Debian chromium is missing and this is not root with apt-get: the browser tests will be skipped"; \
	fi

test: install-dev browser test-only

test-only:
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

migrations-check: install
	$(BIN)/python manage.py makemigrations --check --dry-run

# Compile requirements.in and requirements-dev.in into the pinned, hashed requirements files.
# Existing pins are kept; name packages to move to their newest allowed release with
# `make lock UPGRADE="django celery"`, or everything with `make lock UPGRADE=all`.
UPGRADE ?=
COMPILE = $(BIN)/uv pip compile --quiet --generate-hashes --universal --python-version 3.11 \
	--custom-compile-command "make lock" \
	$(if $(filter all,$(UPGRADE)),--upgrade,$(foreach p,$(UPGRADE),--upgrade-package $(p)))
lock: install-dev
	$(COMPILE) requirements.in --output-file requirements.txt
	$(COMPILE) requirements-dev.in --output-file requirements-dev.txt

vendor:
	./scripts/vendor.sh

clean:
	rm -rf $(VENV) var .pytest_cache
