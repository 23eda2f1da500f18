# The two commands:  make demo  (set up, generate the sample, run every asset)  ·  make test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export DAGSTER_HOME := $(CURDIR)/.dagster
export DBV_DATA_DIR ?= $(CURDIR)/data
# DfE's EHCP releases: in a development checkout beside ../shared, its folder (the 2022 and 2025
# release zips, read together); else DfE's download address (the code's default). Set
# DBV_DFE_EHCP_SOURCE=none to run without public data.
SHARED_RELEASE := $(wildcard $(CURDIR)/../shared/data/dfe_ehcp/education-health-and-care-plans_2025.zip)
ifneq ($(SHARED_RELEASE),)
export DBV_DFE_EHCP_SOURCE ?= $(abspath $(dir $(SHARED_RELEASE)))
endif
export GX_ANALYTICS_ENABLED := False
export DAGSTER_DISABLE_TELEMETRY := 1
# one planned event per asset for a many-LA run (see dbv_pipeline/definitions.py)
export DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS := true

.PHONY: setup setup-spark test-spark lock lint lint-mypy format mypy-baseline test-fast demo test test-all dev serve serve-stop validate docs docs-serve bench bench-spark backtest clean clean-demo

# The exact versions of requirements.lock (pyproject.toml keeps the ranges; `make lock` refreshes the lock),
# then the project itself without dependencies.
$(BIN)/.installed: pyproject.toml requirements.lock
	@echo "Setting up $(VENV) (Python packages; a minute or two the first time) …"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip
	@$(BIN)/pip install -qq -r requirements.lock
	@$(BIN)/pip install -qq --no-deps -e .
	@touch $@

# The linters' virtualenv (ruff, mypy, pre-commit, uv): mypy's dependencies clash with dbt-core's.
LINT_VENV := .venv-lint
LINT_BIN := $(LINT_VENV)/bin
$(LINT_BIN)/.installed: requirements-lint.lock
	@echo "Setting up $(LINT_VENV) (ruff, mypy, pre-commit, uv) …"
	@$(PYTHON) -m venv $(LINT_VENV)
	@$(LINT_BIN)/pip install -qq -r requirements-lint.lock
	@touch $@

setup: $(BIN)/.installed  ## virtualenv, packages, Dagster home, dbt manifest
	@mkdir -p $(DAGSTER_HOME) && cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m dbv_pipeline.warehouse.prepare

# The Spark engine (dbt-spark, pyspark) in its own virtualenv, pinned by the lock where they overlap:
# pyspark beside the DuckDB default would slow every GX import.
SPARK_BIN := .venv-spark/bin
$(SPARK_BIN)/.installed: pyproject.toml requirements.lock
	@echo "Setting up .venv-spark (dbt-spark, pyspark; a few minutes the first time) …"
	@$(PYTHON) -m venv .venv-spark
	@$(SPARK_BIN)/pip install -qq --upgrade pip
	@$(SPARK_BIN)/pip install -qq -c requirements.lock -e '.[test,spark]'
	@touch $@

setup-spark: setup $(SPARK_BIN)/.installed  ## a virtualenv for the Spark engine (DBV_WAREHOUSE_ENGINE=spark; needs Java 17)

test-spark: setup-spark  ## the warehouse on DuckDB and on a local Spark: equal row for row, one LA's resubmission, the Dagster job (slow)
	$(SPARK_BIN)/python -m pytest -m slow tests/test_warehouse_spark.py

# The lock's extras: add an extra here when pyproject.toml gains one that `make setup` should install.
LOCK_EXTRAS := test lint
UV_COMPILE = $(LINT_BIN)/uv pip compile --universal --python-version 3.11 --quiet
lock: $(LINT_BIN)/.installed  ## refresh requirements.lock and requirements-lint.lock from pyproject.toml's ranges
	$(UV_COMPILE) pyproject.toml $(addprefix --extra ,$(LOCK_EXTRAS)) -o requirements.lock
	$(UV_COMPILE) requirements-lint.in -o requirements-lint.lock

# sqlfluff's dbt templater compiles into its own target folder, against an empty warehouse there (.sqlfluff)
SQLFLUFF = mkdir -p dbt_project/target/sqlfluff && DBT_TARGET_PATH=target/sqlfluff $(BIN)/sqlfluff
SQL_PATHS := dbt_project/models dbt_project/tests
MYPY_OUT := .mypy_cache/lint.out
lint: setup $(LINT_BIN)/.installed  ## ruff (lint, format check), sqlfluff on the dbt models, mypy against its baseline
	$(LINT_BIN)/ruff check .
	$(LINT_BIN)/ruff format --check .
	$(SQLFLUFF) lint $(SQL_PATHS)
	@$(MAKE) -s lint-mypy

lint-mypy: $(LINT_BIN)/.installed  ## mypy on dbv_pipeline: fails on an error not in mypy-baseline.txt or a listed one that is gone
	@mkdir -p .mypy_cache; $(LINT_BIN)/mypy --python-executable $(BIN)/python > $(MYPY_OUT); rc=$$?; \
		if [ $$rc -gt 1 ]; then cat $(MYPY_OUT); rm -f $(MYPY_OUT); exit $$rc; fi
	@echo "mypy: new errors and errors fixed since mypy-baseline.txt (fix them, or shrink it: make mypy-baseline)"
	@$(LINT_BIN)/mypy-baseline filter --no-colors --hide-stats < $(MYPY_OUT); rc=$$?; rm -f $(MYPY_OUT); exit $$rc

mypy-baseline: setup $(LINT_BIN)/.installed  ## rewrite mypy-baseline.txt (after fixing errors: it may only shrink)
	@mkdir -p .mypy_cache
	-$(LINT_BIN)/mypy --python-executable $(BIN)/python > $(MYPY_OUT)
	$(LINT_BIN)/mypy-baseline sync < $(MYPY_OUT); rm -f $(MYPY_OUT)

format: setup $(LINT_BIN)/.installed  ## apply ruff's formatter and safe fixes and sqlfluff's layout fixes
	$(LINT_BIN)/ruff format .
	$(LINT_BIN)/ruff check --fix .
	$(SQLFLUFF) fix $(SQL_PATHS)

demo: setup  ## generate the synthetic sample and materialise every asset
	@$(BIN)/dbv demo

test: setup  ## run the test suite (without the slow benchmark smoke test)
	$(BIN)/python -m pytest

test-fast: setup  ## the unit tier only (no dbt, Dagster, GX, servers or real data): under a minute
	$(BIN)/python -m pytest -m "not integration and not slow" -q

test-all: setup  ## the test suite and the slow tests (the benchmark harness at tiny scale)
	$(BIN)/python -m pytest -m ""

serve: setup  ## production: code server, daemon and UI under supervisord (README "Deploying"; needs the env file)
	deploy/production/dbv-service init
	deploy/production/dbv-service start

serve-stop:  ## stop the production services
	deploy/production/dbv-service stop

validate: setup  ## load the Dagster definitions (dagster definitions validate, dg check defs)
	$(BIN)/dagster definitions validate -w workspace.yaml
	VIRTUAL_ENV=$(CURDIR)/$(VENV) PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/dg check defs

dev: setup  ## the Dagster UI and daemon (sensors, schedules) on http://127.0.0.1:3000
	$(BIN)/dagster dev -w workspace.yaml -h 127.0.0.1 -p 3000

docs: setup  ## dbt docs for analysts: dbt_project/target/static_index.html opens from a file, offline
	@cd dbt_project && ../$(BIN)/dbt --quiet docs generate --static --profiles-dir . --vars "$$(../$(BIN)/python -m dbv_pipeline.warehouse.prepare --print-vars)"
	@echo "dbt docs: dbt_project/target/static_index.html (or make docs-serve)"
	@$(BIN)/python -m dbv_pipeline.docs_server --fetch-assets || true

docs-serve: docs  ## serve dbt docs and GX Data Docs on http://127.0.0.1:8080 and :8081
	@$(BIN)/python -m dbv_pipeline.docs_server

bench: setup  ## national-scale benchmark (writes bench/results)
	$(BIN)/python -m bench.run

bench-spark: setup-spark  ## the national build and one LA's resubmission on local Spark (writes bench/results/spark; slow)
	$(SPARK_BIN)/python -m bench.run --engine spark --skip-5x

backtest: setup  ## rolling-origin forecast backtest on DfE's public history (writes $(DBV_DATA_DIR)/backtest)
	$(BIN)/python -m dbv_pipeline.playbook.backtest

clean:  ## build output only (dbt's target and logs); never the data folder
	rm -rf dbt_project/target dbt_project/logs .pytest_cache

clean-demo:  ## the demo's data folder and Dagster history, only if its returns are the synthetic sample
	@if [ -d "$(DBV_DATA_DIR)" ] && [ ! -f "$(DBV_DATA_DIR)/landing/README_SYNTHETIC.txt" ]; then \
		echo "clean-demo: $(DBV_DATA_DIR) does not hold the synthetic sample: not deleting it"; exit 2; fi
	rm -rf "$(DBV_DATA_DIR)" $(DAGSTER_HOME)
