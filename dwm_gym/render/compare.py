"""Per-step comparison of imagined rollouts against the real one: errors, a video, two plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from dwm_gym.render.rollouts import Rollout
from dwm_gym.render.video import side_by_side


def state_errors(real: Rollout, imagined: Rollout, state_std: np.ndarray) -> np.ndarray:
    """Per-step MSE over z-scored dimensions (``state_std`` per dimension), step 0 = the shared start."""
    steps = min(len(real.states), len(imagined.states))
    return (((imagined.states[:steps] - real.states[:steps]) / state_std) ** 2).mean(axis=1)


def comparison_frames(real: Rollout, imagined: dict[str, Rollout], errors: dict[str, np.ndarray]) -> list[np.ndarray]:
    """Real and imagined frames side by side, captioned with the step, reward and state error."""
    columns, captions = (
        [real.frames],
        [[[f"real  step {t}", f"reward {_reward(real, t)}"] for t in range(len(real.frames))]],
    )
    for name, rollout in imagined.items():
        columns.append(rollout.frames)
        captions.append(
            [
                [
                    f"{name}  step {t}",
                    f"reward {_reward(rollout, t)}  state err {errors[name][min(t, len(errors[name]) - 1)]:.3f}",
                ]
                for t in range(len(rollout.frames))
            ]
        )
    return side_by_side(columns, captions)


def _reward(rollout: Rollout, t: int) -> str:
    return f"{rollout.rewards[t - 1]:.2f}" if 0 < t <= len(rollout.rewards) else "-"


def plot_comparison(
    real: Rollout, imagined: dict[str, Rollout], errors: dict[str, np.ndarray], folder: Path
) -> list[Path]:
    """``error_vs_horizon.png`` and ``reward_imagined_vs_real.png`` in ``folder``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, err in errors.items():
        ax.plot(np.arange(len(err)), err, label=name)
    ax.set(xlabel="step", ylabel="state MSE (z-scored dims)", title="imagined vs real state error", yscale="symlog")
    error_png = _save(fig, ax, folder / "error_vs_horizon.png")
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(np.arange(1, len(real.rewards) + 1), real.rewards, "k", lw=2, label="real")
    for name, rollout in imagined.items():
        ax.plot(np.arange(1, len(rollout.rewards) + 1), rollout.rewards, label=name)
    ax.set(xlabel="step", ylabel="reward", title="imagined vs real reward")
    return [error_png, _save(fig, ax, folder / "reward_imagined_vs_real.png")]


def _save(fig, ax, path: Path) -> Path:
    import matplotlib.pyplot as plt

    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
