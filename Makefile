# The README's commands. `make run` and `make test` work on a fresh Debian/Ubuntu
# machine with Python 3.11+, Node/npm and apt (root or sudo).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8501
export HOTLINE_DB ?= var/hotline.duckdb
DEMO_TICKETS ?= $(or $(HOTLINE_DEMO_TICKETS),500000)
DEMO_YEARS   ?= $(or $(HOTLINE_DEMO_YEARS),2)
DEMO_SEED    ?= $(or $(HOTLINE_DEMO_SEED),12345)

.PHONY: run test setup sysdeps assets demo bench lint format check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

static/vendor/.installed: scripts/vendor_assets.sh
	bash scripts/vendor_assets.sh
	touch $@

## setup: virtualenv, Python packages, offline map assets, system packages
setup: $(VENV)/.installed static/vendor/.installed sysdeps

sysdeps:
	bash scripts/sysdeps.sh

assets: static/vendor/.installed

## demo: build the demo database at $(HOTLINE_DB) if it does not exist
demo: setup
	@test -f "$(HOTLINE_DB)" || $(BIN)/python manage.py demo --tickets $(DEMO_TICKETS) --years $(DEMO_YEARS) --seed $(DEMO_SEED) --db "$(HOTLINE_DB)"

## run: start the dashboard on http://127.0.0.1:$(PORT)
run: demo
	$(BIN)/python -m streamlit run serve.py --server.address 127.0.0.1 --server.port $(PORT)

## test: every test (unit, AppTest and headless Chromium)
test: setup
	$(BIN)/python -m pytest

bench: setup
	$(BIN)/python manage.py bench

lint: setup
	$(BIN)/ruff check .

format: setup
	$(BIN)/ruff format .

check: lint test

clean:
	rm -rf $(VENV) static/vendor .pytest_cache .ruff_cache
