"""Class difficulty against the published per-class table: means, chance, rank correlation."""
import json

from tgdfer_study.report.class_difficulty import class_recall, class_recall_markdown, reference


def _run(tmp_path, name, recall):
    d = tmp_path / name
    d.mkdir()
    (d / "metrics.json").write_text(json.dumps({"last": {"recall": recall}}))
    return d


def test_class_recall_order_and_chance(tmp_path):
    ref = reference()["recall"]
    same = {c: v / 100 for c, v in ref.items()}                      # the reference's own order
    flipped = {c: (100 - v) / 100 for c, v in ref.items()}           # the reverse order
    r = class_recall([_run(tmp_path, "a", same), _run(tmp_path, "b", same)])
    assert r["spearman"] == 1.0 and r["at_or_below_chance"] == [] and r["runs"] == 2
    r = class_recall([_run(tmp_path, "c", flipped)])
    assert r["spearman"] == -1.0
    low = dict(same, disgust=0.1)
    r = class_recall([_run(tmp_path, "d", low)])
    assert r["at_or_below_chance"] == ["disgust"] and r["mean_recall"]["disgust"] == 10.0
    assert "disgust" in class_recall_markdown(r)
