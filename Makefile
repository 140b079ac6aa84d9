# Two commands do all the set-up on a fresh machine:
#   make demo   train on MNIST with the default recipe and write submission.csv
#   make test   lint and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNS   ?= runs/demo

.PHONY: venv test demo bench clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

test: venv
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

demo: venv
	$(BIN)/tinygrad-mnist train --out $(RUNS)
	$(BIN)/tinygrad-mnist predict --checkpoint $(RUNS)/model.safetensors --out $(RUNS)/submission.csv

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
