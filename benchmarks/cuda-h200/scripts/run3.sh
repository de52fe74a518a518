#!/bin/bash
# Issue 5 on CUDA, round 3: torch.compile reduce-overhead with the step mark (MarkEachCall), then the full one-run
# benchmark (seed pipeline + kit) on the working tree. results.json per step + log.
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
D=/tmp/data
{
nvidia-smi -L
mkdir -p $D/MNIST/raw
for f in .devdata/*.gz; do gunzip -c $f > $D/MNIST/raw/$(basename $f .gz); done
date +%T; echo "== kit, compile reduce-overhead"
timeout 160 python3 benchmarks/bench.py --device cuda --variants kit-seed,kit-fast --compile reduce-overhead --no-floor --data-root $D --out $OUT/ro
date +%T; echo "== full: seed pipeline (8 workers) + kit"
timeout 130 python3 benchmarks/bench.py --device cuda --num-workers 8 --data-root $D --out $OUT/full
date +%T
} 2>&1 | tee $OUT/log.txt
rm -f $OUT/*/RESULTS.md
