# Two commands do everything on a fresh machine with Python 3.11: `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MONTH ?= 2026-10

.PHONY: help venv demo test lint sqllint typecheck imports security unit bench clean down

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
	$(BIN)/ruff check billing loader orchestration invoice_renderer expectations tests benchmarks
	$(BIN)/ruff format --check billing loader orchestration invoice_renderer expectations tests benchmarks

# The dbt project's SQL (config: dbt_project/.sqlfluff; jinja templater, no database).
sqllint: venv
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros

typecheck: venv
	$(BIN)/mypy

imports: venv
	$(BIN)/lint-imports

security: venv
	$(BIN)/bandit --quiet --severity-level high --recursive billing loader orchestration invoice_renderer expectations

test: lint sqllint typecheck imports security
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest -n 2 tests

unit: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/unit tests/contract

demo: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" ./scripts/demo.sh $(MONTH)

bench: venv
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/ingest.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/render.py
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python benchmarks/close.py

down: venv
	$(BIN)/billing down

clean: down
	rm -rf .billing dbt_project/target dbt_project/logs
