"""Every claim across the sealed draws that carry it: each draw's verdict under its own committed plan, and whether
the verdict held on every one of them.

In: the sealed sets (the evaluation draw's records and plan, and each draw with its own design: `replication.SETS`).
Out: `paper/tables/claims_across_draws.md`, one row a claim (by its id in the plans).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from tgdfer.io import atomic_write_text
from tgdfer.paths import repo_root
from tgdfer.report import stats
from tgdfer.report.tables import markdown_table, use_design_of

from .claims import claims_table
from .plan import PLAN, load_plan
from .replication import SETS


def sealed_sets(results: Path) -> list[tuple[str, Path, Path]]:
    """(draw, records folder, plan file) of every sealed set whose records and plan exist."""
    out = [("evaluation", results, repo_root() / PLAN)]
    out += [(s.draw, results / s.draw, repo_root() / s.plan_file) for s in SETS]
    return [(d, r, p) for d, r, p in out if (r / "records.csv").is_file() and p.is_file()]


def verdicts(records: Path, plan_file: Path) -> dict[str, tuple[str, str]]:
    """{claim id: (claim, claim verdict)} of one sealed set under its own plan."""
    use_design_of(records)
    plan = load_plan(plan_file)
    table = claims_table(pd.read_csv(records / "records.csv"), plan=plan, with_sensitivity=False)
    firsts = table[table["claim of the paper"] != ""]
    ids = [c.id for c in plan.claims]
    return {i: (row["claim of the paper"], row["claim verdict"].strip("*")) for i, (_, row) in zip(ids, firsts.iterrows())}


def across_table(results: str | Path) -> pd.DataFrame:
    sets = sealed_sets(Path(results))
    per = {draw: verdicts(rec, plan) for draw, rec, plan in sets}
    stats.use_design(False)
    ids = list(dict.fromkeys(i for v in per.values() for i in v))
    rows = []
    for i in ids:
        claim = next(v[i][0] for v in per.values() if i in v)
        got = {d: per[d][i][1] for d in per if i in per[d]}
        held = ("one draw only" if len(got) == 1 else
                "yes" if len(set(got.values())) == 1 else "no: " + ", ".join(f"{d} {w}" for d, w in got.items()))
        rows.append({"claim": claim, "id": f"`{i}`", **{d: got.get(d, "-") for d in per},
                     "held on every sealed draw that carries it": held})
    return pd.DataFrame(rows)


def held_by_claim(results: str | Path) -> dict[str, str]:
    """{claim id: whether its verdict held on every sealed draw that carries it, and where it did not}."""
    t = across_table(results)
    return {} if t.empty else dict(zip(t["id"].str.strip("`"), t["held on every sealed draw that carries it"]))


def write_across(results: str | Path, tables: str | Path) -> dict[str, Path]:
    t = across_table(results)
    if t.empty:
        return {}
    text = ("Every claim on every sealed draw that carries it: each draw's claim verdict under its own analysis plan, "
            "committed before that draw was rendered ('-': the draw's plan does not carry the claim). A verdict that "
            "differs between draws is read as on the boundary of what the designs could tell.\n\n" + markdown_table(t))
    return {"claims_across_draws": atomic_write_text(Path(tables) / "claims_across_draws.md", text)}
