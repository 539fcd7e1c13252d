"""Descriptions are data: packaged, seeded derangements, or a user's file (JSON or plain text) with clear errors."""
from __future__ import annotations

import json
from collections import Counter

import pytest
import torch

from tgdfer.classes import class_names
from tgdfer.model import create_model
from tgdfer.model.descriptions import DescriptionsError, derangement, load_descriptions

DFEW = class_names("dfew")


def _json(tmp_path, classes, name="mine.json"):
    path = tmp_path / name
    path.write_text(json.dumps(classes))
    return path


def test_a_json_file_and_a_text_file_say_the_same(tmp_path):
    classes = {c: [f"{c} cue one", f"{c} cue two"] for c in DFEW}
    as_json = load_descriptions(str(_json(tmp_path, classes)), DFEW)
    txt = tmp_path / "mine.txt"
    txt.write_text("# my cues\n" + "\n\n".join(f"{c.capitalize() if c != 'happiness' else 'Happy'}:\n" +
                                              "\n".join(s) for c, s in classes.items()) + "\n")
    as_text = load_descriptions(str(txt), DFEW)
    assert as_json["classes"] == as_text["classes"] == classes        # aliases ('Happy') and case read as the class
    tagged = {c: [{"text": s, "units": [1]} for s in v] for c, v in classes.items()}
    assert load_descriptions(str(_json(tmp_path, {"classes": tagged}, "tagged.json")), DFEW)["classes"] == classes


@pytest.mark.parametrize("change, says", [
    (lambda d: d.pop("fear"), "class 'fear' is missing; fix: add"),
    (lambda d: d.update(contempt=["a smirk"]), "class 'contempt' is not one of the dataset's classes"),
    (lambda d: d.update(anger=[]), "class 'anger' has no sentence; fix: give it at least one"),
    (lambda d: d.update(anger="a frown"), "class 'anger' must have a list of sentences"),
])
def test_a_bad_file_is_refused_naming_the_file_the_class_and_the_fix(tmp_path, change, says):
    classes = {c: [f"{c} cue"] for c in DFEW}
    change(classes)
    path = _json(tmp_path, classes)
    with pytest.raises(DescriptionsError, match=says) as e:
        load_descriptions(str(path), DFEW)
    assert str(path) in str(e.value)


def test_unreadable_or_absent_files_say_so(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DescriptionsError, match="not valid JSON"):
        load_descriptions(str(bad), DFEW)
    with pytest.raises(DescriptionsError, match="no such descriptions file"):
        load_descriptions(str(tmp_path / "absent.txt"), DFEW)
    with pytest.raises(ValueError, match="descriptions must be one of"):
        load_descriptions("plain", DFEW)


def test_derangements_are_seeded_uniform_and_of_the_datasets_own_sentences():
    own = load_descriptions("au", DFEW)["classes"]
    for k in (1, 2, 3):
        d = load_descriptions(f"au-deranged:{k}", DFEW)["classes"]
        assert all(d[c] != own[c] for c in DFEW)                        # no class keeps its own sentences
        assert sorted(map(tuple, d.values())) == sorted(tuple(own[c]) for c in DFEW)   # the same sentences, moved
        assert d == load_descriptions(f"au-deranged:{k}", DFEW)["classes"]             # seeded
    assert load_descriptions("au-deranged:1", DFEW) != load_descriptions("au-deranged:2", DFEW)
    # uniform over the 3 derangements of 3 classes (a chi-square bound that fails a fixed shift)
    counts = Counter(tuple(derangement(3, k)) for k in range(600))
    assert set(counts) == {(1, 2, 0), (2, 0, 1)} and min(counts.values()) > 240


def test_a_users_descriptions_travel_with_the_checkpoint(tmp_path):
    from tgdfer.config import load_config
    from tgdfer.engine.checkpoint import model_from, read_checkpoint, save_checkpoint

    path = _json(tmp_path, {c: [f"a face of {c}"] for c in DFEW})
    over = {"pretrained": "none", "frames": 4, "descriptions": str(path)}
    torch.manual_seed(0)
    model = create_model("tgdfer-tiny", overrides=over)
    cfg = load_config("tgdfer-tiny", overrides={f"model.{k}": v for k, v in over.items()})
    save_checkpoint(tmp_path / "m.pt", model, cfg, {})
    path.unlink()                                                       # a colleague has the checkpoint, not the file
    torch.manual_seed(0)                      # the frozen tower is not saved: 'none' weights are drawn again alike
    again = model_from(read_checkpoint(tmp_path / "m.pt"))
    assert again.text_labels.descriptions["classes"] == model.text_labels.descriptions["classes"]
    with torch.no_grad():
        assert torch.allclose(again.label_features(), model.label_features())


def test_zero_shot_of_a_users_file_is_one_command(tmp_path, synth_root, capsys):
    from tgdfer.cli import main                                  # `python -m tgdfer zeroshot ...`, in this process

    good = _json(tmp_path, {c: [f"a face of {c}"] for c in DFEW})
    run = ["zeroshot", "--root", str(synth_root), "--config", "tgdfer-tiny"]
    assert main(run + ["--descriptions", str(good)]) == 0
    out = capsys.readouterr().out
    assert f"descriptions, {good}" in out and "UAR" in out
    bad = _json(tmp_path, {c: [f"a face of {c}"] for c in DFEW if c != "fear"}, "bad.json")
    assert main(run + ["--descriptions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "class 'fear' is missing" in err and "Traceback" not in err


def test_train_reads_a_users_file_and_refuses_a_bad_one_before_training(tmp_path, synth_root, capsys):
    from tgdfer.cli import main                                  # the command line in this process (start-up once)
    from tgdfer.engine.checkpoint import read_checkpoint

    good = _json(tmp_path, {c: [f"a face of {c}"] for c in DFEW})
    run = ["train", "--root", str(synth_root), "--fold", "1", "--max-steps", "1", "--batch-size", "8", "--workers", "0",
           "--runs-dir", str(tmp_path / "runs")]
    assert main(run + ["--descriptions", str(good)]) == 0
    (ck,) = (tmp_path / "runs").rglob("last.pt")
    assert "descriptions=" in str(ck.parent.parent)                        # the run folder names the file
    assert read_checkpoint(ck)["descriptions"]["classes"]["fear"] == ["a face of fear"]
    bad = _json(tmp_path, {c: [f"a face of {c}"] for c in DFEW if c != "fear"}, "bad.json")
    capsys.readouterr()
    assert main(run + ["--descriptions", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "class 'fear' is missing" in err and str(bad) in err and "Traceback" not in err
    assert len(list((tmp_path / "runs").rglob("last.pt"))) == 1              # refused before any training
