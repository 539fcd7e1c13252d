"""tgdfer_study: the evidence behind tgdfer's README, on the generated benchmark.

The protocol (`protocol.json`: draws, folds, seeds), the demo and the regeneration of the committed records (`demo.py`),
the run pool and the feature-cache warm-up (`run_pool.py`, `cache_service.py`), tuning (`tune.py`, `tune_equal.py`,
`tuning_store.py`), power studies (`power_study.py`), and the paper's tables, claims and sealed draws (`report/`).
It reads the checkout (`paper/` plans, `results/` records) and uses `tgdfer` as any user would; `tgdfer` never
imports it. Command line: `python -m tgdfer_study --help`.
"""
