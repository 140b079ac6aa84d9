# Two commands do all the set-up on a fresh machine:
#   make demo   train on MNIST with the default recipe and write submission.csv
#   make test   lint and run the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
RUNS   ?= runs/demo
# Data for the demo: DATA=path, else $$TINYGRAD_MNIST_DATA, else data/train.csv, else the
# MNIST sample beside this checkout (../shared/data), else MNIST downloaded into the cache.
DATA   ?= $(if $(TINYGRAD_MNIST_DATA)$(wildcard data/train.csv data/train.csv.gz),,$(wildcard ../shared/data/mnist/train.csv.gz))
DATA_ARG := $(if $(DATA),--data $(DATA))

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
	$(BIN)/tinygrad-mnist train $(DATA_ARG) --out $(RUNS)
	$(BIN)/tinygrad-mnist predict $(DATA_ARG) --checkpoint $(RUNS)/model.safetensors --out $(RUNS)/submission.csv

bench: venv
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) runs .pytest_cache .hypothesis
