"""Tuning on validation splits: grid keys reach the config, and the rule picks what it says."""
import pandas as pd
import pytest

from tgdfer.config import load_config
from tgdfer_study.tune import DESIGN_GRID, GRID, TRAINING_GRID, choose, expand


def test_alias_sets_every_field():
    ov = expand({"train.lr": 3e-4, "model.mil_lambda": 0.25})
    assert ov == {"train.lr_head": 3e-4, "train.lr_prompt": 3e-4, "model.mil_lambda": 0.25}
    cfg = load_config("tgdfer-tiny", "tgdfer", ov)
    assert (cfg.train.lr_head, cfg.train.lr_prompt, cfg.model.mil_lambda) == (3e-4, 3e-4, 0.25)


@pytest.mark.parametrize("grid", [GRID, DESIGN_GRID, TRAINING_GRID])
def test_every_grid_setting_is_a_config(grid):
    for key, values in grid.items():
        for v in values:
            load_config("tgdfer-tiny", "tgdfer", expand({key: v}))      # raises on an unknown field


def test_rule_reads_clip_labels_only_a_tie_goes_to_the_first_listed():
    rows = []
    for lr, uar, auc in [(1e-3, 0.700, 0.60), (3e-4, 0.705, 0.95), (3e-3, 0.650, 0.99)]:
        for fold in (1, 2):
            for seed in (0, 1):
                rows.append(dict(lr=lr, fold=fold, seed=seed, val_uar=uar + 0.001 * seed, val_war=uar,
                                 val_frame_auc=auc))
    s = choose(pd.DataFrame(rows), {"train.lr": TRAINING_GRID["train.lr"]})
    assert s.loc[s.chosen, "lr"].item() == 1e-3        # tied within 1 UAR point: the first listed, not the higher AUC
    rows = [dict(r, val_uar=0.6) if r["lr"] == 1e-3 else r for r in rows]
    s = choose(pd.DataFrame(rows), {"train.lr": TRAINING_GRID["train.lr"]})
    assert s.loc[s.chosen, "lr"].item() == 3e-4        # out of the tie: the best UAR


def test_equal_tuning_chooses_one_setting_by_the_mean_over_variants():
    import pandas as pd

    from tgdfer_study.tune_equal import GRID, choose

    rows = []
    for v, (a, b) in {"tgdfer": (0.50, 0.56), "no-text": (0.50, 0.40), "mil": (0.50, 0.52)}.items():
        for lr, epochs, uar in ((1e-3, 8, a), (3e-3, 8, b), (1e-3, 12, a - 0.001), (3e-3, 12, 0.1)):
            rows += [dict(variant=v, lr=lr, epochs=epochs, fold=f, seed=0, val_uar=uar, val_war=uar, val_frame_auc=0.6)
                     for f in (1, 2)]
    per_setting, per_variant = choose(pd.DataFrame(rows), GRID)
    chosen = per_setting[per_setting.chosen].iloc[0]
    # TG-DFER alone would take lr 3e-3 (0.56); over all variants lr 1e-3 wins (0.50 against 0.493)
    assert (chosen.lr, chosen.epochs) == (1e-3, 8) and per_setting.chosen.sum() == 1
    assert len(per_variant) == 12
