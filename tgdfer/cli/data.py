"""Commands on data: render the generated benchmark, validate a dataset, face-crop raw video."""
from __future__ import annotations

import sys

from ..config import CROP_SCALE
from .common import add_media_args


def _parser_generate(sub) -> None:
    g = sub.add_parser("generate", help="render the generated benchmark in the official DFEW layout",
                       description="Render the generated benchmark (procedural faces, FACS action units, frame-level "
                                   "ground truth) in the official DFEW layout.")
    g.add_argument("--out", required=True, help="output folder")
    g.add_argument("--clips", type=int, default=700, help="number of clips (default 700)")
    g.add_argument("--size", type=int, default=112, help="frame side in pixels, even (default 112)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--balanced", action="store_true", help="equal class frequencies instead of DFEW's")
    g.add_argument("--scene", action="store_true", help="small faces inside a larger moving scene (raw-video style)")
    g.add_argument("--no-videos", action="store_true", help="skip the mp4 originals")
    g.add_argument("--replica", default="", help="folder of DFER-CLIP split lists: render their real clip ids, "
                                                 "lengths, labels and folds (with --clips: a random subset)")
    g.add_argument("--placement", default="centre", choices=["centre", "legacy"],
                   help="where the expression sits: its centre uniform over the clip (default), or format 1's")
    g.add_argument("--min-per-class", dest="min_per_class", type=int, default=0,
                   help="at least this many clips a class (rare classes: enough test clips a fold)")
    g.add_argument("--expressions", default="prototype", choices=["prototype", "distribution"],
                   help="prototype: every clip of a class moves its EMFACS prototype (format 2, default); distribution: "
                        "a variant drawn from tgdfer/assets/expressions.json with missing, weak, extra and one-sided "
                        "units (format 3)")
    g.add_argument("--test-per-class", dest="test_per_class", type=int, default=0,
                   help="render each fold's test split apart: this many clips of every class from people who appear "
                        "in no training split (default 0: DFEW-style folds)")
    g.add_argument("--independent", action="store_true",
                   help="with --test-per-class: each fold trains on its own draw of --clips clips from its own people "
                        "(folds share no training clip), instead of DFEW-style folds of one pool")
    g.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    g.add_argument("--overwrite", action="store_true", help="replace an existing set made with other settings")
    g.set_defaults(func=_cmd_generate)


def _cmd_generate(a) -> int:
    from ..synth.generate import GenerateConfig, generate   # late: start-up time

    cfg = GenerateConfig(clips=a.clips, size=a.size, seed=a.seed, balanced=a.balanced, scene=a.scene,
                         videos=not a.no_videos, replica=a.replica or "", placement=a.placement,
                         min_per_class=a.min_per_class, expressions=a.expressions,
                         test_per_class=a.test_per_class, independent=a.independent)
    out = generate(a.out, cfg, workers=a.workers, overwrite=a.overwrite)
    print(f"benchmark ready at {out}")
    return 0


def _parser_prepare(sub) -> None:
    r = sub.add_parser("prepare", help="validate a dataset and write DFER-CLIP annotation files",
                       description="Validate a dataset in its official layout, count clips per fold and class, compare "
                                   "with the published sizes and write DFER-CLIP-format annotation files.")
    r.add_argument("--dataset", required=True, choices=["dfew", "ferv39k", "mafw", "csv"])
    r.add_argument("--root", required=True, help="dataset folder as downloaded (csv: the CSV file)")
    r.add_argument("--out", required=True, help="folder for annotation files and the report")
    add_media_args(r)
    r.add_argument("--no-media-check", action="store_true", help="only read the split files")
    r.set_defaults(func=_cmd_prepare)


def _cmd_prepare(a) -> int:
    from ..data.prepare import prepare                      # late: start-up time

    rep = prepare(a.dataset, a.root, a.out, media=a.media, label_base=a.label_base, check_media=not a.no_media_check)
    print(rep.to_text())
    return 0 if rep.ok else 1


def _parser_faces(sub) -> None:
    fa = sub.add_parser("faces", help="detect, track, align and crop faces of raw videos (DFEW naming)",
                        description="Face-crop raw videos or frame folders: detect the face in every frame (OpenCV Haar "
                                    "cascades, offline), keep one smoothed track, align by the eyes when found, crop a "
                                    "square --crop-scale times the face box, resize, and write clip_224x224/<id>/<id>_<frame>.jpg plus clips.csv for "
                                    "`prepare --dataset csv`. Clips without a face are listed, never dropped silently.")
    fa.add_argument("input", help="a video file, a frame folder, or a CSV (path,label[,split,group]) of them")
    fa.add_argument("--out", required=True)
    fa.add_argument("--size", type=int, default=224, help="crop side (default 224)")
    fa.add_argument("--crop-scale", dest="crop_scale", type=float, default=None,
                    help=f"crop side as a multiple of the detected face box side (default {CROP_SCALE}: DFEW's framing, "
                         "forehead to chin)")
    fa.add_argument("--margin", type=float, default=None,
                    help="deprecated: margin per side; use --crop-scale (= 1 + 2 x margin; the old default 0.2 is 1.4)")
    fa.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    fa.add_argument("--detect-every", dest="detect_every", type=int, default=1,
                    help="run the detector every N frames (the track bridges the rest)")
    fa.add_argument("--label", default="", help="class of a single video or folder, written to clips.csv")
    fa.set_defaults(func=_cmd_faces)


def _cmd_faces(a) -> int:
    from ..data.faces import crop_scale_from_flags, extract_faces, faces_summary# late: start-up time

    crop_scale, note = crop_scale_from_flags(a.crop_scale, a.margin)
    if note:
        print(note, file=sys.stderr)
    reports = extract_faces(a.input, a.out, size=a.size, crop_scale=crop_scale, workers=a.workers,
                            detect_every=a.detect_every, label=a.label)
    print(faces_summary(reports, a.out))
    return 0


COMMANDS = (_parser_generate, _parser_prepare, _parser_faces)
