#!/bin/bash
# Issue 5 on CUDA, round 2: HEAD's s5utils (.devdata/old) vs the working tree's (one host sync per step), interleaved,
# then the working tree with torch.compile reduce-overhead (CUDA graphs). Kit variants only; results.json per step.
export PYTHONUNBUFFERED=1
D=/tmp/data
{
nvidia-smi -L
mkdir -p $D/MNIST/raw
for f in .devdata/*.gz; do gunzip -c $f > $D/MNIST/raw/$(basename $f .gz); done
PYTHONPATH=$PWD/.devdata/old python3 -c "import s5utils.training.loop as t; print(t.__file__)"
B="benchmarks/bench.py --device cuda --variants kit-seed,kit-fast --no-floor --data-root $D"
for round in 1 2; do
  date +%T; echo "== old $round"; PYTHONPATH=$PWD/.devdata/old timeout 60 python3 $B --out $OUT/old$round
  date +%T; echo "== new $round"; PYTHONPATH=$PWD timeout 60 python3 $B --out $OUT/new$round
done
date +%T; echo "== new, compile reduce-overhead"; PYTHONPATH=$PWD timeout 200 python3 $B --compile reduce-overhead --out $OUT/ro
date +%T
} 2>&1 | tee $OUT/log.txt
rm -f $OUT/*/RESULTS.md
