# The two commands a newcomer needs:  make run   and   make test
# Overrides: make run EPOCHS=2 MAX_BATCHES=20 DEVICE=cpu SEED=3 LR=0.02 BATCH_SIZE=256 RECIPE=fast AMP=off OUT=runs DATA=~/mnist
# CPU-only torch on a fresh clone: make run TORCH_INDEX=https://download.pytorch.org/whl/cpu (torch from that index, no CUDA libraries)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= runs

# make run executes notebooks/S5.ipynb with papermill (through s5utils.notebooks.run_notebook, which prints the notebook's
# one line per epoch while it runs); the overrides become its parameters.
NOTEBOOK_ARGS := $(if $(EPOCHS),-p epochs $(EPOCHS)) $(if $(BATCH_SIZE),-p batch_size $(BATCH_SIZE)) \
	$(if $(LR),-p lr $(LR)) $(if $(SEED),-p seed $(SEED)) $(if $(DEVICE),-p device $(DEVICE)) \
	$(if $(MAX_BATCHES),-p max_batches $(MAX_BATCHES)) $(if $(DATA),-p data_root $(DATA)) \
	$(if $(RECIPE),-p recipe $(RECIPE)) $(if $(AMP),-p amp $(AMP))

TRAIN_ARGS := --out $(OUT) \
	$(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(BATCH_SIZE),--batch-size $(BATCH_SIZE)) \
	$(if $(LR),--lr $(LR)) $(if $(SEED),--seed $(SEED)) $(if $(DEVICE),--device $(DEVICE)) \
	$(if $(MAX_BATCHES),--max-batches $(MAX_BATCHES)) $(if $(DATA),--data-root $(DATA)) \
	$(if $(RECIPE),--recipe $(RECIPE)) $(if $(AMP),--amp $(AMP))

.PHONY: run train test lint format browser slurm data summary clean colab app space-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --upgrade pip
	$(if $(TORCH_INDEX),$(BIN)/python -m pip install torch torchvision --index-url $(TORCH_INDEX))
	$(BIN)/python -m pip install -e '.[test]'
	touch $@

run: $(VENV)/.installed  ## set up, fetch MNIST, run notebooks/S5.ipynb into a new folder under runs/
	@dir="$(OUT)/$$(date +%Y%m%d-%H%M%S)-S5"; mkdir -p "$(OUT)" && mkdir "$$dir" && \
	echo "Executing notebooks/S5.ipynb with papermill into $$dir/S5.ipynb" && \
	$(BIN)/python -m s5utils.run_notebook notebooks/S5.ipynb "$$dir/S5.ipynb" -p run_dir "$$dir" $(NOTEBOOK_ARGS) && \
	echo "Run directory: $$dir (the executed S5.ipynb, metrics.json, training_plot.png, model.pt)"

train: $(VENV)/.installed  ## the same recipe without the notebook: python -m s5utils train
	$(BIN)/python -m s5utils train $(TRAIN_ARGS)

test: $(VENV)/.installed system-packages lint  ## set up, lint, then run the whole test suite (notebooks with nbval included)
	$(BIN)/python -m pytest

lint: $(VENV)/.installed  ## ruff: the lint rules and the format check of pyproject.toml (what CI runs)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.installed  ## ruff: fix what can be fixed, then format
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Debian packages the tests use, installed where we may (root + apt-get), all in one apt-get call: chromium (the
# browser tests), slurm-wlm and munge (a real single-node Slurm), dataset-fashion-mnist (S8's data). Without one,
# the tests that need it skip with one line. make browser and make slurm are the same step.
system-packages:
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$$missing chromium"; \
	{ [ -x /usr/sbin/slurmctld ] && [ -x /usr/sbin/slurmd ]; } || missing="$$missing slurm-wlm"; \
	[ -x /usr/sbin/munged ] || missing="$$missing munge"; \
	[ -d /usr/share/datasets/fashion-mnist ] || missing="$$missing dataset-fashion-mnist"; \
	if [ -z "$$missing" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing Debian's$$missing for the tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	else echo "note: not installed:$$missing (needs root + apt-get); the tests that use them skip with one line"; fi

browser slurm: system-packages

# make app RUN=runs/<run folder> [PORT=7860]: the run's model in Gradio on 127.0.0.1 (docs/app.md).
app: $(VENV)/.installed  ## serve a run's model as an app: draw a digit, top k, GradCAM, its mistakes
	@test -n "$(RUN)" || { echo "make app RUN=runs/<run folder> [PORT=7860]"; exit 2; }
	$(BIN)/python -m s5utils app "$(RUN)" $(if $(PORT),--port $(PORT))

# The exported Space's own venv (no system site-packages), built once: tests/test_app.py starts a Space in it and
# skips without it. Minutes and several GB (torch); S5UTILS_SPACE_VENV moves it.
SPACE_VENV ?= $(or $(S5UTILS_SPACE_VENV),$(HOME)/.cache/s5utils/space-venv)
space-venv:
	$(PYTHON) -m venv $(SPACE_VENV)
	$(SPACE_VENV)/bin/python -m pip install '.[app]'

data: $(VENV)/.installed
	$(BIN)/python -m s5utils data $(if $(DATA),--root $(DATA))

summary: $(VENV)/.installed
	$(BIN)/python -m s5utils summary

# make colab REPO=org/name REF=v1: every Colab badge and install cell names that repository at that tag or commit.
colab:  ## point the Colab badges and install cells at REPO (owner/name) and REF (a tag or commit)
	@$(PYTHON) tools/colab_links.py "$(REPO)" "$(REF)"

clean:
	rm -rf $(VENV) *.egg-info
