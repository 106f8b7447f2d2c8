"""``world-model eval``: error-by-horizon tables, JSON and a PNG plot for one or two models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from dwm_gym.data.behavior.actor import BehaviorPolicy
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.evaluation.model_error import model_error_by_horizon
from dwm_gym.evaluation.noise_floor import behaviour_noise_floor
from dwm_gym.world_model.registry import load_world_model


def held_out_part(dataset: OfflineDataset, info: dict) -> OfflineDataset:
    """The episodes a checkpoint (header ``info``) did not train on, when it was trained on ``dataset``; else all."""
    if info.get("dataset_id") != dataset.dataset_id or "held_out_fraction" not in info:
        return dataset
    rng = np.random.default_rng(info["split_seed"])
    return dataset.split(info["held_out_fraction"], rng)[1]


def error_report(
    checkpoints: dict[str, str],
    dataset: OfflineDataset,
    num_windows: int = 500,
    seed: int = 0,
    device: str = "auto",
    noise_floor_policy: BehaviorPolicy | None = None,
) -> dict:
    """Error by horizon for each named checkpoint on its held-out part of ``dataset``.

    All models are compared on windows of the shortest segment length T among them (8 when none
    has one, e.g. one-step models only).

    With ``noise_floor_policy`` (the data's behaviour policy), two kinds of entries are added:

    * ``"<name>, policy actions"`` for each model that needs a policy (the one-step model): rolled
      out with a_t then actions the policy samples, i.e. given (s_t, a_t) only, as the DWM is;
    * ``behaviour noise floor``: the error of a perfect sampler of the future given (s_t, a_t),
      on the same windows as the first checkpoint (see :mod:`dwm_gym.evaluation.noise_floor`).
    """
    models = {name: load_world_model(path, env=dataset.env_id, device=device) for name, path in checkpoints.items()}
    length = min((m.segment_length for m in models.values() if m.segment_length is not None), default=8)
    report, first_held = {}, None
    for name, path in checkpoints.items():
        model = models[name]
        held = held_out_part(dataset, model.info)
        first_held = first_held or held
        result = model_error_by_horizon(model, held, num_windows, length, seed=seed)
        entry = {"checkpoint": str(path), "kind": model.kind, "eval_data": held.dataset_id}
        report[name] = {**entry, **result}
        if noise_floor_policy is not None and model.needs_policy:
            on_policy = model_error_by_horizon(
                model, held, num_windows, length, seed=seed, behaviour_policy=noise_floor_policy
            )
            report[f"{name}, policy actions"] = {**entry, **on_policy}
    if noise_floor_policy is not None and first_held is not None:
        first = report[next(iter(checkpoints))]
        floor = behaviour_noise_floor(first_held, noise_floor_policy, num_windows, len(first["state_mse"]), seed)
        entry = {"checkpoint": None, "kind": "real env", "eval_data": first_held.dataset_id}
        report["behaviour noise floor"] = {**entry, **floor}
    return report


def format_table(report: dict) -> str:
    """Per-step state / reward MSE, one column pair per model, then the per-step state median over windows.

    The medians show how much of a mean a few windows carry (states where the CDF normalization is
    compressed, contacts).
    """
    names = list(report)
    steps = len(report[names[0]]["state_mse"])
    header = "step " + " ".join(f"{n + ' state':>16s} {n + ' reward':>16s}" for n in names)
    lines = [header]
    for h in range(steps):
        cells = " ".join(f"{report[n]['state_mse'][h]:16.4f} {_cell(report[n]['reward_mse'], h)}" for n in names)
        lines.append(f"{h + 1:4d} {cells}")
    means = " ".join(f"{report[n]['mean_state_mse']:16.4f} {report[n]['mean_reward_mse']:16.3e}" for n in names)
    lines += [f"mean {means}", "", "state MSE, median over windows", "step " + " ".join(f"{n:>16s}" for n in names)]
    for h in range(steps):
        lines.append(f"{h + 1:4d} " + " ".join(f"{report[n]['state_median'][h]:16.4f}" for n in names))
    means = " ".join(f"{np.mean(report[n]['state_median']):16.4f}" for n in names)
    lines.append(f"mean {means}")
    return "\n".join(lines)


def _cell(values: list[float], step: int) -> str:
    """``values[step]`` formatted, or a dash past the end (there is one reward step fewer than state steps)."""
    return f"{values[step]:16.3e}" if step < len(values) else f"{'-':>16s}"


def write_report(report: dict, json_path: str | Path | None, plot_path: str | Path | None) -> None:
    """JSON and a two-panel PNG (state error, reward error vs horizon step)."""
    if json_path:
        Path(json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(json_path).write_text(json.dumps(report, indent=2))
    if plot_path:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 2, figsize=(10, 4))
        for name, result in report.items():
            axes[0].plot(np.arange(1, len(result["state_mse"]) + 1), result["state_mse"], marker="o", label=name)
            axes[1].plot(np.arange(1, len(result["reward_mse"]) + 1), result["reward_mse"], marker="o", label=name)
        axes[0].set(title="state MSE (z-scored dims)", xlabel="step", ylabel="MSE")
        axes[1].set(title="reward MSE", xlabel="step", ylabel="MSE")
        for ax in axes:
            ax.grid(alpha=0.3)
            ax.legend()
        fig.tight_layout()
        Path(plot_path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(plot_path, dpi=100)
        plt.close(fig)
