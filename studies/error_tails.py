"""Where a DWM's state error lives: a few windows, and a CDF normalizer's compressed regions.

For the held-out windows of ``world-model eval`` (same choice, same z-scoring), prints per step:
the mean and median z-scored state error, the share of the mean carried by the worst 5 % of
windows, and the same error measured in the model's own normalized space (for a CDF-state model, where every
dimension is uniform on [-1, 1]); then the step-2 (s_{t+1}) error per state dimension in both
spaces. Writes JSON.

python studies/error_tails.py [--checkpoint PATH] [--dataset dwm_gym/hopper/medium-v0] [--windows 500]
                                 [--seed 0] [--device auto] [--json studies/results/error_tails.json] [--tiny]

``--tiny``: 16 windows of a 400-transition hopper-medium dataset generated into a temporary folder.
"""

from __future__ import annotations

import numpy as np
import torch

from dwm_gym.benchmarking.harness import make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.evaluation.error_report import held_out_part
from dwm_gym.evaluation.model_error import evaluation_windows, state_scale
from dwm_gym.world_model import DiffusionWorldModel, load_world_model
from dwm_gym.world_model.bundled import resolve_checkpoint


def error_tails(model: DiffusionWorldModel, dataset: OfflineDataset, num_windows: int, seed: int) -> dict:
    """Per-step and per-dimension error statistics of ``model`` on held-out windows (see module doc)."""
    held = held_out_part(dataset, model.info)
    windows, idx = evaluation_windows(held, model.segment_length, num_windows, seed)
    batch, (mean, std) = windows.batch(idx), state_scale(held)
    generator = torch.Generator(device=model.device).manual_seed(seed)
    x = model.sample_sequence(batch.states, batch.actions, batch.rtg, generator=generator)
    pred_norm = x[:, 1:, : model.obs_dim]
    pred = model.state_normalizer.unnormalize(pred_norm).cpu().numpy()
    true_norm = model.state_normalizer.normalize(torch.as_tensor(batch.future_states, device=model.device))
    z_err = ((pred - mean) / std - (batch.future_states - mean) / std) ** 2  # (windows, T-1, obs)
    norm_err = ((pred_norm - true_norm) ** 2).cpu().numpy()
    per_window = z_err.mean(-1)
    worst = max(1, len(per_window) // 20)
    top_share = np.sort(per_window, axis=0)[-worst:].sum(0) / per_window.sum(0)
    return {
        "steps": list(range(2, model.segment_length + 1)),
        "z_mean": per_window.mean(0).tolist(),
        "z_median": np.median(per_window, axis=0).tolist(),
        "worst_5pct_share": top_share.tolist(),
        "normalized_mean": norm_err.mean((0, 2)).tolist(),
        "step2_z_by_dim": z_err[:, 0].mean(0).tolist(),
        "step2_normalized_by_dim": norm_err[:, 0].mean(0).tolist(),
        "windows": int(len(idx)),
    }


def main() -> None:
    parser = make_parser(__doc__, "studies/results/error_tails.json")
    parser.add_argument("--checkpoint", default=None, help="default: the bundled hopper-medium DWM")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--windows", type=int, default=500)
    args = parse_args(parser, tiny={"windows": 16})
    if args.tiny:
        args.dataset = tiny_dataset()
    checkpoint = args.checkpoint or resolve_checkpoint("hopper", "medium", "dwm")
    dataset = OfflineDataset.from_minari(args.dataset)
    model = load_world_model(checkpoint, env=dataset.env_id, device=args.device)
    result = error_tails(model, dataset, args.windows, args.seed)
    print(f"{'step':>4} {'z mean':>8} {'z median':>9} {'worst 5% share':>15} {'model-space mean':>17}")
    for i, step in enumerate(result["steps"]):
        cells = [result[k][i] for k in ("z_mean", "z_median", "worst_5pct_share", "normalized_mean")]
        print(f"{step:4d} {cells[0]:8.4f} {cells[1]:9.4f} {cells[2]:15.0%} {cells[3]:15.4f}")
    print("step 2 by dimension, z-scored:  ", np.round(result["step2_z_by_dim"], 4).tolist())
    print("step 2 by dimension, model space: ", np.round(result["step2_normalized_by_dim"], 4).tolist())
    write_result(args.json, {"checkpoint": str(checkpoint), **result}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
