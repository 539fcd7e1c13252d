"""Rendering speed of the generated benchmark: clips a second in one process, split into drawing the frames and
encoding/writing their JPEG files (the protocol's draw settings, configs/protocol.json). Prints numbers; times nothing
in the tests.

    python benchmarks/render.py [--clips 200] [--draw development]
"""
from __future__ import annotations

import argparse
import platform
import tempfile
import time
from pathlib import Path

from tgdfer_study.protocol import PROTOCOL
from tgdfer.synth import generate as g


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--draw", default="development")
    a = ap.parse_args()
    cfg = PROTOCOL.generate_config(a.draw)
    rows = g._plan_heldout(cfg).sample(n=a.clips, random_state=0).to_dict("records")
    names = g.class_names("dfew")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        (out / "Clip" / "original").mkdir(parents=True)
        t0 = time.perf_counter()
        frames = sum(len(g.render_clip(int(r["video_name"]), names[int(r["label"]) - 1], int(r["identity"]),
                                       int(r["num_frames"]), cfg)[0]) for r in rows)
        draw = time.perf_counter() - t0
        t0 = time.perf_counter()
        for r in rows:
            g._render_and_write((out, r, cfg))
        both = time.perf_counter() - t0
    print(f"{platform.processor() or platform.machine()}; {a.clips} clips ({frames} frames) of the {a.draw} draw, one process")
    print(f"draw frames: {a.clips / draw:.1f} clips/s ({draw / frames * 1e3:.2f} ms a frame)")
    print(f"draw + write JPEGs: {a.clips / both:.1f} clips/s (writing {max(both - draw, 0) / frames * 1e3:.2f} ms a frame)")


if __name__ == "__main__":
    main()
