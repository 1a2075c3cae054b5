# Rehabit: `make run` serves the app with demo data, `make test` runs every check.
# Both create the virtual environment and install what they need on first use.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
# Python 3.12+: the pyenv shim honours .python-version; fall back to any 3.12+.
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3.12; do \
	command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
STAMP := $(VENV)/.installed
SYSSTAMP := var/.system-packages
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=


.PHONY: run test lint typecheck check pytest system-packages demo worker bench clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Rehabit needs Python 3.12 or newer (python3.12 not found)." >&2; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# Install the pinned dependencies from pyproject.toml (the app itself is run
	@# from the checkout, so there is nothing to build).
	$(PY) -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
		print('\n'.join(p['dependencies'] + p['optional-dependencies']['dev']))" > $(VENV)/requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r $(VENV)/requirements.txt
	@touch $@

# WeasyPrint renders 43% faster with HarfBuzz's subsetter; the browser tests need
# Chromium and the visual checks pdftoppm. Installed with apt where we may.
$(SYSSTAMP):
	@mkdir -p var
	@bash .ci/system-packages.sh
	@touch $@

system-packages: $(SYSSTAMP)

run: $(STAMP) $(SYSSTAMP)
	DEBUG=true $(PY) manage.py migrate --noinput
	DEBUG=true $(PY) manage.py load_library
	DEBUG=true $(PY) manage.py seed_demo
	DEBUG=true $(PY) manage.py serve $(HOST):$(PORT)

test: $(STAMP) $(SYSSTAMP) lint typecheck check pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy clinic prescriptions portal tests

check: $(STAMP)
	DJANGO_SETTINGS_MODULE=clinic.settings_test $(PY) manage.py check
	DJANGO_SETTINGS_MODULE=clinic.settings_test $(PY) manage.py makemigrations --check --dry-run
	DEBUG=false SECRET_KEY=check-only ALLOWED_HOSTS=example.org $(PY) manage.py check --deploy --fail-level ERROR

pytest: $(STAMP)
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	for f in bench/*.py; do DJANGO_SETTINGS_MODULE=clinic.settings_test $(PY) $$f; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
