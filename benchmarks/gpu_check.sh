#!/bin/bash
# The GPU checks issue 5 still needs, sized for one device call (about 7 minutes on an H200).
# Run from the repository root on the GPU machine with the four MNIST .gz files in .devdata/ (the device
# tool's carry; they are never committed) and $OUT set; each step writes $OUT/<step>/results.json and the log.
# To make them:  python -m s5utils data --root /tmp/m && mkdir -p .devdata &&
#                for f in /tmp/m/MNIST/raw/*-ubyte; do gzip -c "$f" > .devdata/$(basename "$f").gz; done
#   A  --compile reduce-overhead (CUDA graphs): does the kit's compile warm-up work now, and what is a step worth?
#   B  eager, the fast recipe's shortest schedules that reached 99 % on the CPU (results/fast-recipe-short-schedules/)
#   C  the same schedules under reduce-overhead, if A worked
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
D=/tmp/data
bench() { local step=$1; shift; echo "== $step: bench.py $*"; date +%T
          timeout "$TIMEOUT" python3 benchmarks/bench.py --device cuda --no-floor --data-root $D --out "$OUT/$step" "$@"; }
{
nvidia-smi -L
python3 -c "import torch; print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name())"
mkdir -p $D/MNIST/raw
for f in .devdata/*-ubyte.gz; do gunzip -c "$f" > "$D/MNIST/raw/$(basename "$f" .gz)"; done
python3 -c "from s5utils.data.provision import verify_mnist; verify_mnist('$D'); print('MNIST md5 ok')" || exit 1

TIMEOUT=240 bench A-reduce-overhead --variants kit-seed,kit-fast --compile reduce-overhead
graphs=$?
TIMEOUT=60 bench B-fast-2-epochs --variants kit-fast --epochs 2
TIMEOUT=60 bench B-fast-3-epochs-batch-512 --variants kit-fast --epochs 3 --batch-size 512 --lr 0.1
if [ $graphs -eq 0 ]; then
  TIMEOUT=100 bench C-fast-2-epochs-reduce-overhead --variants kit-fast --epochs 2 --compile reduce-overhead
  TIMEOUT=100 bench C-fast-3-epochs-batch-512-reduce-overhead --variants kit-fast --epochs 3 --batch-size 512 \
    --lr 0.1 --compile reduce-overhead
fi
date +%T
} 2>&1 | tee "$OUT/log.txt"
