# The two commands a newcomer needs:  make run   and   make test
# Overrides: make run EPOCHS=2 MAX_BATCHES=20 DEVICE=cpu SEED=3 LR=0.02 BATCH_SIZE=256 OUT=runs DATA=~/mnist
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs

TRAIN_ARGS := --out $(OUT) \
	$(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(BATCH_SIZE),--batch-size $(BATCH_SIZE)) \
	$(if $(LR),--lr $(LR)) $(if $(SEED),--seed $(SEED)) $(if $(DEVICE),--device $(DEVICE)) \
	$(if $(MAX_BATCHES),--max-batches $(MAX_BATCHES)) $(if $(DATA),--data-root $(DATA))

.PHONY: run test data summary clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

run: $(VENV)/.installed  ## set up, fetch MNIST, train the seed recipe into a new folder under runs/
	$(BIN)/python -m s5utils train $(TRAIN_ARGS)

test: $(VENV)/.installed  ## set up, then run the whole test suite
	$(BIN)/python -m pytest

data: $(VENV)/.installed
	$(BIN)/python -m s5utils data $(if $(DATA),--root $(DATA))

summary: $(VENV)/.installed
	$(BIN)/python -m s5utils summary

clean:
	rm -rf $(VENV) *.egg-info
