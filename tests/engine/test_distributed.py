"""Several processes, one run (CPU, torchrun's gloo backend): every variant and ablation value trains under DDP; two
processes of batch b give the weights of one process of batch 2b; evaluation in shares writes the files of one
process; an error on one rank ends every rank with its message; SLURM's variables (no RANK) form one group. One
torchrun launch (tests/engine/ddp_worker.py) does the two-process side of all of them."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import make_dfew
from tgdfer.config import load_config, load_variants
from tgdfer.engine.checkpoint import read_checkpoint, save_checkpoint
from tgdfer.engine.evaluate import evaluate
from tgdfer.engine.run import train
from tgdfer.model import create_model
from tgdfer.model.losses import tgdfer_loss
from tgdfer.seeding import seed_everything

HERE = Path(__file__).parent


def combos() -> list[tuple[str, dict]]:
    """Every variant x every value of every ablation axis, the image tower's modes and MIL's extreme weights."""
    v = load_variants()
    extra = [{"model.finetune": f} for f in ("frozen", "full", "last:1")] + \
            [{"model.mil_lambda": lam} for lam in (0.0, 1.0)]
    axes = [{ax["key"]: val} for ax in v["ablations"].values() for val in ax["values"]] + extra
    return [(name, ov) for name in v["variants"] for ov in [{}] + axes]


def test_every_variant_and_ablation_value_gives_every_trainable_parameter_a_gradient():
    checked, untrainable = 0, []
    for variant, ov in combos():
        cfg = load_config("tgdfer-tiny", variant, ov)
        torch.manual_seed(0)
        model = create_model(cfg).train()
        if not any(p.requires_grad for p in model.parameters()):
            untrainable.append((variant, ov))          # the engine refuses these with a clear error
            continue
        x = {"features": torch.randn(3, 16, model.backbone.embed_dim)} if model.backbone.frozen else \
            {"video": torch.randn(3, 16, 3, 64, 64)}
        tgdfer_loss(model(**x), torch.tensor([0, 1, 2]), cfg.loss)["loss"].backward()
        none = [n for n, p in model.named_parameters() if p.requires_grad and p.grad is None]
        assert not none, f"{variant} {ov}: no gradient for {none}"
        checked += 1
    assert checked >= 100
    assert untrainable == [("clip-meanpool", {"model.text": "classname"}), ("clip-meanpool", {"model.text": "descriptions"})]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SGD = {"train.optimizer": "sgd", "train.lr_head": 0.01, "train.lr_prompt": 0.01}   # the real-data configs' recipe


def _equal_overrides(b: int, accum: int, cw: bool, optimizer: dict) -> dict:
    return {"train.max_steps": 5, "train.global_batch": 2 * b * accum, "train.grad_accum": accum,
            "loss.class_weights": cw, "train.val_fraction": 0.0, "train.workers": 0, "train.epochs": 4, **optimizer}


# (accumulation, class weights, optimizer): SGD for the weights; AdamW (the tiny config's) for the predictions
EQUAL = [(accum, cw, "sgd") for accum in (1, 2) for cw in (False, True)] + [(1, True, "adamw")]
B = 4                                                               # per-GPU batch of the two-process runs


def _name(accum, cw, opt) -> str:
    return f"two-a{accum}-cw{int(cw)}-{opt}"


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    """A DFEW tree of 11 clips (fold 1 tests 3: an odd number, two batches of 2 and 1) and a copy whose clip 11 (the
    second batch, the second rank's) has unreadable frames; a checkpoint of the tiny model."""
    base = tmp_path_factory.mktemp("ddp_trees")
    clips = {i: (10 + i, (i - 1) % 7 + 1) for i in range(1, 12)}
    good = make_dfew(base / "DFEW", clips)
    bad = base / "DFEW_bad"
    shutil.copytree(good, bad)
    for f in (bad / "Clip" / "clip_224x224" / "00011").iterdir():
        f.write_bytes(b"not a jpeg")
    torch.manual_seed(0)
    cfg = load_config("tgdfer-tiny")
    ck = base / "ck" / "best.pt"
    save_checkpoint(ck, create_model(cfg), cfg, {"epoch": 1})
    return good, bad, ck


@pytest.fixture(scope="module")
def ddp(tmp_path_factory, synth_root, trees):
    """One two-process launch; returns ({rank: what it saw}, its arguments)."""
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]
    out = tmp_path_factory.mktemp("ddp")
    good, bad, ck = trees
    args = {"out": str(out), "synth": str(synth_root), "cache": str(out / "cache"), "combos": combos(),
            "equal_runs": [{"overrides": {**_equal_overrides(B, a, cw, SGD if o == "sgd" else {}), "train.batch_size": B},
                            "run_dir": str(out / _name(a, cw, o))} for a, cw, o in EQUAL],
            "evaluate": {"checkpoint": str(ck), "root": str(good), "out": str(out / "eval2"), "bad_root": str(bad),
                         "bad_out": str(out / "bad2")}}
    (out / "args.json").write_text(json.dumps(args))
    env = dict(os.environ, OMP_NUM_THREADS="1", TGDFER_PROGRESS="0")
    r = subprocess.run(torchrun + [str(HERE / "ddp_worker.py"), str(out / "args.json")], capture_output=True,
                       text=True, timeout=900, env=env, cwd=HERE)
    assert r.returncode == 0, r.stderr[-4000:]
    seen = {k: json.loads((out / f"rank{k}.json").read_text()) for k in (0, 1)}
    for k in (0, 1):
        assert "error" not in seen[k], seen[k]["error"]
    return seen, args


def test_torchrun_trains_every_variant_and_ablation_value(ddp):
    seen, args = ddp
    trainable = [[v, ov] for v, ov in args["combos"] if (v, ov) not in (
        ("clip-meanpool", {"model.text": "classname"}), ("clip-meanpool", {"model.text": "descriptions"}))]
    assert seen[0]["world"] == seen[1]["world"] == 2
    assert seen[0]["combos"] == seen[1]["combos"] == trainable
    print(f"\ntorchrun, 2 gloo processes: {len(trainable)} variant x ablation values trained on both ranks: "
          + "; ".join(f"{v} {ov or ''}".strip() for v, ov in trainable))


def _relative(diff: dict, ref: dict) -> float:
    """||diff|| / ||ref|| over every tensor together (a tensor whose true gradient is 0 stays near 0: per-tensor
    ratios of such tensors measure float noise, not the weights)."""
    return (sum(float(diff[k].double().pow(2).sum()) for k in diff) /
            sum(float(ref[k].double().pow(2).sum()) for k in ref)) ** 0.5


@pytest.mark.parametrize("accum,cw,opt", EQUAL)
def test_two_processes_give_the_weights_of_one(ddp, synth_root, accum, cw, opt, tmp_path):
    """2 processes x batch b = 1 process x batch 2b after 5 steps (fp32, dropout 0): SGD's weights to 1e-6 of their
    norm and their updates to 1e-4 of theirs; AdamW's predictions to 1e-4 (AdamW turns the float noise of gradients
    that are 0 in exact arithmetic, e.g. attention's key biases, into steps of the learning rate's size, in directions
    that change no output)."""
    seen, args = ddp
    two = Path(args["out"]) / _name(accum, cw, opt)
    over = {**_equal_overrides(B, accum, cw, SGD if opt == "sgd" else {}), "train.batch_size": 2 * B}
    one = train("dfew", synth_root, 1, "tgdfer-tiny", overrides=over, run_dir=tmp_path / "one", cache_dir=args["cache"],
                device="cpu", verbose=False)
    p1, p2 = json.loads((one.run_dir / "params.json").read_text()), json.loads((two / "params.json").read_text())
    assert p2["batch"] == {"world_size": 2, "per_gpu_batch": B, "grad_accum": accum, "global_batch": 2 * B * accum}
    assert p1["batch"] == {"world_size": 1, "per_gpu_batch": 2 * B, "grad_accum": accum, "global_batch": 2 * B * accum}
    assert one.metrics["steps"] == json.loads((two / "metrics.json").read_text())["steps"] == 5
    w1, w2 = read_checkpoint(one.run_dir / "last.pt")["model"], read_checkpoint(two / "last.pt")["model"]
    assert w1.keys() == w2.keys()
    if opt == "sgd":
        cfg = load_config("tgdfer-tiny", overrides=over)
        seed_everything(0)                                              # the runs' initial weights (seed 0)
        w0 = {k: v for k, v in create_model(cfg).state_dict().items() if k in w1}
        diff = {k: w1[k] - w2[k] for k in w1}
        assert _relative({k: w1[k] - w0[k] for k in w1}, w1) > 1e-3     # the weights moved
        rel, rel_update = _relative(diff, w1), _relative(diff, {k: w1[k] - w0[k] for k in w1})
        print(f"\n2 x {B} against 1 x {2 * B}, accumulation {accum}, class weights {cw}, SGD: relative difference "
              f"{rel:.1e} of the weights (<= 1e-6), {rel_update:.1e} of their update (<= 1e-4)")
        assert rel <= 1e-6 and rel_update <= 1e-4
    else:
        import numpy as np
        a, b = np.load(one.run_dir / "relevance.npz")["probs"], np.load(two / "relevance.npz")["probs"]
        print(f"\n2 x {B} against 1 x {2 * B}, accumulation {accum}, class weights {cw}, AdamW: predictions differ by "
              f"at most {np.abs(a - b).max():.1e} (<= 1e-4)")
        assert np.abs(a - b).max() <= 1e-4


def test_evaluation_in_shares_writes_the_files_of_one_process(ddp, trees, tmp_path):
    seen, args = ddp
    good, _, ck = trees
    res = evaluate(ck, "dfew", good, 1, "test", tmp_path / "eval1", batch_size=2, workers=0, device="cpu")
    assert len(res.clip_ids) == 3                                         # odd: batches of 2 and 1 on two ranks
    two = Path(args["evaluate"]["out"])
    for f in ("predictions.csv", "metrics.json"):
        assert (tmp_path / "eval1" / f).read_bytes() == (two / f).read_bytes(), f


def test_an_error_on_one_rank_ends_every_rank_with_its_message(ddp):
    seen, _ = ddp
    own, other = seen[1]["bad_batch"], seen[0]["bad_batch"]               # clip 11 is in rank 1's batch
    assert own.startswith("DataError") and "00011" in own
    assert other.startswith("RankFailed") and "rank 1" in other and "00011" in other


def test_a_finished_run_stops_every_rank(ddp):
    seen, _ = ddp
    for k in (0, 1):
        assert seen[k]["finished"].startswith("FileExistsError") and "already holds a finished run" in seen[k]["finished"]


def test_srun_variables_form_one_group_and_write_one_folder(synth_root, tmp_path):
    """Two processes started as `srun --ntasks 2` starts them: SLURM's variables, no RANK / WORLD_SIZE."""
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR")}
    env.update(SLURM_JOB_ID="4242", SLURM_NTASKS="2", SLURM_JOB_NUM_NODES="1", SLURM_JOB_NODELIST="localhost",
               SLURM_NODEID="0", MASTER_PORT=str(_free_port()), OMP_NUM_THREADS="1", TGDFER_PROGRESS="0")
    cmd = [sys.executable, "-m", "tgdfer", "train", "--root", str(synth_root), "--max-steps", "2", "--batch-size", "4",
           "--global-batch", "8", "--workers", "0", "--device", "cpu", "--runs-dir", str(tmp_path)]
    procs = [subprocess.Popen(cmd, env={**env, "SLURM_PROCID": str(r), "SLURM_LOCALID": str(r)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for r in (0, 1)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs[0][1][-2000:] + outs[1][1][-2000:]
    finished = list(tmp_path.rglob("metrics.json"))
    assert len(finished) == 1
    params = json.loads((finished[0].parent / "params.json").read_text())
    assert params["world_size"] == 2 and params["launcher"] == "slurm" and params["batch"]["per_gpu_batch"] == 4
