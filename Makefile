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

.PHONY: setup demo test test-all dev serve serve-stop validate docs docs-serve bench backtest clean clean-demo

$(BIN)/.installed: pyproject.toml
	@echo "Setting up $(VENV) (Python packages; a minute or two the first time) …"
	@$(PYTHON) -m venv $(VENV)
	@$(BIN)/pip install -qq --upgrade pip
	@$(BIN)/pip install -qq -e '.[test]'
	@touch $@

setup: $(BIN)/.installed  ## virtualenv, packages, Dagster home, dbt manifest
	@mkdir -p $(DAGSTER_HOME) && cp deploy/dagster.yaml $(DAGSTER_HOME)/dagster.yaml
	@$(BIN)/python -m dbv_pipeline.warehouse.prepare

demo: setup  ## generate the synthetic sample and materialise every asset
	@$(BIN)/dbv demo

test: setup  ## run the test suite (without the slow benchmark smoke test)
	$(BIN)/python -m pytest

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

backtest: setup  ## rolling-origin forecast backtest on DfE's public history (writes $(DBV_DATA_DIR)/backtest)
	$(BIN)/python -m dbv_pipeline.playbook.backtest

clean:  ## build output only (dbt's target and logs); never the data folder
	rm -rf dbt_project/target dbt_project/logs .pytest_cache

clean-demo:  ## the demo's data folder and Dagster history, only if its returns are the synthetic sample
	@if [ -d "$(DBV_DATA_DIR)" ] && [ ! -f "$(DBV_DATA_DIR)/landing/README_SYNTHETIC.txt" ]; then \
		echo "clean-demo: $(DBV_DATA_DIR) does not hold the synthetic sample: not deleting it"; exit 2; fi
	rm -rf "$(DBV_DATA_DIR)" $(DAGSTER_HOME)
