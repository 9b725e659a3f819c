# The two commands: `make run` and `make test`. Everything installs into .venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint format migrations-check clean openapi

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

# The local demo runs with DEBUG on (development keys, debug pages); nothing else does.
run: export DEBUG = true
run: install
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "Starting web, worker and beat (Ctrl-C stops all three)..."
	@# Metrics files left by an earlier start would be added to this one's (config/metrics.py).
	rm -rf "$${METRICS_DIR:-$${DATA_DIR:-.data}/prometheus}"
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho -f Procfile start

# The checks and the suite run on the test settings (DEBUG off, throwaway keys).
test: export DJANGO_SETTINGS_MODULE = config.test_settings
test: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python manage.py makemigrations --check --dry-run
	$(BIN)/python -m pytest -n 2 --dist loadgroup

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The API's checked-in schema (tests/api/test_schema.py fails when it drifts from the code).
openapi: export DJANGO_SETTINGS_MODULE = config.test_settings
openapi: install
	$(BIN)/python manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn

clean:
	rm -rf $(VENV) .data
