# The two commands the README promises: `make demo` and `make test`. Both build .venv from nothing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean bench

$(STAMP): pyproject.toml
	@echo "setting up $(VENV) (a few minutes, once; pip's own output is kept quiet)"
	@test -x $(BIN)/python || { echo "  creating the virtual environment $(VENV) with $(PY)"; $(PY) -m venv $(VENV); }
	@echo "  1/3 upgrading pip"
	@$(BIN)/pip install -q --upgrade pip
	@# torch first and pinned: an unpinned torch pulls a multi-GB CUDA build
	@echo "  2/3 installing torch 2.13.0 (the largest download: most of the wait)"
	@$(BIN)/pip install -q torch==2.13.0
	@echo "  3/3 installing curriculumc (editable) with its dependencies and dev tools (pytest, ruff)"
	@$(BIN)/pip install -q -e '.[dev]'
	@echo "$(VENV) is ready"
	@touch $(STAMP)

# the curriculum in words, then train it (progress, timeline.png, minimal pairs, run folder)
demo: $(STAMP)
	$(BIN)/curriculumc explain specs/demo.cur
	$(BIN)/curriculumc run specs/demo.cur --force

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) runs .cache
