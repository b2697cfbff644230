# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test lint chromium bench-wire clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/opencases serve

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy src

# The browser tests (tests/ui) use Debian's Chromium; they skip, saying so, where it cannot be installed.
chromium:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) || true

test: lint chromium
	$(BIN)/pytest

bench-wire: $(STAMP)
	$(BIN)/python bench/wire.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
