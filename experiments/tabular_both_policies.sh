#!/usr/bin/env bash
# Table 2 under both selection policies on a 2-core CPU (the README's tabular tables): every
# detector of the `tabular` suite, 10 seeds, `paper` into results/tabular-paper and `strict` into
# results/tabular-strict, detector by detector (cheap first, so an interrupted run has whole
# detectors), each resuming from what is stored. Five detectors get shortened training to fit a
# CPU session (the README's "shortened tabular run"); AA-BiGAN runs its tabular design unchanged.
# Usage: BENCH_DATA_DIR=../shared/data [JOBS=2] [DETECTORS="aad nda"] bash experiments/tabular_both_policies.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
JOBS=${JOBS:-2}
SHORT=(--param deep-sad.epochs=50 --param deep-sad.ae_epochs=50 --param supervised.epochs=50
       --param ss-dgm.epochs=50 --param ssad-hybrid.epochs=50 --param ssad-hybrid.max_train=1000
       --param ssad-raw.max_train=1000 --param nda.epochs=30)
for detector in ${DETECTORS:-aad aa-bigan supervised deep-sad ss-dgm ssad-raw nda ssad-hybrid}; do
  for policy in paper strict; do
    echo "=== $detector $policy $(date +%T)"
    OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 "$PY" run_benchmark.py --suite tabular --selection "$policy" \
      --detectors "$detector" "${SHORT[@]}" --jobs "$JOBS" --device cpu --out "results/tabular-$policy" --no-progress
  done
done
