#!/usr/bin/env python3
"""Vision- and audio-encoder CPU throughput: omnirt beside transformers (PyTorch CPU), same run.

    /work/refenv/bin/python scripts/bench/encoders_vs_torch.py [--shape bench|tiny] [--threads N]
        [--runs R] [--weights bf16|f32] [--attn sdpa|eager] [--omnirt PATH] [--keep DIR]

What it does, in one process:
  1. `--shape bench` (default): builds `Qwen3OmniMoeVisionEncoder` and `Qwen3OmniMoeAudioEncoder`
     from their config classes with the RELEASED Qwen3-Omni-30B-A3B encoder dimensions but
     REDUCED DEPTH (see BENCH_VISION / BENCH_AUDIO below), random weights (fan-in scaled,
     rounded to bf16 like scripts/fixtures/tiny_model.py), float32, and saves them as a
     checkpoint directory with the real tensor names omnirt loads (`thinker.visual.*`,
     `thinker.audio_tower.*`) plus a config.json laid out like models/tiny-qwen3-omni/config.json.
     `--shape tiny` uses models/tiny-qwen3-omni as is (a quick smoke run).
  2. Runs `omnirt bench encoders --model DIR --json --save-outputs FILE` (through
     `cargo run --release --bin omnirt` unless `--omnirt PATH` names a built binary) with
     OMNIRT_THREADS=N. omnirt makes the deterministic inputs (pixel_values rows of N images of
     HxW pixels, log-mel features [128, S*100]) and saves them with its outputs.
  3. Times transformers on THOSE inputs with torch.set_num_threads(N) (same warm-up / run
     count, median), compares the outputs and prints one table.

Why reduced depth: on the 2-core machines this runs on, the full encoders (27 ViT blocks, 32
audio layers) take minutes per forward on each side. Every block of a ViT (and every layer of
the audio encoder) costs the same, so the per-layer cost is what is compared; both sides run
the identical reduced model on identical inputs. The non-repeated parts (patch embedding,
the 4 mergers of the ViT; the conv stack and projections of the audio encoder) weigh more in
the reduced model than in the full one, which the table states.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(REPO, "scripts", "fixtures"))

TINY_DIR = os.path.join(REPO, "models", "tiny-qwen3-omni")
SEED = 20261125

# Released Qwen3-Omni-30B-A3B encoder dims (docs: /work/shared/design/qwen3-omni.md §2.1) with
# depth 27 -> 4 blocks (DeepStack taps 8/16/24 -> 1/2/3) and 32 -> 4 audio layers.
BENCH_VISION = {
    "model_type": "qwen3_omni_moe_vision_encoder",
    "depth": 4,
    "hidden_size": 1152,
    "num_heads": 16,
    "intermediate_size": 4304,
    "hidden_act": "gelu_pytorch_tanh",
    "in_channels": 3,
    "in_chans": 3,
    "patch_size": 16,
    "spatial_patch_size": 16,
    "temporal_patch_size": 2,
    "spatial_merge_size": 2,
    "out_hidden_size": 2048,
    "num_position_embeddings": 2304,
    "image_size": 768,
    "deepstack_visual_indexes": [1, 2, 3],
    "apply_vit_abs_pos_embed": True,
    "tokens_per_second": 2,
    "initializer_range": 0.02,
}
BENCH_AUDIO = {
    "model_type": "qwen3_omni_moe_audio_encoder",
    "num_mel_bins": 128,
    "d_model": 1280,
    "encoder_layers": 4,
    "encoder_attention_heads": 20,
    "encoder_ffn_dim": 5120,
    "activation_function": "gelu",
    "downsample_hidden_size": 480,
    "output_dim": 2048,
    "n_window": 50,
    "n_window_infer": 800,
    "conv_chunksize": 500,
    "max_source_positions": 1500,
    "scale_embedding": False,
    "dropout": 0.0,
    "attention_dropout": 0.0,
    "activation_dropout": 0.0,
    "initializer_range": 0.02,
}
FULL_DEPTH = {"vision": 27, "audio": 32}

SHAPES = {
    # images, (H, W) pixels, audio seconds
    "bench": {"images": 2, "image_size": (448, 448), "audio_seconds": 10.0},
    "tiny": {"images": 2, "image_size": (128, 128), "audio_seconds": 10.0},
}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build_bench_checkpoint(directory: str, weights: str, attn: str):
    """Random bench-shape encoders (float32, bf16-representable values) saved under the real names."""
    import torch
    from safetensors.torch import save_file
    from transformers.models.qwen3_omni_moe import modeling_qwen3_omni_moe as m
    from transformers.models.qwen3_omni_moe.configuration_qwen3_omni_moe import (
        Qwen3OmniMoeAudioEncoderConfig,
        Qwen3OmniMoeVisionEncoderConfig,
    )

    import tiny_model

    with open(os.path.join(TINY_DIR, "config.json")) as f:
        cfg = json.load(f)
    cfg = copy.deepcopy(cfg)
    cfg["thinker_config"]["vision_config"] = dict(BENCH_VISION)
    cfg["thinker_config"]["audio_config"] = dict(BENCH_AUDIO)

    vcfg = Qwen3OmniMoeVisionEncoderConfig(**{k: v for k, v in BENCH_VISION.items() if k != "model_type"})
    acfg = Qwen3OmniMoeAudioEncoderConfig(**{k: v for k, v in BENCH_AUDIO.items() if k != "model_type"})
    vcfg._attn_implementation = attn
    acfg._attn_implementation = attn
    torch.manual_seed(SEED)
    visual = m.Qwen3OmniMoeVisionEncoder(vcfg).float().eval()
    audio = m.Qwen3OmniMoeAudioEncoder(acfg).float().eval()
    tiny_model.init_params(visual, SEED)
    tiny_model.init_params(audio, SEED + 1)

    dtype = torch.bfloat16 if weights == "bf16" else torch.float32
    tensors = {}
    for prefix, mod in (("thinker.visual", visual), ("thinker.audio_tower", audio)):
        for name, p in mod.named_parameters():
            tensors[f"{prefix}.{name}"] = p.detach().to(dtype).contiguous()
    os.makedirs(directory, exist_ok=True)
    save_file(tensors, os.path.join(directory, "model.safetensors"), metadata={"format": "pt"})
    tiny_model.write_config(cfg, directory)
    return visual, audio


def load_tiny(attn: str):
    import torch
    from transformers.models.qwen3_omni_moe import modeling_qwen3_omni_moe as m

    import tiny_model

    model = tiny_model.load_checkpoint(TINY_DIR, torch.float32)
    visual = next(x for x in model.modules() if isinstance(x, m.Qwen3OmniMoeVisionEncoder))
    audio = next(x for x in model.modules() if isinstance(x, m.Qwen3OmniMoeAudioEncoder))
    for mod in (visual, audio):
        mod.config._attn_implementation = attn
    return visual, audio


def time_torch(fn, warmup: int, runs: int, what: str):
    """(list of timed seconds, last output)."""
    import torch

    with torch.inference_mode():
        for i in range(warmup):
            log(f"  torch {what}: warm-up {i + 1}/{warmup}")
            fn()
        times, out = [], None
        for i in range(runs):
            t = time.perf_counter()
            out = fn()
            dt = time.perf_counter() - t
            log(f"  torch {what}: run {i + 1}/{runs} {dt * 1e3:.1f} ms")
            times.append(dt)
    return times, out


def diff(got, want):
    import torch

    got, want = got.double(), want.double()
    if got.shape != want.shape:
        return {"shape_mismatch": [list(got.shape), list(want.shape)]}
    d = (got - want).abs()
    scale = want.abs().max().item()
    return {
        "max_abs": d.max().item(),
        "max_ref": scale,
        "rel": d.max().item() / max(scale, 1e-30),
        "mean_abs": d.mean().item(),
        "cos": torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0).item(),
    }


def torch_op_cases(vcfg, acfg, shape):
    """{(encoder, op): fn} at the bench shape, as transformers runs them (f32 weights)."""
    import torch
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(1)

    def rnd(*s, scale=1.0):
        return (torch.rand(*s, generator=g) * 2 - 1) * scale

    cases = {}

    def lin(enc, name, m, k, n):
        x, w, b = rnd(m, k), rnd(n, k, scale=k ** -0.5), rnd(n, scale=0.1)
        cases[(enc, f"linear {name}")] = lambda: F.linear(x, w, b)

    def attn(enc, n, heads, d, segs):
        qkv = rnd(n, 3, heads, d)
        q, k, v = (qkv[:, i].transpose(0, 1)[None] for i in range(3))  # [1, heads, n, d] views

        def run():
            outs, at = [], 0
            for s in segs:
                outs.append(F.scaled_dot_product_attention(
                    q[:, :, at:at + s], k[:, :, at:at + s], v[:, :, at:at + s]))
                at += s
            return torch.cat(outs, dim=2)
        cases[(enc, "attention")] = run

    if shape["images"] > 0:
        h, w = shape["image_size"]
        p, mg = vcfg["patch_size"], vcfg["spatial_merge_size"]
        hp, wp = h // p, w // p
        n = shape["images"] * hp * wp
        d, inter, heads = vcfg["hidden_size"], vcfg["intermediate_size"], vcfg["num_heads"]
        hd = d // heads
        wide = d * mg * mg
        m = n // (mg * mg)
        lin("vision", "patch_embed", n, 3 * 2 * p * p, d)
        lin("vision", "qkv", n, d, 3 * d)
        lin("vision", "attn.proj", n, d, d)
        lin("vision", "mlp.fc1", n, d, inter)
        lin("vision", "mlp.fc2", n, inter, d)
        attn("vision", n, heads, hd, [hp * wp] * shape["images"])
        x4, cos, sin = rnd(n, 3, heads, hd), rnd(n, hd), rnd(n, hd)

        def rope():
            q = x4[:, 0].float()
            c, s_ = cos.unsqueeze(-2), sin.unsqueeze(-2)
            rot = torch.cat((-q[..., hd // 2:], q[..., : hd // 2]), dim=-1)
            return q * c + rot * s_
        cases[("vision", "rope (q or k, strided view)")] = rope
        xn, wn, bn = rnd(n, d), rnd(d), rnd(d)
        cases[("vision", "layer_norm")] = lambda: F.layer_norm(xn, (d,), wn, bn, 1e-6)
        xg = rnd(n, inter)
        cases[("vision", "gelu_tanh")] = lambda: F.gelu(xg, approximate="tanh")
        xa, ya = rnd(n, d), rnd(n, d)
        cases[("vision", "add (residual)")] = lambda: xa + ya
        lin("vision", "merger fc1", m, wide, wide)
        lin("vision", "merger fc2", m, wide, vcfg["out_hidden_size"])
        xm = rnd(m, wide)
        cases[("vision", "merger gelu_erf")] = lambda: F.gelu(xm)
    if shape["audio_seconds"] > 0:
        frames = int(round(shape["audio_seconds"] * 100))
        chunk = 2 * acfg["n_window"]
        b = -(-frames // chunk)
        width = chunk if frames >= chunk else frames
        cl = lambda x: (x + 1) // 2
        mel, ch = acfg["num_mel_bins"], acfg["downsample_hidden_size"]
        d, ffn, heads = acfg["d_model"], acfg["encoder_ffn_dim"], acfg["encoder_attention_heads"]
        f1, t1 = cl(mel), cl(width)
        f2, t2 = cl(f1), cl(t1)
        f3, t3 = cl(f2), cl(t2)
        for name, (ci, hh, ww) in (("conv2d1", (1, mel, width)), ("conv2d2", (ch, f1, t1)),
                                    ("conv2d3", (ch, f2, t2))):
            x, wt, bb = rnd(b, ci, hh, ww), rnd(ch, ci, 3, 3, scale=(9 * ci) ** -0.5), rnd(ch, scale=0.1)
            cases[("audio", f"conv2d {name}")] = (lambda x=x, wt=wt, bb=bb: F.conv2d(x, wt, bb, stride=2, padding=1))
        xc = rnd(b, ch, f1, t1)
        cases[("audio", "conv gelu_erf")] = lambda: F.gelu(xc)
        # tokens: full chunks give t3 each (the tail chunk fewer); omnirt's plan is the reference
        import transformers.models.qwen3_omni_moe.modeling_qwen3_omni_moe as mm
        n = int(mm._get_feat_extract_output_lengths(torch.tensor([frames]), acfg["n_window"])[0])
        lin("audio", "conv_out", b * t3, ch * f3, d)
        lin("audio", "q/k/v/out_proj", n, d, d)
        lin("audio", "fc1", n, d, ffn)
        lin("audio", "fc2", n, ffn, d)
        win = t3 * (acfg["n_window_infer"] // chunk)
        segs = [min(win, n - i) for i in range(0, n, win)]
        attn("audio", n, heads, d // heads, segs)
        xn, wn, bn = rnd(n, d), rnd(d), rnd(d)
        cases[("audio", "layer_norm")] = lambda: F.layer_norm(xn, (d,), wn, bn, 1e-5)
        xg = rnd(n, ffn)
        cases[("audio", "gelu_erf")] = lambda: F.gelu(xg)
        xa, ya = rnd(n, d), rnd(n, d)
        cases[("audio", "add (residual)")] = lambda: xa + ya
        lin("audio", "proj1", n, d, d)
        lin("audio", "proj2", n, d, acfg["output_dim"])
    return cases


def ops_breakdown(args, ckpt, shape, visual, audio) -> int:
    import torch

    with open(os.path.join(ckpt, "config.json")) as f:
        th = json.load(f)["thinker_config"]
    h, w = shape["image_size"]
    cmd = ([args.omnirt] if args.omnirt else ["cargo", "run", "--quiet", "--release", "--bin", "omnirt", "--"]) + [
        "bench", "encoders", "--model", ckpt, "--json", "--ops", "--no-limits", "--op-weights", args.weights,
        "--images", str(shape["images"]), "--image-size", f"{h}x{w}",
        "--audio-seconds", str(shape["audio_seconds"]), "--runs", str(max(3, args.runs))]
    torch_cases = torch_op_cases(th["vision_config"], th["audio_config"], shape)
    rounds = max(1, args.rounds)
    om, tt = {}, {}
    for rnd_i in range(rounds):
        log(f"ops round {rnd_i + 1}/{rounds}: omnirt")
        res = subprocess.run(cmd, cwd=REPO, env=dict(os.environ, OMNIRT_THREADS=str(args.threads)),
                             stdout=subprocess.PIPE, text=True)
        if res.returncode != 0:
            return 1
        rows = json.loads(res.stdout)["rows"]
        for r in rows:
            om.setdefault((r["encoder"], r["op"]), []).append(r["seconds"])
        log(f"ops round {rnd_i + 1}/{rounds}: torch")
        with torch.inference_mode():
            for key, fn in torch_cases.items():
                fn()
                ts = []
                for _ in range(max(3, args.runs)):
                    t = time.perf_counter()
                    fn()
                    ts.append(time.perf_counter() - t)
                tt.setdefault(key, []).append(statistics.median(ts))
    print(f"## Encoder ops one at a time: omnirt vs torch {torch.__version__} ({args.threads} threads, same run)\n")
    print(f"- host: {host_line(args.threads)}; {rounds} alternating rounds, per-op time = min over rounds of the "
          f"median of {max(3, args.runs)} calls")
    print(f"- omnirt Linear weights {args.weights}, torch Linear weights f32 (as transformers runs the f32 model); "
          "torch attention: F.scaled_dot_product_attention per segment (as transformers' sdpa path)\n")
    print("| encoder | op | shape | calls/fwd | torch /call | omnirt /call | omnirt/torch | omnirt time/fwd | omnirt GFLOP/s |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    tot = {}
    for r in rows:
        key = (r["encoder"], r["op"])
        o = min(om[key])
        t = min(tt[key]) if key in tt else float("nan")
        gf = r["gflops"] * r["seconds"] / o if r["gflops"] else 0.0
        acc = tot.setdefault(r["encoder"], [0.0, 0.0])
        acc[0] += t * r["calls"]
        acc[1] += o * r["calls"]
        print(f'| {r["encoder"]} | {r["op"]} | {r["shape"]} | {r["calls"]} | {t * 1e3:.2f} ms | {o * 1e3:.2f} ms | '
              f'{o / t:.2f} | {o * r["calls"] * 1e3:.0f} ms | {gf:.1f} |')
    for enc, (t, o) in tot.items():
        print(f"| {enc} | **sum of listed ops per forward** | | | {t * 1e3:.0f} ms | {o * 1e3:.0f} ms | {o / t:.2f} | | |")
    return 0


def host_line(threads: int) -> str:
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} logical CPUs, {threads} threads on each side"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="bench")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--runs", type=int, default=3, help="timed forwards per encoder, side and round")
    ap.add_argument("--rounds", type=int, default=2,
                    help="alternating omnirt / transformers rounds (the machine is shared and noisy); "
                         "times are the median (and min) over all rounds' timed forwards")
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--images", type=int, help="images per vision forward (default: the shape's)")
    ap.add_argument("--image-size", help="HxW pixels (default: the shape's)")
    ap.add_argument("--audio-seconds", type=float, help="seconds of audio (default: the shape's)")
    ap.add_argument("--weights", choices=["bf16", "f32"], default="bf16",
                    help="checkpoint storage dtype for --shape bench (values are bf16-exact either way)")
    ap.add_argument("--dtype", choices=["f32"], default="f32", help="compute dtype on both sides")
    ap.add_argument("--attn", choices=["sdpa", "eager"], default="sdpa", help="transformers attention")
    ap.add_argument("--omnirt", help="path of a built omnirt binary (default: cargo run --release)")
    ap.add_argument("--keep", help="write the checkpoint and outputs here and keep them")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--ops", action="store_true",
                    help="instead: time each op of one forward alone on both sides (omnirt `bench encoders "
                         "--ops`, then torch at the same shapes) and print them side by side")
    args = ap.parse_args(argv)

    import torch

    torch.set_num_threads(args.threads)
    shape = dict(SHAPES[args.shape])
    if args.images is not None:
        shape["images"] = args.images
    if args.image_size:
        h, w = args.image_size.lower().split("x")
        shape["image_size"] = (int(h), int(w))
    if args.audio_seconds is not None:
        shape["audio_seconds"] = args.audio_seconds

    tmp = None
    if args.keep:
        work = args.keep
        os.makedirs(work, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="omnirt-enc-bench-")
        work = tmp.name

    t0 = time.perf_counter()
    if args.shape == "bench":
        ckpt = os.path.join(work, "checkpoint")
        log(f"building bench-shape encoders (released dims, reduced depth) -> {ckpt}")
        visual, audio = build_bench_checkpoint(ckpt, args.weights, args.attn)
        weights = args.weights
    else:
        ckpt = TINY_DIR
        log(f"loading {ckpt}")
        visual, audio = load_tiny(args.attn)
        weights = "bf16"
    log(f"  ready in {time.perf_counter() - t0:.1f} s")

    if args.ops:
        return ops_breakdown(args, ckpt, shape, visual, audio)

    # ---- omnirt and transformers, alternating rounds ----------------------------------------
    from safetensors.torch import load_file

    out_file = os.path.join(work, "omnirt_outputs.safetensors")
    h, w = shape["image_size"]
    bench_args = [
        "bench", "encoders", "--model", ckpt, "--json", "--save-outputs", out_file,
        "--images", str(shape["images"]), "--image-size", f"{h}x{w}",
        "--audio-seconds", str(shape["audio_seconds"]), "--runs", str(args.runs),
        "--warmup", str(args.warmup), "--dtype", args.dtype,
    ]
    if args.omnirt:
        cmd = [args.omnirt] + bench_args
    else:
        cmd = ["cargo", "run", "--quiet", "--release", "--bin", "omnirt", "--"] + bench_args
    env = dict(os.environ, OMNIRT_THREADS=str(args.threads))

    omni_times = {"vision": [], "audio": []}
    torch_times = {"vision": [], "audio": []}
    omni_rows, saved, outs = {}, None, {}
    for rnd in range(max(1, args.rounds)):
        log(f"round {rnd + 1}/{args.rounds}: omnirt")
        log("running: OMNIRT_THREADS=%d %s" % (args.threads, " ".join(cmd)))
        res = subprocess.run(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        if res.returncode != 0:
            log(f"omnirt failed with exit code {res.returncode}")
            return 1
        omni = json.loads(res.stdout)
        omni_rows = {r["encoder"]: r for r in omni["rows"]}
        for k, r in omni_rows.items():
            omni_times[k].extend(r["run_seconds"])
        if saved is None:
            saved = load_file(out_file)  # the same deterministic inputs every round
        pv = saved["vision.pixel_values"]
        grid = saved["vision.grid_thw"].round().long()
        feats = saved["audio.features"]
        lens = saved["audio.feature_lens"].round().long()
        log(f"round {rnd + 1}/{args.rounds}: transformers")
        t, outs["vision"] = time_torch(lambda: visual(pv, grid_thw=grid), args.warmup, args.runs, "vision")
        torch_times["vision"].extend(t)
        t, outs["audio"] = time_torch(
            lambda: audio(input_features=feats, feature_lens=lens).last_hidden_state,
            args.warmup, args.runs, "audio")
        torch_times["audio"].extend(t)

    results = []
    for enc in ("vision", "audio"):
        r = omni_rows[enc]
        tt, ot = torch_times[enc], omni_times[enc]
        med, mn = statistics.median(tt), min(tt)
        if enc == "vision":
            out = outs["vision"]
            d = diff(saved["vision.embeds"], out.pooler_output)
            ds = [diff(saved[f"vision.deepstack.{k}"], f) for k, f in enumerate(out.deepstack_features)]
            layers, full = visual.config.depth, FULL_DEPTH["vision"]
            n_img, n_patch = shape["images"], saved["vision.pixel_values"].shape[0]
            rate = lambda s: f"{n_img / s:.2f} images/s, {n_patch / s:.0f} patches/s"
        else:
            out = outs["audio"]
            d, ds = diff(saved["audio.embeds"], out), []
            layers, full = audio.config.encoder_layers, FULL_DEPTH["audio"]
            secs = float(saved["audio.feature_lens"].sum()) / 100.0
            n_tok = out.shape[0]
            rate = lambda s, secs=secs, n_tok=n_tok: f"{secs / s:.2f} audio s/s, {n_tok / s:.0f} tokens/s"
        omed, omn = statistics.median(ot), min(ot)
        results.append({
            "encoder": enc,
            "layers": f"{layers} of {full}" if args.shape == "bench" else str(layers),
            "shape": r["shape"],
            "torch_s": med, "torch_min_s": mn, "torch_runs": tt,
            "omnirt_s": omed, "omnirt_min_s": omn, "omnirt_runs": ot,
            "torch_rate": rate(med), "omnirt_rate": rate(omed),
            "torch_gflops": r["gflop"] / med, "omnirt_gflops": r["gflop"] / omed,
            "diff": d, "deepstack_diff": ds,
        })

    # ---- table ------------------------------------------------------------------------------
    import transformers

    print(f"## Encoders on CPU: omnirt vs transformers {transformers.__version__} / torch {torch.__version__} (same run)\n")
    print(f"- host: {host_line(args.threads)}")
    print(f"- shape `{args.shape}`; weights stored {weights} (bf16-exact values), compute f32 on both sides; "
          f"transformers attention `{args.attn}`; {args.rounds} alternating rounds (omnirt, then transformers) of {args.runs} timed forwards after "
          f"{args.warmup} warm-up per side; times: median over all rounds (best in brackets)")
    if args.shape == "bench":
        print("- released encoder dims (ViT hidden 1152 / 16 heads / MLP 4304 / out 2048; AuT d_model 1280 / "
              "20 heads / FFN 5120 / out 2048) with REDUCED DEPTH: 4 of 27 ViT blocks (DeepStack after "
              "blocks 1/2/3), 4 of 32 audio layers, so a run takes minutes on 2 cores. Both sides run the "
              "identical reduced model on identical inputs; per-layer cost is what is compared, and the "
              "fixed parts (ViT patch embed + 4 mergers, audio conv stack + projections) weigh more than "
              "in the full model")
    print("- inputs: omnirt's deterministic preprocessed tensors (pixel_values rows / log-mel features), "
          "read back by this script and fed to transformers")
    print("- GFLOP/s: matmul/conv/attention FLOPs (omnirt's count) / median time\n")
    print("| encoder | layers | shape | torch time | omnirt time | speedup (best) | torch rate | omnirt rate | torch GFLOP/s | omnirt GFLOP/s | outputs max abs diff (rel) |")
    print("|---|---|---|---:|---:|---:|---|---|---:|---:|---|")
    for r in results:
        dd = r["diff"]
        dtxt = (f'{dd["max_abs"]:.2e} ({dd["rel"]:.1e}), cos {dd["cos"]:.7f}' if "max_abs" in dd
                else f'SHAPE MISMATCH {dd}')
        if r["deepstack_diff"]:
            worst = max((x.get("rel", float("inf")) for x in r["deepstack_diff"]))
            dtxt += f'; deepstack worst rel {worst:.1e}'
        print(f'| {r["encoder"]} | {r["layers"]} | {r["shape"]} | {r["torch_s"] * 1e3:.0f} ms '
              f'({r["torch_min_s"] * 1e3:.0f}) | {r["omnirt_s"] * 1e3:.0f} ms ({r["omnirt_min_s"] * 1e3:.0f}) | '
              f'{r["torch_s"] / r["omnirt_s"]:.2f}x ({r["torch_min_s"] / r["omnirt_min_s"]:.2f}x) | '
              f'{r["torch_rate"]} | {r["omnirt_rate"]} | {r["torch_gflops"]:.1f} | {r["omnirt_gflops"]:.1f} | '
              f'{dtxt} |')
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"shape": args.shape, "threads": args.threads, "host": host_line(args.threads),
                       "results": results, "omnirt": omni}, f, indent=2)
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
