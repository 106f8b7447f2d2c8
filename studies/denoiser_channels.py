"""Does a DWM's denoiser use every channel of its input? ε-prediction error by noise level and by state dimension.

For held-out windows of each checkpoint's own dataset (``world-model eval``'s choice), builds the clean normalized
sequence x0, noises it to every diffusion level k with one draw of ε, and asks the denoiser (conditioned on the
window's RTG and a_t) for ε̂. Reports:

* the ε-prediction MSE per level k over the generated slots (an ε-model's training loss, split by level), and the
  MSE of the x̂0 it implies. For a model trained to predict x0 or v, ε̂ and x̂0 are derived from its output;
* at the noisiest level (ᾱ ≈ 1e-4, where x_k is ε up to 1 % of x0, so ε̂ ≈ x_k is nearly exact), the correlation
  of ε̂ with ε and the standard deviation of ε̂, per state dimension, over the imagined rows. A denoiser that
  passes a channel through has correlation ≈ 1 and std ≈ 1 there; one that ignores it shrinks toward 0;
* the z-scored error of the first imagined state ŝ_{t+1} (which s_t and a_t fix) when the model samples with its
  default settings, beside repeating s_t ("nothing moves");
* the share of each state dimension's data at the env's velocity clip (|value| ≥ 9.99; MuJoCo locomotion envs
  clip joint velocities to ±10 in their observations).

python studies/denoiser_channels.py --checkpoints NAME=PATH[,NAME=PATH...] [--windows 1000] [--seed 0]
                                    [--device auto] [--json studies/results/denoiser_channels.json] [--tiny]

Each checkpoint is evaluated on its own dataset (the dataset id of its header). ``--tiny``: the bundled hopper-medium
DWM on 16 windows of a 400-transition hopper-medium dataset generated into a temporary folder.
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
from dwm_gym.world_model.dwm.diffusion import q_sample, x0_and_noise

VELOCITY_CLIP = 9.99  # |observation| at or above this sits at the env's ±10 velocity clip


def denoiser_channels(model: DiffusionWorldModel, dataset: OfflineDataset, num_windows: int, seed: int) -> dict:
    """ε-prediction statistics of ``model`` on held-out windows of ``dataset`` (see the module docstring)."""
    held = held_out_part(dataset, model.info)
    windows, idx = evaluation_windows(held, model.segment_length, num_windows, seed)
    batch = windows.batch(idx)
    device, obs = model.device, model.obs_dim

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=torch.float32, device=device)

    generator = torch.Generator(device=device).manual_seed(seed)
    levels, x0_levels, noisiest = [], [], {}
    slots = model.generated_slots
    with torch.no_grad():
        x0 = model.build_x0(
            tensor(batch.states), tensor(batch.actions), tensor(batch.future_states), tensor(batch.rewards)
        )
        for k in range(model.config.diffusion_steps):
            ks = torch.full((len(idx),), k, device=device)
            noise = torch.randn(x0.shape, device=device, generator=generator)
            xk = model._impose(q_sample(x0, ks, noise, model.alphas_cumprod), x0[:, 0, : obs + model.action_dim])
            keep = torch.ones(len(idx), 1, device=device)
            output = model.net(xk, ks, tensor(batch.rtg).view(-1, 1), tensor(batch.actions), keep)
            x0_hat, eps = x0_and_noise(model.config.prediction, output, xk, model.alphas_cumprod[ks])
            levels.append(float(((eps - noise) ** 2 * slots).sum() / (slots.sum() * len(idx))))
            x0_levels.append(float(((x0_hat - x0) ** 2 * slots).sum() / (slots.sum() * len(idx))))
            if k == model.config.diffusion_steps - 1:
                predicted = eps[:, 1:, :obs].reshape(-1, obs).cpu().numpy()
                true = noise[:, 1:, :obs].reshape(-1, obs).cpu().numpy()
                noisiest = {
                    "corr": [float(np.corrcoef(predicted[:, d], true[:, d])[0, 1]) for d in range(obs)],
                    "std": predicted.std(0).tolist(),
                    "alpha_bar": float(model.alphas_cumprod[k]),
                }
    mean, std = state_scale(held)
    segment = model.rollout(batch.states, batch.actions, 1, rtg=batch.rtg, generator=generator)
    first = segment.states[:, 0].cpu().numpy()
    true = batch.future_states[:, 0]
    states = dataset.transitions["observations"]
    return {
        "first_state_error": float((((first - true) / std) ** 2).mean()),
        "repeat_state_error": float((((batch.states - true) / std) ** 2).mean()),
        "eps_mse_by_level": levels,
        "x0_mse_by_level": x0_levels,
        "prediction": model.config.prediction,
        "noisiest_level": noisiest,
        "share_at_velocity_clip": (np.abs(states) >= VELOCITY_CLIP).mean(0).tolist(),
        "row_dim": int(model.row_dim),
        "width": int(model.config.dim),
        "train_steps": model.info.get("train_steps"),
        "windows": int(len(idx)),
    }


def main() -> None:
    parser = make_parser(__doc__, "studies/results/denoiser_channels.json")
    parser.add_argument("--checkpoints", default=None, help="NAME=PATH pairs; default: the bundled hopper-medium DWM")
    parser.add_argument("--windows", type=int, default=1000)
    args = parse_args(parser, tiny={"windows": 16})
    if args.tiny:
        tiny_dataset()
    pairs = [p.split("=", 1) for p in args.checkpoints.split(",")] if args.checkpoints else []
    if not pairs:
        pairs = [["hopper-medium", str(resolve_checkpoint("hopper", "medium", "dwm"))]]
    results = {}
    for name, path in pairs:
        model = load_world_model(path, device=args.device)
        if not isinstance(model, DiffusionWorldModel):
            raise SystemExit(f"{path} is a {model.kind} model; this study asks a DWM's denoiser")
        dataset = OfflineDataset.from_minari(model.info["dataset_id"])
        result = denoiser_channels(model, dataset, args.windows, args.seed)
        results[name] = {"checkpoint": path, "dataset_id": model.info["dataset_id"], **result}
        print(f"{name}: eps MSE by level {np.round(result['eps_mse_by_level'], 4).tolist()}")
        print(f"  x0_hat MSE by level {np.round(result['x0_mse_by_level'], 4).tolist()}")
        first, repeat = result["first_state_error"], result["repeat_state_error"]
        print(f"  first imagined state, z-MSE {first:.4f} (repeat s_t {repeat:.4f})")
        noisiest = result["noisiest_level"]
        print(f"  noisiest level, corr(eps_hat, eps) by state dim: {np.round(noisiest['corr'], 2).tolist()}")
        print(f"  noisiest level, std(eps_hat) by state dim:       {np.round(noisiest['std'], 2).tolist()}")
    write_result(args.json, {"models": results}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
