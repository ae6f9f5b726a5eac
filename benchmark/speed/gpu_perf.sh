#!/usr/bin/env bash
# The perf benchmark on a GPU as one prepared command, for a machine lent for minutes: how groups
# of experiments trained together scale, and what AA-BiGAN's Table 1 would cost there. In order
# of importance, each step's files written as soon as it ends:
#   1. AA-BiGAN and Deep SAD on the fixed MNIST experiment of `python -m benchmark.perf` at
#      K = 1, 9 and 90 experiments trained together (column "vs K=1" of the table: how much
#      longer 90 together take than one);
#   2. AA-BiGAN at K = 1, 9 and 90 on Fashion-MNIST (files) and on CIFAR-10's sizes (synthetic
#      pixels: the JPEG copy need not travel to the machine, and times do not depend on pixel
#      values);
#   3. the dry-run estimate of AA-BiGAN's whole Table 1 on this GPU, groups of 90;
#   4. every other deep detector at K = 1 (the perf table on a GPU).
#
# There: the data in a git-ignored folder (.devdata/ with mnist/ and fashion-mnist/) and, where
# the machine lacks PyOD, its wheel in .whl/ (`python -m pip download --no-deps pyod==3.6.7 -d .whl`),
# both travelling with the working tree; then
#   BENCH_DATA_DIR=.devdata OUT=$OUT bash benchmark/speed/gpu_perf.sh
# Each step has its own time limit (seconds below, 560 in all), so that a slow step cannot eat
# the others; the perf CSVs are rewritten after every configuration, so a step cut short keeps
# what it timed. K = 90 runs before K = 9.
# Rehearsal on a CPU (tiny sizes, K = 1 and 2; checks the commands, times nothing useful):
#   QUICK=1 BENCH_DATA_DIR=../shared/data OUT=/tmp/gpu_perf bash benchmark/speed/gpu_perf.sh
set -uo pipefail
: "${BENCH_DATA_DIR:?set BENCH_DATA_DIR to the folder holding mnist/ and fashion-mnist/}"
: "${OUT:?set OUT to the folder for the results}"
export PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export PYTHONPATH=$ROOT${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
if ! $PY -c "import pyod" 2>/dev/null; then  # the detectors' base class is PyOD's
  $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site "$ROOT"/.whl/pyod-*.whl || exit 1
  export PYTHONPATH=$PYTHONPATH:/tmp/site
fi
if [[ "${QUICK:-0}" == 1 ]]; then
  DEVICE=cpu; KS=1,2; KBATCH=2; SIZE=(--max-train-normals 100 --epochs 1); DRY_SIZE=(--max-train-normals 100)
  LIMIT=(600 600 600 600 600)
else
  DEVICE=cuda; KS=1,90,9; KBATCH=90; SIZE=(); DRY_SIZE=()
  LIMIT=(230 70 160 30 70)  # steps 1, 2 (F-MNIST), 2 (CIFAR-10's sizes), 3, 4
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
fi
PERF=(-m benchmark.perf --device "$DEVICE" "${SIZE[@]}")
step() { echo "=== $* ($(date -u +%H:%M:%S))"; }

step "1. AA-BiGAN and Deep SAD on MNIST, K = $KS"
timeout "${LIMIT[0]}" $PY "${PERF[@]}" --detectors aa-bigan,deep-sad --k "$KS" --out "$OUT/perf_${DEVICE}_mnist_groups.csv"

step "2. AA-BiGAN on Fashion-MNIST (files) and CIFAR-10's sizes (synthetic), K = $KS"
timeout "${LIMIT[1]}" $PY "${PERF[@]}" --detectors aa-bigan --k "$KS" --datasets fashion-mnist \
  --out "$OUT/perf_${DEVICE}_fmnist_groups.csv"
timeout "${LIMIT[2]}" $PY "${PERF[@]}" --detectors aa-bigan --k "$KS" --datasets cifar10-jpeg --synthetic-data \
  --out "$OUT/perf_${DEVICE}_cifar10_synthetic_groups.csv"

step "3. dry run: AA-BiGAN's Table 1 (images suite; CIFAR-10 under the JPEG copy's name) in groups of $KBATCH"
# The dry run reads perf_<kind>*.csv under results/perf/ of its working directory: a scratch one.
mkdir -p "$OUT/dry/results/perf" && cp "$OUT"/perf_"${DEVICE}"_*.csv "$OUT/dry/results/perf/"
(cd "$OUT/dry" && timeout "${LIMIT[3]}" $PY "$ROOT/run_benchmark.py" --suite images --detectors aa-bigan --datasets mnist,fashion-mnist,cifar10-jpeg \
  "${DRY_SIZE[@]}" --device "$DEVICE" --batch-experiments "$KBATCH" --dry-run --out table1 2>&1) \
  | tail -n 8 | tee "$OUT/table1_dry_run.txt"

step "4. every other deep detector on MNIST, K = 1"
timeout "${LIMIT[4]}" $PY "${PERF[@]}" --detectors feawad,devnet,prenet,nda,ss-dgm,supervised \
  --out "$OUT/perf_${DEVICE}_mnist_others.csv"
step "done"
