#!/bin/bash
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
cases="eager-amp-cl plain plain-mark amp-mark amp-cl-mark amp-cl-eval-mark amp-cl-eval-sizes-mark amp-cl-eval-sizes"
for c in $cases; do timeout 120 python3 benchmarks/cuda-h200/scripts/diag_reduce_overhead.py $c > /tmp/$c.out 2>&1 & done
wait
for c in $cases; do tail -1 /tmp/$c.out; done | tee $OUT/diag.txt
for c in $cases; do [ -s /tmp/$c.err ] && { echo "== $c"; tail -5 /tmp/$c.err; }; done >> $OUT/diag.txt
