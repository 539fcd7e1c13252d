#!/usr/bin/env bash
# Every run behind the paper's tables, on DFEW (5 folds) and FERV39k, through the training notebook.
#
#   DFEW=/data/DFEW FERV39K=/data/FERV39k bash paper/run_all.sh          # everything
#   DFEW=/data/DFEW ONLY=main bash paper/run_all.sh                      # main rows only
#
# Expected GPU time (estimates from the FLOP count of `python -m tgdfer report`, 3x forward for a training
# step, at 40% of an H100's bf16 peak, plus data loading; NOT measured in this repository, whose machine
# has no GPU): tgdfer-b16, 50 epochs, batch 48, 16 frames at 224 px:
#   one DFEW fold (9.4k train clips)      ~1 GPU-hour on an H100 (~2 on an A100), peak memory ~40 GB at batch 48
#   FERV39k (31k train clips)             ~3.5 GPU-hours on an H100 (~7 on an A100)
#   main rows (5 DFEW folds + FERV39k)    ~8.5 GPU-hours on an H100
#   ablations (12 settings x 5 folds)     ~60 GPU-hours on an H100; set ABLATION_FOLDS="1" for ~12
#   baselines (3 variants x 5 folds)      ~15 GPU-hours on an H100
# Every run writes runs/<dataset>/fold<k>/<run name>/seed<s>/ and resumes when restarted.
set -euo pipefail
cd "$(dirname "$0")/.."
NB=notebooks/03_train.ipynb
OUT=build/paper_runs
CONFIG=${CONFIG:-tgdfer-b16}
FOLDS=${FOLDS:-"1 2 3 4 5"}
ABLATION_FOLDS=${ABLATION_FOLDS:-"1 2 3 4 5"}
ONLY=${ONLY:-all}
mkdir -p "$OUT"

run() {  # run NAME, then papermill parameter flags
  local name=$1; shift
  echo "== $name"
  papermill "$NB" "$OUT/$name.ipynb" -p config "$CONFIG" -p epochs 0 -p runs_dir runs -p resume True "$@"
}

if [ -n "${DFEW:-}" ]; then
  for fold in $FOLDS; do
    run "dfew_fold${fold}_tgdfer" -p dataset dfew -r root "$DFEW" -p fold "$fold"
  done
  if [ "$ONLY" = all ]; then
    for variant in clip-meanpool dfer-clip-like mil-only; do
      for fold in $FOLDS; do
        run "dfew_fold${fold}_${variant}" -p dataset dfew -r root "$DFEW" -p fold "$fold" -p variant "$variant"
      done
    done
    for fold in $ABLATION_FOLDS; do
      for t in none classname learnable descriptions; do
        run "dfew_fold${fold}_text_${t}" -p dataset dfew -r root "$DFEW" -p fold "$fold" -p text "$t"
      done
      run "dfew_fold${fold}_vp_false" -p dataset dfew -r root "$DFEW" -p fold "$fold" -r visual_prompt false
      for t in none short long; do
        run "dfew_fold${fold}_temporal_${t}" -p dataset dfew -r root "$DFEW" -p fold "$fold" -p temporal "$t"
      done
      for p in mean max topk attention; do
        run "dfew_fold${fold}_pool_${p}" -p dataset dfew -r root "$DFEW" -p fold "$fold" -p pool "$p"
      done
    done
  fi
fi

if [ -n "${FERV39K:-}" ]; then
  run "ferv39k_tgdfer" -p dataset ferv39k -r root "$FERV39K" -p fold 1
  if [ "$ONLY" = all ]; then
    for variant in clip-meanpool dfer-clip-like mil-only; do
      run "ferv39k_${variant}" -p dataset ferv39k -r root "$FERV39K" -p fold 1 -p variant "$variant"
    done
  fi
fi

python -m tgdfer collect --runs runs --out results
python -m tgdfer paper
