"""Zero-shot check of a backbone: do its text and image towers agree on the emotions?

In: a dataset (on the generated benchmark, each clip's apex frame from its ground truth; elsewhere its middle frame)
and a config. Out: UAR and WAR of classifying those frames by the cosine between the frame's image feature and each
class's text feature, with no training at all; text modes `classname` ("a face showing <name>") and `descriptions`
(the packaged facial cues, or a descriptions file of your own). TG-DFER's premise is a vision-language model whose
towers agree: near chance, text guidance has nothing to guide with.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..data.decode import ClipReader
from ..data.ground_truth import clip_table
from ..data.layouts import load_split
from ..data.transforms import ClipTransform
from ..classes import class_names
from ..metrics import clip_metrics
from ..model import create_model


def apex_frames(root, table) -> np.ndarray:
    """[N, H, W, 3]: each clip's apex frame (middle of the apex span; the middle frame of neutral clips, and of every
    clip of a dataset without frame-level ground truth)."""
    gt = clip_table(root)
    gt = gt.set_index("clip_id") if gt is not None else None
    out = []
    for cid, path in zip(table["clip_id"], table["path"]):
        r = gt.loc[cid] if gt is not None else {"apex_start": -1}
        reader = ClipReader(path)
        if r["apex_start"] >= 0:
            t = int(np.clip((r["apex_start"] + r["apex_end"]) // 2, 0, reader.num_frames - 1))
        else:
            t = reader.num_frames // 2
        out.append(reader.read(np.array([t]))[0])
    return np.stack(out)


PROMPTS = {"class names": {"text": "classname"},
           "descriptions, plain English (facs)": {"text": "descriptions", "descriptions": "facs"},
           "descriptions, action-unit captions (au)": {"text": "descriptions", "descriptions": "au"}}


@torch.no_grad()
def zero_shot(root, config: str = "tgdfer-tiny", folds=(1,), split: str = "train", overrides: dict | None = None,
              *, prompts: dict | None = None, dataset: str = "dfew") -> dict:
    """{prompt set: {'uar', 'war', 'recall'}} over the `split` clips of `folds` (each clip once), plus chance.
    `prompts`: {name: config overrides} (default `PROMPTS`; `with_file(PATH)` adds a descriptions file's)."""
    table = pd.concat([load_split(dataset, root, f, split) for f in folds]).drop_duplicates("clip_id")
    frames = apex_frames(root, table)                                                   # [N, H, W, 3]
    out = {"chance_uar": 1 / len(class_names(dataset)), "clips": len(table), "split": split, "folds": list(folds),
           "config": config}
    for name, prompt in (prompts or PROMPTS).items():
        model = create_model(config, overrides={**(overrides or {}), **prompt}, dataset=dataset).eval()
        tf = ClipTransform(model.backbone.image_size, train=False, mean=model.backbone.mean, std=model.backbone.std)
        x = tf(frames).unsqueeze(0)                                                     # [1, N, 3, S, S]
        f = torch.cat([model.backbone.encode_frames(x[:, i:i + 256]) for i in range(0, x.shape[1], 256)], 1)[0]
        E = model.label_features()                                                      # [C, D]
        sim = torch.nn.functional.normalize(f.float(), dim=-1) @ torch.nn.functional.normalize(E.float(), dim=-1).T
        m = clip_metrics(table["label"].to_numpy(), sim.argmax(1).numpy(), len(model.class_names))
        out[name] = {"uar": m["uar"], "war": m["war"],
                     "recall": {c: float(r) for c, r in zip(model.class_names, m["recall"])}}
    return out


def with_file(path) -> dict:
    """The prompt sets of `zero_shot` with a descriptions file of your own beside the packaged ones."""
    return {**PROMPTS, f"descriptions, {path}": {"text": "descriptions", "descriptions": str(path)}}
