"""How noisy is a Diffusion-MVE target? Its spread over the imagined futures of one (s_t, a_t), against the critic loss.

Usage:
    python studies/mve_target_noise.py --agents walker2d-medium=<run>/model.safetensors[,hopper-medium=...]
        [--rows 1000] [--samples 16] [--horizon 5] [--seed 0] [--device cpu]
        [--json studies/results/mve_target_noise.json] [--tiny]

For ``--rows`` transitions (s_t, a_t) of each dataset, drawn with ``--seed``, the dataset's bundled DWM imagines
``--samples`` segments at its default RTG (the data's median), as the imagination cache does once per row. Each
future gives the target a critic of the agent regresses on,

    y = Σ_{h<H} γ^h r̂_{t+h} + γ^H (1 - terminated) · min_i Q'_i(ŝ_{t+H}, π'(ŝ_{t+H})),

with the critic and actor targets of the trained agent in ``--agents`` (a run's ``model.safetensors``). Reported per
dataset: mean |y|; the variance of y over the futures of a row, averaged over rows (split into the reward sum's and
the bootstrap's); and the agent's own critic loss at the end of its run (its last 1k-update window: the sum of its
two critics' mean squared TD errors, so half of it per critic). A critic trained on one cached future per row
cannot fit that variance: it is a floor under each critic's loss. MuJoCo's dynamics are deterministic, so the
model-free one-step target r_t + γ Q'(s_{t+1}, π'(s_{t+1})) has no such spread given (s_t, a_t).

The rows are drawn among those with H real steps ahead in their episode, so each also has the data's own H-step
target (its real rewards and real s_{t+H}, bootstrapped by the same networks): the report adds the imagined
target's mean difference from it and its mean squared difference (split into the reward sum's and the
bootstrap's), which holds the model's error besides the behaviour's noise in the one real future.

``--tiny``: a generated 300-transition hopper-medium dataset, 8 rows, 2 futures, and a TD3BC agent of 2 updates.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch as th

from dwm_gym.agents import TD3BC
from dwm_gym.agents.saved import load_agent
from dwm_gym.benchmarking.harness import command_line, make_parser, parse_args, scratch_dir, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.data.specs import dataset_id, parse_dataset_name
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer
from dwm_gym.value_expansion.targets import discounted_reward_sum
from dwm_gym.world_model.bundled import resolve_checkpoint


def target_spread(data: OfflineDataset, agent, dwm: str, rows: int, samples: int, horizon: int, seed: int) -> dict:
    """The imagined targets' spread over futures for ``rows`` transitions of ``data`` (see the module docstring)."""
    transitions = data.transitions
    ends = (transitions["terminations"] | transitions["truncations"]).astype(np.int64)
    before = np.concatenate([[0], np.cumsum(ends)])  # ends among rows [i, i + H): before[i + H] - before[i]
    count = len(ends) - horizon + 1
    whole = np.flatnonzero(before[horizon : horizon + count] - before[:count] == 0)  # H real steps, no episode end
    picked = np.random.default_rng(seed).choice(whole, size=rows, replace=False)
    obs, actions = transitions["observations"][picked], transitions["actions"][picked]
    buffer = DiffusionMVEReplayBuffer(
        1, agent.observation_space, agent.action_space, device="cpu", world_model=dwm, horizon=horizon, seed=seed
    )
    states, rewards, terminated = buffer.imagine(obs, actions, samples=samples)
    gamma = float(agent.gamma)

    def value(states: th.Tensor) -> th.Tensor:
        last = states.to(agent.device, th.float32)
        return th.cat(agent.critic_target(last, agent.actor_target(last)), dim=1).min(dim=1)[0].cpu()

    with th.no_grad():
        reward_sum = discounted_reward_sum(rewards, terminated, gamma)
        bootstrap = gamma**horizon * (1.0 - terminated[:, -1].float()) * value(states[:, -1])
        ahead = picked[:, None] + np.arange(horizon)  # the data's own H steps from each row
        real_rewards = th.as_tensor(transitions["rewards"][ahead], dtype=th.float32)
        real_sum = discounted_reward_sum(real_rewards, th.zeros_like(real_rewards, dtype=th.bool), gamma)
        real_last = th.as_tensor(transitions["next_observations"][ahead[:, -1]], dtype=th.float32)
        real_bootstrap = gamma**horizon * value(real_last)
    y = (reward_sum + bootstrap).reshape(rows, samples).double()
    parts = {
        "reward_sum": reward_sum.reshape(rows, samples).double(),
        "bootstrap": bootstrap.reshape(rows, samples).double(),
    }
    real = {"reward_sum": real_sum.double()[:, None], "bootstrap": real_bootstrap.double()[:, None]}
    y_real = real["reward_sum"] + real["bootstrap"]
    window = agent.critic_monitor.history[-1] if agent.critic_monitor.history else None
    return {
        "rows": rows,
        "samples": samples,
        "horizon": horizon,
        "rtg": buffer.rtg,
        "mean_abs_target": float(y.abs().mean()),
        "target_variance": float(y.var(dim=1).mean()),
        "target_std": float(y.std(dim=1).mean()),
        "variance_of": {name: float(v.var(dim=1).mean()) for name, v in parts.items()},
        "minus_data": float((y - y_real).mean()),
        "squared_error_vs_data": float(((y - y_real) ** 2).mean()),
        "squared_error_vs_data_of": {name: float(((v - real[name]) ** 2).mean()) for name, v in parts.items()},
        "critic_loss_last_window": None if window is None else float(window.loss),
        "critic_loss_updates": None if window is None else int(window.updates),
    }


def tiny_agent(dataset: str) -> str:
    """A TD3BC of 2 updates on the tiny dataset, saved under the scratch folder."""
    from dwm_gym.agents.agent_files import save_agent

    agent = TD3BC("MlpPolicy", "Hopper-v5", batch_size=16, device="cpu", seed=0).load_dataset(dataset)
    agent.learn(2)
    return str(save_agent(agent, scratch_dir() / "mve_target_noise_agent.safetensors"))


def main() -> None:
    parser = make_parser(__doc__, "studies/results/mve_target_noise.json", device="cpu")
    parser.add_argument("--agents", default="", help="dataset=agent file pairs, comma-separated")
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=16, help="imagined futures per row")
    parser.add_argument("--horizon", type=int, default=5)
    args = parse_args(parser, tiny={"rows": 8, "samples": 2})
    if args.tiny:
        data_id = tiny_dataset()
        args.agents = f"hopper-medium={tiny_agent(data_id)}"
    pairs = [item.split("=", 1) for item in args.agents.split(",") if item]
    if not pairs:
        raise SystemExit(
            "--agents is empty: give dataset=agent file pairs, e.g. walker2d-medium=runs/x/model.safetensors"
        )
    results = {}
    for name, path in pairs:
        spec, quality = parse_dataset_name(name)
        agent, summary = load_agent(Path(path), device=args.device)
        if not isinstance(agent, TD3BC):
            raise SystemExit(f"{path} holds a {type(agent).__name__}; the study bootstraps with TD3BC's twin critics")
        trained_h = summary.get("config", {}).get("horizon")
        if trained_h is not None and trained_h != args.horizon:
            print(f"note: {name}'s agent was trained at H = {trained_h}; its critic loss is that run's")
        data = OfflineDataset.from_minari(dataset_id(spec.name, quality))
        dwm = str(resolve_checkpoint(spec.name, quality, "dwm"))
        result = target_spread(data, agent, dwm, args.rows, args.samples, args.horizon, args.seed)
        results[name] = {"agent": str(path), "agent_horizon": trained_h, "world_model": Path(dwm).name, **result}
        loss = result["critic_loss_last_window"]
        of, vs = result["variance_of"], result["squared_error_vs_data_of"]
        print(
            f"{name}: mean|y| {result['mean_abs_target']:.1f}, variance over futures {result['target_variance']:.2f} "
            f"(reward sum {of['reward_sum']:.2f}, bootstrap {of['bootstrap']:.2f}); against the data's own H steps: "
            f"mean {result['minus_data']:+.2f}, squared {result['squared_error_vs_data']:.2f} (reward sum "
            f"{vs['reward_sum']:.2f}, bootstrap {vs['bootstrap']:.2f}); "
            f"the agent's critic loss {loss if loss is None else f'{loss:.1f}'} (two critics)"
        )
    write_result(args.json, {"command": command_line(args), "datasets": results}, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
