"""`prepare` end to end (report, annotation files, every problem named) and the command line."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from tgdfer.data import prepare, read_annotation


def test_prepare_writes_annotations_and_counts(dfew_tree, tmp_path):
    rep = prepare("dfew", dfew_tree, tmp_path / "out")
    assert rep.ok, rep.to_text()
    t = read_annotation(tmp_path / "out" / "DFEW_set_1_test.txt")
    assert list(t.num_frames) == [11, 16] and list(t.label) == [0, 5]
    counts = rep.count_table()
    assert int(counts.loc[(1, "test"), "total"]) == 2 and int(counts.loc[(1, "train"), "total"]) == 8
    assert any("subset of DFEW" in w for w in rep.warnings)
    assert json.loads((tmp_path / "out" / "report.json").read_text())["ok"] is True


def test_prepare_names_every_media_problem(dfew_tree, tmp_path):
    shutil.rmtree(dfew_tree / "Clip" / "clip_224x224" / "00003")                      # missing folder
    for f in (dfew_tree / "Clip" / "clip_224x224" / "00004").iterdir():            # empty folder
        f.unlink()
    rep = prepare("dfew", dfew_tree, tmp_path / "out")
    text = rep.to_text()
    assert not rep.ok
    assert "frame folder not found" in text and "00003" in text
    assert "holds no images" in text and "00004" in text
    assert "fix:" in text


def test_prepare_corrupt_video_and_missing_videos(dfew_tree, tmp_path):
    (dfew_tree / "Clip" / "original" / "00002.mp4").write_bytes(b"\x00" * 300)
    (dfew_tree / "Clip" / "original" / "00005.mp4").unlink()
    rep = prepare("dfew", dfew_tree, tmp_path / "out", media="video")
    text = rep.to_text()
    assert "cannot decode video" in text and "00002.mp4" in text
    assert "video file not found" in text and "00005.mp4" in text


def test_prepare_zero_based_csv(dfew_tree, tmp_path):
    p = dfew_tree / "EmoLabel_DataSplit" / "test(single-labeled)" / "set_4.csv"
    p.write_text("video_name,label\n4,0\n9,2\n")
    rep = prepare("dfew", dfew_tree, tmp_path / "out")
    assert not rep.ok and "set_4.csv" in rep.to_text() and "1-based" in rep.to_text()


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "tgdfer", *args], capture_output=True, text=True, cwd=cwd, timeout=120)


def test_cli_help_lists_commands_and_each_has_help(capsys):
    from tgdfer.cli import build_parser

    r = run_cli("--help")                                   # the entry point, once; each command's help in-process
    assert r.returncode == 0
    commands = ["generate", "prepare", "train", "evaluate", "predict", "report"]
    for c in commands:
        assert c in r.stdout
        with pytest.raises(SystemExit) as e:
            build_parser().parse_args([c, "--help"])
        assert e.value.code == 0 and "usage:" in capsys.readouterr().out, c


def test_cli_prepare_error_is_a_message_not_a_traceback(tmp_path):
    r = run_cli("prepare", "--dataset", "dfew", "--root", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    assert r.returncode == 1
    assert "split file not found" in r.stdout and "Traceback" not in r.stdout + r.stderr


def test_cli_generate_refuses_odd_size(tmp_path):
    r = run_cli("generate", "--out", str(tmp_path / "g"), "--clips", "3", "--size", "33")
    assert r.returncode == 2 and "even" in r.stderr and "Traceback" not in r.stderr
