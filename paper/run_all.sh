#!/usr/bin/env bash
# Every run behind the paper's tables, on DFEW (5 folds) and FERV39k. The runs are not listed here: they come from
# `python -m tgdfer plan` (TG-DFER, the baselines and the ablation axes of tgdfer/configs/variants.json), the same
# plan the generated benchmark's demo and regeneration run, so the two sweeps cannot drift apart.
#
#   DFEW=/data/DFEW FERV39K=/data/FERV39k bash paper/run_all.sh          # everything
#   DFEW=/data/DFEW ONLY=main bash paper/run_all.sh                      # TG-DFER rows only (or baselines, ablations,
#                                                                        # a comma-separated choice; FERV39k: FERV39K_ONLY)
#   DRY_RUN=1 DFEW=/data/DFEW bash paper/run_all.sh                      # print the commands, run nothing
#
# Expected GPU time (estimates from the FLOP count of `python -m tgdfer report`, 3x forward for a training
# step, at 40% of an H100's bf16 peak, plus data loading; NOT measured in this repository, whose machine
# has no GPU): tgdfer-b16, 50 epochs, batch 48, 16 frames at 224 px:
#   one DFEW fold (9.4k train clips)      ~1 GPU-hour on an H100 (~2 on an A100), peak memory ~40 GB at batch 48
#   FERV39k (31k train clips)             ~3.5 GPU-hours on an H100 (~7 on an A100)
#   main rows (5 DFEW folds + FERV39k)    ~8.5 GPU-hours on an H100
#   ablations (13 settings x 5 folds)     ~65 GPU-hours on an H100; set ABLATION_FOLDS="1" for ~13
#   baselines (3 variants x 5 folds)      ~15 GPU-hours on an H100
# Every run writes runs/<dataset>/fold<k>/<run name>/seed<s>/ and resumes when restarted (--resume).
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=${CONFIG:-tgdfer-b16}
FOLDS=${FOLDS:-"1 2 3 4 5"}
ABLATION_FOLDS=${ABLATION_FOLDS:-"$FOLDS"}
SEEDS=${SEEDS:-"0"}
ONLY=${ONLY:-all}
FERV39K_ONLY=${FERV39K_ONLY:-main,baselines}          # FERV39k's table has no ablation rows
OUT=build/paper_runs
mkdir -p "$OUT"

sweep() {  # sweep NAME DATASET ROOT FOLDS ABLATION_FOLDS ONLY
  python -m tgdfer plan --dataset "$2" --root "$3" --config "$CONFIG" --folds "$4" --ablation-folds "$5" \
    --seeds "$SEEDS" --only "$6" --runs-dir runs > "$OUT/$1.sh"
  echo "== $1: $(wc -l < "$OUT/$1.sh") runs ($OUT/$1.sh)"
  if [ -z "${DRY_RUN:-}" ]; then bash -euo pipefail -x "$OUT/$1.sh"; fi
}

if [ -n "${DFEW:-}" ]; then sweep dfew dfew "$DFEW" "$FOLDS" "$ABLATION_FOLDS" "$ONLY"; fi
if [ -n "${FERV39K:-}" ]; then sweep ferv39k ferv39k "$FERV39K" "1" "1" "$FERV39K_ONLY"; fi
if [ -n "${DRY_RUN:-}" ]; then exit 0; fi

python -m tgdfer collect --runs runs --out results
python -m tgdfer paper
