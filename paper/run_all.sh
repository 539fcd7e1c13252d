#!/usr/bin/env bash
# Every run behind the paper's tables, on DFEW (5 folds) and FERV39k, through `python -m tgdfer sweep`: the plan of
# `python -m tgdfer plan` (TG-DFER, the baselines and the ablation axes of tgdfer/configs/variants.json, the same plan
# the generated benchmark's regeneration runs), over every GPU of this machine at once, or as a SLURM job array.
#
#   DFEW=/data/DFEW FERV39K=/data/FERV39k bash paper/run_all.sh             # every GPU here, one run a GPU
#   GPUS_PER_RUN=4 DFEW=/data/DFEW bash paper/run_all.sh                    # 4 GPUs a run (torchrun)
#   CLUSTER=slurm PARTITION=gpu DFEW=/data/DFEW bash paper/run_all.sh       # a job array through submitit
#   ONLY=main DFEW=/data/DFEW bash paper/run_all.sh                         # TG-DFER rows only (or baselines,
#                                                                           # ablations; FERV39k: FERV39K_ONLY)
#   DRY_RUN=1 DFEW=/data/DFEW bash paper/run_all.sh                         # list what would train
#
# A failed run does not stop the others; the failures are named at the end and the script exits 1. Run it again to
# train what is missing: finished runs are skipped, interrupted ones resume from their last checkpoint. The tables
# of your runs go to build/results and build/paper (never the committed results/, paper/ or README).
# Expected GPU time (estimates from the FLOP count of `python -m tgdfer report`, NOT measured here): tgdfer-b16,
# 50 epochs, global batch 48, 16 frames at 224 px: one DFEW fold ~1 GPU-hour on an H100; FERV39k ~3.5; the main
# rows ~8.5, the ablations ~65 (ABLATION_FOLDS="1": ~13), the baselines ~15.
set -uo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-tgdfer-b16}
FOLDS=${FOLDS:-"1 2 3 4 5"}
ABLATION_FOLDS=${ABLATION_FOLDS:-"$FOLDS"}
SEEDS=${SEEDS:-"0"}
ONLY=${ONLY:-all}
FERV39K_ONLY=${FERV39K_ONLY:-main,baselines}          # FERV39k's table has no ablation rows
RUNS=${RUNS:-runs}
status=0

sweep() {  # sweep DATASET ROOT FOLDS ABLATION_FOLDS ONLY
  args=(--dataset "$1" --root "$2" --config "$CONFIG" --folds "$3" --ablation-folds "$4" --seeds "$SEEDS"
        --only "$5" --runs-dir "$RUNS" --gpus-per-run "${GPUS_PER_RUN:-1}")
  [ -n "${GPUS:-}" ] && args+=(--gpus "$GPUS")
  [ -n "${CLUSTER:-}" ] && args+=(--cluster "$CLUSTER")
  [ -n "${PARTITION:-}" ] && args+=(--partition "$PARTITION")
  [ -n "${DRY_RUN:-}" ] && args+=(--dry-run)
  python -m tgdfer sweep "${args[@]}" || status=1
}

if [ -n "${DFEW:-}" ]; then sweep dfew "$DFEW" "$FOLDS" "$ABLATION_FOLDS" "$ONLY"; fi
if [ -n "${FERV39K:-}" ]; then sweep ferv39k "$FERV39K" "1" "1" "$FERV39K_ONLY"; fi
if [ -n "${DRY_RUN:-}" ]; then exit $status; fi

python -m tgdfer collect --runs "$RUNS" --out build/results && python -m tgdfer paper --results build/results --out build/paper || status=1
exit $status
