# Two commands for a fresh clone: `make run` and `make test`. Both create .venv on first use and
# install the exact versions in the requirements*.txt locks (hashed, compiled from pyproject.toml by
# `make lock`; docs/dependencies.md), so they install the same on any day.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LOCKS := requirements-build.txt requirements-dev.txt
# uv's resolution for the locks: every platform, for the oldest Python the project supports.
UV_COMPILE := $(BIN)/uv pip compile --quiet --universal --python-version 3.11 --generate-hashes

.PHONY: run test test-latest lock audit bench bench-forecasts bench-backtest bench-backtest-year lint format clean

$(STAMP): $(LOCKS) pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements-build.txt -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

## Run the service on the demo home (simulated devices, bundled data, SQLite under var/).
## It prints the API address and, on first start, the tokens to use.
run: $(STAMP)
	$(BIN)/hems run --demo

## Run the test suite (offline).
test: $(STAMP)
	$(BIN)/python -m pytest -q

## Bring the locks (requirements*.txt) in line with pyproject.toml (locked versions kept where they
## still fit; new requirements at their newest), then reinstall. `make lock UPGRADE=1` moves every
## package to the newest version its range allows. Commit the files together; review the diff.
lock: $(STAMP)
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) pyproject.toml --extra dev -o requirements-dev.txt
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) pyproject.toml --extra openadr -o requirements.txt
	$(UV_COMPILE) $(if $(UPGRADE),--upgrade) requirements-build.in -o requirements-build.txt
	rm -f $(STAMP)
	$(MAKE) $(STAMP)

## Early warning: the suite on the newest releases pyproject.toml allows, in a throwaway
## environment (needs the package registry; the locked .venv is untouched).
test-latest: $(STAMP)
	$(BIN)/python -m tools.test_latest

## The locked versions against PyPI's advisory data (needs the package registry). Exits non-zero,
## saying "not audited", when the advisories cannot be read: never a false clean.
audit: $(STAMP)
	$(BIN)/python -m tools.audit

## Run the benchmarks (JSON results under benchmarks/results/).
bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_optimiser
	$(BIN)/python -m benchmarks.bench_service
	$(BIN)/python -m benchmarks.bench_openadr

## Forecast speed (self-contained) and quality on the real series in $(DATA) (see docs/forecasts.md).
DATA ?= ../shared/data
bench-forecasts: $(STAMP)
	$(BIN)/python -m benchmarks.forecasts_speed
	$(BIN)/python -m benchmarks.forecasts_quality --data $(DATA)

## The 30-day backtest on the real 2020 series in $(DATA): capture ratio and plans/s (docs/backtest.md),
## as two 15-day chunks, one per core (hems.backtest.chunks); its wall time: docs/performance.md.
bench-backtest: $(STAMP)
	$(BIN)/python -m benchmarks.bench_backtest --data $(DATA) --days 30 --chunk-days 15

## The same over 2020 (6 Jan - 31 Dec) in 15-day chunks; its wall time: docs/performance.md.
bench-backtest-year: $(STAMP)
	$(BIN)/python -m benchmarks.bench_backtest --data $(DATA) --days 360 --chunk-days 15

## Lint, format check, strict typing and the import rules.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) out benchmarks/results .pytest_cache .mypy_cache .ruff_cache
