# The two commands a new user needs: `make chat` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The browser test's set-up: Debian's chromium and axe-core (scripts/setup-browser).
BROWSER_STAMP := node_modules/.browser-ready

.PHONY: chat test bench lint format validate clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found). Set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

chat: $(STAMP)
	$(BIN)/mutual-aid-bot chat

$(BROWSER_STAMP): package.json package-lock.json scripts/setup-browser
	@scripts/setup-browser
	@if [ -f node_modules/axe-core/axe.min.js ] && command -v chromium >/dev/null 2>&1; then \
		touch $(BROWSER_STAMP); fi

test: $(STAMP) $(BROWSER_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mutual-aid-bot validate
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/bench_engine.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

validate: $(STAMP)
	$(BIN)/mutual-aid-bot validate

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache node_modules
