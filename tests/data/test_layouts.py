"""Readers of the official layouts, on small trees made here, including every bad input and its message."""
from __future__ import annotations

import pytest

from conftest import write_frames, write_video
from tgdfer.data import DataError, load_split, read_annotation, read_csv_table, write_annotation
from tgdfer.data.layouts import list_frames, natural_key


def test_dfew_official_layout(dfew_tree):
    t = load_split("dfew", dfew_tree, fold=2, split="test")
    assert list(t.columns) == ["clip_id", "path", "label", "num_frames", "split", "group"]
    assert list(t.clip_id) == ["00002", "00007"]                  # zero-padded to 5 digits
    assert list(t.label) == [1, 6]                                 # 1-based in the file, 0-based here
    assert t.path.iloc[0].endswith("Clip/clip_224x224/00002")
    train = load_split("dfew", dfew_tree, fold=2, split="train")
    assert len(train) == 8 and set(train.clip_id).isdisjoint(t.clip_id)


def test_relative_and_absolute_roots_give_the_same_paths(dfew_tree, monkeypatch):
    # the feature cache is keyed by clip path: `data/x` and `/abs/data/x` must name a clip the same way
    monkeypatch.chdir(dfew_tree.parent)
    rel = load_split("dfew", dfew_tree.name, fold=1, split="train")
    ab = load_split("dfew", dfew_tree, fold=1, split="train")
    assert list(rel.path) == list(ab.path) and rel.path.iloc[0].startswith(str(dfew_tree.resolve()))


def test_dfew_media_variants(dfew_tree):
    v = load_split("dfew", dfew_tree, 1, "test", media="video")
    assert v.path.iloc[0].endswith("Clip/original/00001.mp4")
    f16 = load_split("dfew", dfew_tree, 1, "test", media="frames16")
    assert f16.path.iloc[0].endswith("Clip/clip_224x224_16f/00001")


def test_dfew_16f_unpadded_names_sort_naturally(tmp_path):
    folder = write_frames(tmp_path / "00001", 16, pattern="{i}.jpg")
    names = [p.name for p in list_frames(folder)]
    assert names[:3] == ["1.jpg", "2.jpg", "3.jpg"] and names[-1] == "16.jpg"
    assert sorted(["10.jpg", "2.jpg", "1.jpg"], key=natural_key) == ["1.jpg", "2.jpg", "10.jpg"]


def _csv(root, text, split="train", k=1):
    p = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)" / f"set_{k}.csv"
    p.write_text(text)
    return p


def test_dfew_zero_based_labels_are_refused_with_the_fix(dfew_tree):
    _csv(dfew_tree, "video_name,label\n1,0\n2,3\n")
    with pytest.raises(DataError) as e:
        load_split("dfew", dfew_tree, 1, "train")
    msg = str(e.value)
    assert "set_1.csv" in msg and "1-based" in msg and "--label-base 0" in msg
    t = load_split("dfew", dfew_tree, 1, "train", label_base=0)     # accepted when declared
    assert list(t.label) == [0, 3]


def test_dfew_wrong_header(dfew_tree):
    _csv(dfew_tree, "clip,emotion\n1,1\n")
    with pytest.raises(DataError, match="expected 'video_name,label'"):
        load_split("dfew", dfew_tree, 1, "train")


def test_dfew_label_out_of_range_and_non_integer(dfew_tree):
    _csv(dfew_tree, "video_name,label\n1,8\n")
    with pytest.raises(DataError, match=r"line 2: label 8 is outside 1\.\.7"):
        load_split("dfew", dfew_tree, 1, "train")
    _csv(dfew_tree, "video_name,label\nabc,1\n")
    with pytest.raises(DataError, match="must be integers"):
        load_split("dfew", dfew_tree, 1, "train")


def test_dfew_duplicates_and_missing_file(dfew_tree, tmp_path):
    _csv(dfew_tree, "video_name,label\n1,1\n1,1\n")
    with pytest.raises(DataError, match="listed 2 times"):
        load_split("dfew", dfew_tree, 1, "train")
    with pytest.raises(DataError, match="split file not found") as e:
        load_split("dfew", tmp_path / "nowhere", 1, "train")
    assert "EmoLabel_DataSplit" in str(e.value)


def test_bad_fold_and_split(dfew_tree):
    with pytest.raises(ValueError, match="fold must be 1..5"):
        load_split("dfew", dfew_tree, 6, "train")
    with pytest.raises(ValueError, match="split must be one of"):
        load_split("dfew", dfew_tree, 1, "val")
    with pytest.raises(ValueError, match="unknown dataset"):
        load_split("dfw", dfew_tree, 1, "train")


def make_ferv(root, lines_train, lines_test=("Crime/Angry/0063 Angry",)):
    d = root / "4_setups" / "All_scenes"
    d.mkdir(parents=True)
    (d / "train_All.csv").write_text("\n".join(lines_train) + "\n")
    (d / "test_All.csv").write_text("\n".join(lines_test) + "\n")
    for line in list(lines_train) + list(lines_test):
        write_frames(root / "2_ClipsforFaceCrop" / line.split()[0], 9)
    return root


def test_ferv39k(tmp_path):
    root = make_ferv(tmp_path / "FERV39k", ["Action/Happy/0267 Happy", "Crime/Fear/0001 Fear"])
    t = load_split("ferv39k", root, 1, "train")
    assert list(t.label) == [0, 6] and list(t.group) == ["Action", "Crime"]
    assert t.path.iloc[0].endswith("2_ClipsforFaceCrop/Action/Happy/0267")
    with pytest.raises(ValueError, match="one fixed train/test split"):
        load_split("ferv39k", root, 2, "train")


def test_ferv39k_header_line_is_named(tmp_path):
    root = tmp_path / "F"
    (root / "4_setups" / "All_scenes").mkdir(parents=True)
    (root / "4_setups" / "All_scenes" / "train_All.csv").write_text("path label\nAction/Happy/0267 Happy\n")
    with pytest.raises(DataError, match="remove the header line"):
        load_split("ferv39k", root, 1, "train")


def test_mafw(tmp_path):
    root = tmp_path / "MAFW"
    d = root / "split" / "single" / "no_caption" / "set_1"
    d.mkdir(parents=True)
    (d / "train.txt").write_text("00025.mp4 anger\n00026.mp4 helplessness\n")
    (d / "test.txt").write_text("00027.mp4 happiness\n")
    t = load_split("mafw", root, 1, "train")
    assert list(t.label) == [3, 9] and t.path.iloc[0].endswith("data/frames/00025")
    assert load_split("mafw", root, 1, "train", media="video").path.iloc[0].endswith("data/clips/00025.mp4")
    (d / "test.txt").write_text("00027.mp4 joy\n")
    with pytest.raises(DataError, match="line 1"):
        load_split("mafw", root, 1, "test")


def test_annotation_roundtrip_and_rebase(tmp_path):
    f = tmp_path / "DFEW_set_1_train.txt"
    f.write_text("/data/someone/DFEW/DFEW_Frame_Face/02522 66 5\n/data/someone/DFEW/DFEW_Frame_Face/02536 65 5\n")
    t = read_annotation(f, root=tmp_path / "frames")
    assert list(t.clip_id) == ["02522", "02536"] and t.path.iloc[0] == str(tmp_path / "frames" / "02522")
    assert list(t.num_frames) == [66, 65] and list(t.label) == [5, 5]
    out = write_annotation(t, tmp_path / "out" / "DFEW_set_1_test.txt")
    back = read_annotation(out)
    assert list(back.num_frames) == [66, 65] and list(back.clip_id) == ["02522", "02536"]
    f.write_text("/x/1 10\n")
    with pytest.raises(DataError, match="expected '<frame_dir> <num_frames> <label>'"):
        read_annotation(f)


def test_generic_csv(tmp_path):
    write_video(tmp_path / "clips" / "a.mp4", 12)
    write_frames(tmp_path / "clips" / "b", 5)
    csv = tmp_path / "my.csv"
    csv.write_text("path,label,split,group\nclips/a.mp4,Happy,train,p1\nclips/b,3,test,p2\n")
    t = read_csv_table(csv)
    assert list(t.label) == [0, 3] and list(t.split) == ["train", "test"] and list(t.group) == ["p1", "p2"]
    assert t.path.iloc[0] == str(tmp_path / "clips" / "a.mp4")
    assert list(load_split("csv", csv, 1, "test").clip_id) == ["b"]
    csv.write_text("file,label\nclips/a.mp4,1\n")
    with pytest.raises(DataError, match="needs the columns path,label"):
        read_csv_table(csv)
    csv.write_text("path,label\nclips/a.mp4,7\nclips/b,1\n")
    with pytest.raises(DataError, match="look 1-based"):
        read_csv_table(csv)
    csv.write_text("path,label\nclips/a.mp4,joy\n")
    with pytest.raises(DataError, match="unknown class 'joy'"):
        read_csv_table(csv)
    csv.write_text("path,label\nclips/a.mp4,happy\n")
    with pytest.raises(DataError, match="no split column"):
        load_split("csv", csv, 1, "train")


def test_real_dfew_split_lists_rebuild_official_csvs(tmp_path):
    """The real 5-fold lists (../shared/splits/dfew) -> official 1-based CSVs -> the official reader."""
    src = pytest.importorskip("conftest").SHARED / "splits" / "dfew"
    if not src.is_dir():
        pytest.skip("../shared/splits/dfew is not beside this checkout")
    from tgdfer.classes import published_sizes

    root = tmp_path / "DFEW"
    for k in range(1, 6):
        for split in ("train", "test"):
            t = read_annotation(src / f"DFEW_set_{k}_{split}.txt")
            d = root / "EmoLabel_DataSplit" / f"{split}(single-labeled)"
            d.mkdir(parents=True, exist_ok=True)
            (d / f"set_{k}.csv").write_text("video_name,label\n" + "".join(
                f"{int(c)},{lab + 1}\n" for c, lab in zip(t.clip_id, t.label)))
    sizes = {k: (len(load_split("dfew", root, k, "train")), len(load_split("dfew", root, k, "test"))) for k in range(1, 6)}
    assert sizes == published_sizes("dfew")
    test1 = load_split("dfew", root, 1, "test")
    assert int((test1.label == 5).sum()) == 29                     # 29 disgust clips in fold-1 test
