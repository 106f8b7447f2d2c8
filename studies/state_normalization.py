"""Where a DWM's state error comes from: its own normalized space, or the map back to raw states.

For each DWM checkpoint (``--checkpoints label=path,...``; default: the dataset's bundled one) and
the dataset's one-step model, on held-out windows of the dataset (``world-model eval``'s windows, same
z-scoring of states by the data's mean and std):

* the z-scored state error per step (mean, median, 99th percentile over windows) and the reward error;
* at step 1 (ŝ_{t+1}, a deterministic function of s_t and a_t, so any error is the model's): the error
  per state dimension, and the error measured in the first DWM's normalized space, where a CDF-normalized
  model diffuses (every model's prediction mapped through that same normalizer, so the figures compare);
* the sampler's own spread at step 1: the variance of ``--samples`` draws around their mean, against
  the error of one draw (a spread much smaller than the error means the error is a bias, not noise).
* for each DWM, with and without the sampler's tail rule (``clip_state_tails``), at every imagined step
  ŝ_{t+1..t+T-1}: the share with a dimension at the data's single most extreme value (the pile-up behind
  Diffusion-MVE's divergence; dimensions tied at an env clip value excluded), the share with a dimension at
  the data's 0.1 or 99.9 % quantile (where the rule clips to), and the share more than 2 data std away from
  the truth in some dimension.

python studies/state_normalization.py [--dataset dwm_gym/hopper/medium-replay-v0]
                                         [--checkpoints cdf=PATH,gaussian=PATH] [--windows 500]
                                         [--samples 4] [--seed 0] [--device auto]
                                         [--json studies/results/state_normalization.json] [--tiny]

``--tiny``: the bundled hopper-medium DWM and one-step model on 16 windows of a 400-transition
hopper-medium dataset generated into a temporary folder.
"""

from __future__ import annotations

import numpy as np
import torch

from dwm_gym.benchmarking.harness import make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.data.specs import parse_dataset_name
from dwm_gym.evaluation.error_report import held_out_part
from dwm_gym.evaluation.model_error import evaluation_windows, state_scale
from dwm_gym.evaluation.state_edges import data_edges, edge_shares
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import resolve_checkpoint


def summarize(error: np.ndarray) -> dict:
    """Mean, median and 99th percentile over windows of a ``(windows, steps)`` error."""
    return {
        "mean": error.mean(0).tolist(),
        "median": np.median(error, axis=0).tolist(),
        "p99": np.quantile(error, 0.99, axis=0).tolist(),
    }


def in_space(normalizer, predicted: np.ndarray, true: np.ndarray) -> float:
    """Mean squared error of raw ``predicted`` states against ``true`` ones, both mapped by ``normalizer``."""
    as_tensor = (torch.as_tensor(x, dtype=torch.float64) for x in (predicted, true))
    a, b = (np.asarray(normalizer.normalize(x)) for x in as_tensor)
    return float(((a - b) ** 2).mean())


def tail_shares(model, batch, scale, seed: int) -> dict:
    """Per imagined step ŝ_{t+1..t+T-1}: the share at the data's extremes, at its 0.1 / 99.9 % quantiles (where
    the tail rule clips to) and of gross (> 2 std) errors, with and without the tail rule (see the module doc).
    """
    edges = data_edges(model.state_normalizer)
    steps, shares = batch.future_states.shape[1], {}
    for name, rule in (("tail_rule", True), ("no_tail_rule", False)):
        generator = torch.Generator(device=model.device).manual_seed(seed)
        sampler = {"clip_state_tails": rule}
        segment = model.rollout(batch.states, batch.actions, steps, rtg=batch.rtg, generator=generator, sampler=sampler)
        states = segment.states.cpu().numpy()  # (windows, steps, obs)
        gross = (np.abs(states - batch.future_states) / scale[1]).max(-1) > 2.0
        at_edges = {key: share.tolist() for key, share in edge_shares(edges, states).items()}
        shares[name] = {**at_edges, "beyond_2_std": gross.mean(0).tolist()}
    return shares


def model_errors(model, windows, idx, scale, reference, samples: int, seed: int) -> dict:
    """Errors of one model on the windows ``idx`` (see the module doc).

    ``reference`` is the normalizer of the first DWM: step 1's error is also measured in its space. The
    one-step model rolls out with the windows' true actions (one draw: it samples its Gaussian's mean).
    """
    mean, std = scale
    batch = windows.batch(idx)
    steps = batch.future_states.shape[1]
    actions = windows.action_sequences(idx)[:, 1:-1]
    generator = torch.Generator(device=model.device).manual_seed(seed)
    draws = [
        model.rollout(batch.states, batch.actions, steps, rtg=batch.rtg, policy=actions, generator=generator)
        for _ in range(samples if model.uses_rtg else 1)
    ]
    states = np.stack([d.states.cpu().numpy() for d in draws])  # (draws, windows, steps, obs)
    z_pred, z_true = (states - mean) / std, (batch.future_states - mean) / std
    z_error = ((z_pred[0] - z_true) ** 2).mean(-1)  # one draw, as MVE uses it
    reward_error = (draws[0].rewards.cpu().numpy() - batch.rewards[:, :-1]) ** 2
    first, true_first = states[0][:, 0], batch.future_states[:, 0]
    in_reference, in_own = (in_space(n, first, true_first) for n in (reference, model.state_normalizer))
    return {
        "state_z": summarize(z_error),
        "reward_mse": reward_error.mean(0).tolist(),
        "step1_z_by_dim": ((z_pred[0][:, 0] - z_true[:, 0]) ** 2).mean(0).tolist(),
        "step1_reference_space": in_reference,
        "step1_own_space": in_own,
        "step1_spread_z": float(z_pred[:, :, 0].var(0).mean()) if len(draws) > 1 else None,
        "draws": len(draws),
        "tails_by_step": tail_shares(model, batch, scale, seed) if model.uses_rtg else None,
    }


def main() -> None:
    parser = make_parser(__doc__, "studies/results/state_normalization.json")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-replay-v0")
    parser.add_argument("--checkpoints", default=None, help="label=path,... (default: bundled=the dataset's DWM)")
    parser.add_argument("--windows", type=int, default=500)
    parser.add_argument("--samples", type=int, default=4, help="DWM draws per window for the sampler's spread")
    args = parse_args(parser, tiny={"windows": 16, "samples": 2})
    if args.tiny:
        args.dataset = tiny_dataset()
    dataset = OfflineDataset.from_minari(args.dataset)
    spec, quality = parse_dataset_name(args.dataset)
    pairs = [item.split("=", 1) for item in args.checkpoints.split(",")] if args.checkpoints else []
    if any(len(pair) != 2 for pair in pairs):
        parser.error("--checkpoints takes label=path pairs separated by commas")
    checkpoints = dict(pairs) or {"bundled": str(resolve_checkpoint(spec.name, quality, "dwm"))}
    checkpoints["one-step"] = str(resolve_checkpoint(spec.name, quality, "onestep"))
    models = {
        label: load_world_model(path, env=dataset.env_id, device=args.device) for label, path in checkpoints.items()
    }
    first = next(iter(models.values()))
    held = held_out_part(dataset, first.info)
    windows, idx = evaluation_windows(held, 8, args.windows, args.seed)
    scale = state_scale(held)
    result = {
        label: model_errors(model, windows, idx, scale, first.state_normalizer, args.samples, args.seed)
        for label, model in models.items()
    }
    print(f"{args.dataset}: {len(idx)} held-out windows; z-scored state MSE (mean / median / p99 over windows)")
    print(f"{'model':>10} {'step 1':>24} {'mean, steps 1-7':>16} {'step 1 in ' + next(iter(models)) + ' space':>22}")
    for label, r in result.items():
        z = r["state_z"]
        cells = f"{z['mean'][0]:.4f} / {z['median'][0]:.4f} / {z['p99'][0]:.3f}"
        print(f"{label:>10} {cells:>24} {np.mean(z['mean']):16.4f} {r['step1_reference_space']:22.5f}")
    for label, r in result.items():
        spread = "" if r["step1_spread_z"] is None else f"; sampler spread at step 1 {r['step1_spread_z']:.5f}"
        print(f"{label}: step 1 by dimension {np.round(r['step1_z_by_dim'], 4).tolist()}{spread}")
    for label, r in result.items():
        for rule, shares in (r["tails_by_step"] or {}).items():
            for key, values in shares.items():
                print(f"{label}, {rule}, {key} by step: {np.round(values, 4).tolist()}")
    write_result(
        args.json, {"dataset": args.dataset, "checkpoints": checkpoints, "windows": len(idx), "models": result}, args
    )
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
