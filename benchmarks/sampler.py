"""Imagined segments/s of the DWM sampler vs a deliberately naive reference sampler, one run.

Usage:
    python benchmarks/sampler.py [--preset small] [--checkpoint PATH] [--batches 1,16,256,1024,4096]
                                 [--naive-batch 32] [--seconds 1.0] [--gpu-variants-on-cpu] [--seed 0]
                                 [--device auto] [--json benchmarks/results/sampler.json] [--tiny]

* fast: ``DiffusionWorldModel.rollout`` — the whole batch in one pass per denoising step, the
  conditional and unconditional (CFG) predictions in one forward pass of 2B rows, no autograd.
* fast-bf16 / fast-bf16-compiled (CUDA, or ``--gpu-variants-on-cpu``): the same under bf16
  autocast, then with the denoiser compiled (``torch.compile``, CUDA graphs on CUDA).
* naive: the same mathematics written plainly — fp32, one segment at a time in a Python loop,
  separate conditional and unconditional forward passes.
Both produce N = ``sampling_steps`` respaced steps of T = ``segment_length`` rows. The naive one
builds its posterior table from the public functions of ``dwm_gym.world_model.diffusion`` and writes
the condition into the generated sequence itself (``generated_slots``). Fresh sampling each
call (no cache), each timing repeated for at least ``--seconds``. Weights do not change the cost, so an
untrained model of the preset is used unless ``--checkpoint`` is given. ``--tiny``: batches 1 and 4,
a naive batch of 2, 0.01 s per timing (smoke test).
"""

from __future__ import annotations

import time

import numpy as np
import torch

from dwm_gym.benchmarking.harness import machine_info, make_parser, parse_args, write_result
from dwm_gym.data.normalizers import MinMaxNormalizer
from dwm_gym.utils.device import resolve_device
from dwm_gym.world_model import DiffusionWorldModel, load_world_model, preset
from dwm_gym.world_model.diffusion import PosteriorTable, cosine_alphas_cumprod, respaced_timesteps


@torch.no_grad()
def naive_imagine(model: DiffusionWorldModel, obs: torch.Tensor, action: torch.Tensor, rtg: float) -> list:
    """Reference sampler: one segment at a time, two forward passes per step, public pieces only."""
    cfg, sampler = model.config, model.sampler
    alphas = cosine_alphas_cumprod(cfg.diffusion_steps)
    table = PosteriorTable.build(alphas, respaced_timesteps(cfg.diffusion_steps, cfg.sampling_steps)).to(obs.device)
    keep = model.generated_slots  # 1 where the sampler generates, 0 for s_t, a_t and later action slots
    width = model.obs_dim + model.action_dim

    def impose(x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
        x = x * keep
        x[:, 0, :width] = cond
        return x

    out = []
    for i in range(obs.shape[0]):
        cond = torch.cat([model.state_normalizer.normalize(obs[i : i + 1]), action[i : i + 1]], dim=-1)
        noise = torch.randn(1, cfg.segment_length, model.row_dim, device=obs.device)
        x = impose(sampler.start_noise_scale * noise, cond)
        rtg_t = torch.full((1, 1), rtg, device=obs.device)
        for s in reversed(range(len(table.timesteps))):
            k = table.timesteps[s : s + 1].to(obs.device)
            eps_c = model.net(x, k, rtg_t, action[i : i + 1], torch.ones(1, 1, device=obs.device))
            eps_u = model.net(x, k, rtg_t, action[i : i + 1], torch.zeros(1, 1, device=obs.device))
            eps = eps_u + sampler.guidance_weight * (eps_c - eps_u)
            x0 = (table.sqrt_recip_ab[s] * x - table.sqrt_recipm1_ab[s] * eps).clamp(-1, 1)
            x = table.coef_x0[s] * x0 + table.coef_xt[s] * x
            if s > 0:
                x = x + sampler.temperature * table.std[s] * torch.randn_like(x)
            x = impose(x, cond)
        out.append(model.state_normalizer.unnormalize(x[:, 1:, : model.obs_dim]))
    return out


def sync(result, device: torch.device):
    """Waits for queued CUDA work so timings are honest."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return result


def timed(fn, min_seconds: float = 1.0) -> float:
    """Seconds per call (after one warm-up call), repeating until ``min_seconds`` have passed."""
    fn()
    calls, start = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return elapsed / calls


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/sampler.json")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--checkpoint", default=None)
    parser.add_argument("--batches", default="1,16,256,1024,4096")
    parser.add_argument("--naive-batch", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=1.0, help="least time each measurement is repeated for")
    parser.add_argument("--gpu-variants-on-cpu", action="store_true", help="also time bf16 and compiled on CPU")
    args = parse_args(parser, tiny={"batches": "1,4", "naive_batch": 2, "seconds": 0.01})
    device = resolve_device(args.device)
    if args.checkpoint:
        model = load_world_model(args.checkpoint, device=device)
    else:
        torch.manual_seed(args.seed)
        rng = np.random.default_rng(args.seed)
        config = preset(args.preset)
        sn = config.new_state_normalizer().fit(rng.normal(size=(4096, 11)))
        rn = MinMaxNormalizer().fit(rng.uniform(0, 4, 4096))
        model = DiffusionWorldModel(config, 11, 3, sn, rn, env_id="Hopper-v5").to(device).eval()
    rows = []
    g = torch.Generator(device=device).manual_seed(args.seed)
    variants = [("fast", "fp32", False)]
    if device.type == "cuda" or args.gpu_variants_on_cpu:
        variants += [("fast-bf16", "bf16", False), ("fast-bf16-compiled", "bf16", True)]
    for name, precision, compiled in variants:
        settings = {"precision": precision}
        if compiled:
            model.compile_sampler()
        for batch in [int(b) for b in args.batches.split(",")]:
            obs = torch.randn(batch, model.obs_dim, device=device, generator=g)
            act = torch.rand(batch, model.action_dim, device=device, generator=g) * 2 - 1
            call = lambda o=obs, a=act, p=settings: model.rollout(o, a, rtg=0.7, sampler=p)  # noqa: E731
            seconds = timed(lambda c=call: sync(c(), device), args.seconds)
            rows.append({"sampler": name, "batch": batch, "segments_per_s": batch / seconds})
    object.__setattr__(model, "_compiled_net", None)
    nb = args.naive_batch
    obs = torch.randn(nb, model.obs_dim, device=device, generator=g)
    act = torch.rand(nb, model.action_dim, device=device, generator=g) * 2 - 1
    seconds = timed(lambda: sync(naive_imagine(model, obs, act, 0.7), device), args.seconds)
    rows.append({"sampler": "naive", "batch": nb, "segments_per_s": nb / seconds})
    machine, params = machine_info(), sum(p.numel() for p in model.parameters())
    print(f"preset {args.preset}, {params} params, {device}, {machine['cpu_count']} CPUs, torch {machine['torch']}")
    print(f"{'sampler':20s} {'batch':>6s} {'segments/s':>12s}")
    for row in rows:
        print(f"{row['sampler']:20s} {row['batch']:6d} {row['segments_per_s']:12.0f}")
    best = max(r["segments_per_s"] for r in rows if r["sampler"].startswith("fast"))
    naive = rows[-1]["segments_per_s"]
    print(f"best fast / naive: {best / naive:.1f}x")
    result = {"preset": args.preset, "device": str(device), "params": params, "rows": rows, "speedup": best / naive}
    write_result(args.json, result, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
