#!/bin/bash
# Issue 5 on CUDA: benchmarks/bench.py unchanged on the lent GPU. Results under $OUT (results.json per step) + log.
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
D=/tmp/data
{
nvidia-smi -L; nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
python3 -c "import torch,torchvision,sys;print(sys.version.split()[0],torch.__version__,torchvision.__version__,torch.version.cuda,torch.backends.cudnn.version())"
nproc; lscpu | grep "Model name"
mkdir -p $D/MNIST/raw
for f in .devdata/*.gz; do gunzip -c $f > $D/MNIST/raw/$(basename $f .gz); done
python3 -c "from s5utils.data.provision import verify_mnist; verify_mnist('$D'); print('MNIST md5 ok')"
date +%T; echo "== B: seed pipeline + kit, one run (seed: 8 DataLoader workers)"
timeout 260 python3 benchmarks/bench.py --device cuda --num-workers 8 --data-root $D --out $OUT/full
date +%T; echo "== C: kit, cudnn.benchmark on"
timeout 90 python3 benchmarks/bench.py --device cuda --variants kit-seed,kit-fast --cudnn-benchmark on --data-root $D --out $OUT/cudnn
date +%T; echo "== D: kit, torch.compile default"
timeout 150 python3 benchmarks/bench.py --device cuda --variants kit-seed,kit-fast --compile default --no-floor --data-root $D --out $OUT/compile
date +%T
} 2>&1 | tee $OUT/log.txt
rm -f $OUT/*/RESULTS.md
