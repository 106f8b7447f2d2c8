"""Gradient updates/s of the library's agents on one core, beside an independent plain-PyTorch TD3+BC, with a profile.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/update_speed.py [--dataset dwm_gym/hopper/medium-v0] [--transitions 20000]
        [--horizon 5] [--updates 300] [--onestep-updates 60] [--rounds 5] [--profile-updates 600]
        [--batch-size 128] [--threads 1] [--seed 0] [--device cpu] [--json benchmarks/results/update_speed.json]
        [--tiny]

Methods, all at batch 128 with two hidden layers of 256 (the library's defaults) on the first ``--transitions``
transitions of the dataset:

* TD3BC, IQL: model-free, SB3 ``ReplayBuffer``.
* DWM-TD3BC: ``DiffusionMVEReplayBuffer`` (bundled hopper-medium DWM, H = ``--horizon``) reading an imagination cache
  filled up front (its fill time is reported apart).
* OneStep-TD3BC: ``OneStepMVEReplayBuffer``, H policy-driven steps of the one-step model per minibatch.
* TD3BC, fused Adam: TD3BC with ``optimizer_kwargs={"fused": True}``, PyTorch's single-kernel Adam (not the
  default: its float rounding differs from the per-tensor Adam in the last bits).
* plain PyTorch TD3+BC: an independent single-file implementation in this script, in the style of CORL's
  ``td3_bc.py`` (states normalized up front, two critics with their own Adam, ``torch.randint`` sampling).

Every method is timed over ``--updates`` updates in ``--rounds`` interleaved rounds (a busy machine slows all
methods alike); the medians of wall-clock and of process-CPU updates/s are reported (CPU time is what a shared
machine does not steal). Then each library method runs ``--profile-updates`` more updates under
:class:`dwm_gym.benchmarking.update_profile.PhaseTimer`: the milliseconds of an update per phase. ``--tiny``: a few
updates of batch 16 on 300 transitions of a hopper-medium dataset generated into a temporary folder (smoke test).
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from dwm_gym.agents import IQL, TD3BC
from dwm_gym.benchmarking.harness import command_line, machine_info, make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, OneStepMVEReplayBuffer
from dwm_gym.world_model.bundled import resolve_checkpoint


# ---------------------------------------------------------------- the independent TD3+BC (CORL's td3_bc.py, trimmed)
class Actor(nn.Module):
    def __init__(self, state_dim: int, action_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(state_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, action_dim),
            nn.Tanh(),
        )

    def forward(self, state: torch.Tensor) -> torch.Tensor:
        return self.net(state)


class Critic(nn.Module):
    def __init__(self, state_dim: int, action_dim: int, hidden: int = 256) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(state_dim + action_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, 1),
        )

    def forward(self, state: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([state, action], 1))


def data_tensors(data: OfflineDataset, device: str) -> tuple[torch.Tensor, ...]:
    """The transitions as tensors, states normalized up front: ``(states, next_states, actions, rewards, dones)``."""
    rows = data.transitions
    tensor = lambda x: torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)  # noqa: E731
    obs, next_obs = tensor(rows["observations"]), tensor(rows["next_observations"])
    mean, std = obs.mean(0), obs.std(0) + 1e-3
    rewards, dones = tensor(rows["rewards"])[:, None], tensor(rows["terminations"])[:, None]
    return (obs - mean) / std, (next_obs - mean) / std, tensor(rows["actions"]), rewards, dones


class PlainTD3BC:
    """TD3+BC (Fujimoto & Gu 2021) in plain PyTorch: the data as tensors, one ``train`` call per update."""

    def __init__(self, data: OfflineDataset, batch_size: int, device: str, seed: int) -> None:
        torch.manual_seed(seed)
        self.states, self.next_states, self.actions, self.rewards, self.dones = data_tensors(data, device)
        state_dim, action_dim = self.states.shape[1], self.actions.shape[1]
        self.actor = Actor(state_dim, action_dim).to(device)
        self.actor_target = copy.deepcopy(self.actor)
        self.critic_1, self.critic_2 = (
            Critic(state_dim, action_dim).to(device),
            Critic(state_dim, action_dim).to(device),
        )
        self.critic_1_target, self.critic_2_target = copy.deepcopy(self.critic_1), copy.deepcopy(self.critic_2)
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4)
        self.critic_1_optimizer = torch.optim.Adam(self.critic_1.parameters(), lr=3e-4)
        self.critic_2_optimizer = torch.optim.Adam(self.critic_2.parameters(), lr=3e-4)
        self.batch_size, self.device, self.total_it = batch_size, device, 0
        self.discount, self.tau, self.policy_noise, self.noise_clip, self.policy_freq, self.alpha = (
            0.99, 0.005, 0.2, 0.5, 2, 2.5,
        )  # fmt: skip

    def soft_update(self, target: nn.Module, source: nn.Module) -> None:
        for target_param, source_param in zip(target.parameters(), source.parameters()):
            target_param.data.copy_((1 - self.tau) * target_param.data + self.tau * source_param.data)

    def train(self) -> dict[str, float]:
        self.total_it += 1
        index = torch.randint(0, len(self.states), (self.batch_size,), device=self.device)
        state, action, reward = self.states[index], self.actions[index], self.rewards[index]
        next_state, done = self.next_states[index], self.dones[index]
        with torch.no_grad():
            noise = (torch.randn_like(action) * self.policy_noise).clamp(-self.noise_clip, self.noise_clip)
            next_action = (self.actor_target(next_state) + noise).clamp(-1.0, 1.0)
            target_q1 = self.critic_1_target(next_state, next_action)
            target_q2 = self.critic_2_target(next_state, next_action)
            target_q = reward + (1 - done) * self.discount * torch.min(target_q1, target_q2)
        current_q1, current_q2 = self.critic_1(state, action), self.critic_2(state, action)
        critic_loss = F.mse_loss(current_q1, target_q) + F.mse_loss(current_q2, target_q)
        log = {"critic_loss": critic_loss.item()}
        self.critic_1_optimizer.zero_grad()
        self.critic_2_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_1_optimizer.step()
        self.critic_2_optimizer.step()
        if self.total_it % self.policy_freq == 0:
            pi = self.actor(state)
            q = self.critic_1(state, pi)
            lmbda = self.alpha / q.abs().mean().detach()
            actor_loss = -lmbda * q.mean() + F.mse_loss(pi, action)
            log["actor_loss"] = actor_loss.item()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            self.soft_update(self.critic_1_target, self.critic_1)
            self.soft_update(self.critic_2_target, self.critic_2)
            self.soft_update(self.actor_target, self.actor)
        return log

    def learn(self, updates: int) -> None:
        for _ in range(updates):
            self.train()


# ---------------------------------------------------------------- the library's agents
def first_transitions(dataset: OfflineDataset, count: int) -> OfflineDataset:
    """The dataset cut to its first ``count`` transitions."""
    data = dataset.transitions
    count = min(count, len(data["observations"]))
    arrays = {k: data[k][:count] for k in list(data) if k != "episode_index"}
    return OfflineDataset.from_arrays(**arrays, env_id=dataset.env_id, dataset_id=f"{dataset.dataset_id}[:{count}]")


def library_agents(args, dataset: OfflineDataset) -> dict:
    """name -> (agent, timed updates, cache fill metrics or None), the data loaded and the DWM's cache filled."""
    dwm, onestep = (str(resolve_checkpoint("hopper", "medium", kind)) for kind in ("dwm", "onestep"))
    common = dict(batch_size=args.batch_size, device=args.device, seed=args.seed)
    specs = {
        "TD3BC": (TD3BC, {}, args.updates),
        "IQL": (IQL, {}, args.updates),
        "DWM-TD3BC": (
            TD3BC,
            dict(
                replay_buffer_class=DiffusionMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model=dwm, horizon=args.horizon, rtg=0.8, seed=args.seed),
            ),
            args.updates,
        ),
        "OneStep-TD3BC": (
            TD3BC,
            dict(
                replay_buffer_class=OneStepMVEReplayBuffer,
                replay_buffer_kwargs=dict(world_model=onestep, horizon=args.horizon, seed=args.seed),
            ),
            args.onestep_updates,
        ),
        "TD3BC, fused Adam": (TD3BC, dict(policy_kwargs=dict(optimizer_kwargs={"fused": True})), args.updates),
    }
    agents = {}
    for name, (cls, kwargs, updates) in specs.items():
        agent = cls("MlpPolicy", dataset.env_id, **common, **kwargs).load_dataset(dataset)
        fill = agent.replay_buffer.fill_cache() if isinstance(agent.replay_buffer, DiffusionMVEReplayBuffer) else None
        agents[name] = (agent, updates, fill)
    return agents


def timed(learn, updates: int) -> tuple[float, float]:
    """(wall-clock, process-CPU) updates/s of ``learn(updates)``."""
    wall, cpu = time.perf_counter(), time.process_time()
    learn(updates)
    return updates / (time.perf_counter() - wall), updates / max(time.process_time() - cpu, 1e-9)


def profile(agent, updates: int) -> list[dict]:
    """The phases of ``updates`` more updates of a library agent (ms per update, share of the wall time)."""
    from dwm_gym.benchmarking.update_profile import PhaseTimer, update_phases

    timer = PhaseTimer()
    with timer.watch(update_phases(agent)):
        agent.learn(updates, reset_num_timesteps=False)
    return [{"phase": phase, "ms": ms, "share": share} for phase, ms, share in timer.table(updates)]


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/update_speed.json", device="cpu")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--transitions", type=int, default=20_000)
    parser.add_argument("--horizon", type=int, default=5)
    parser.add_argument("--updates", type=int, default=300, help="timed updates per round (OneStep: --onestep-updates)")
    parser.add_argument("--onestep-updates", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (medians reported)")
    parser.add_argument("--profile-updates", type=int, default=600, help="profiled updates per method (0: none)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    tiny = {"transitions": 300, "updates": 4, "onestep_updates": 2, "rounds": 2, "profile_updates": 4, "batch_size": 16}
    args = parse_args(parser, tiny=tiny)
    torch.set_num_threads(args.threads)
    if args.tiny:
        args.dataset = tiny_dataset()
    dataset = first_transitions(OfflineDataset.from_minari(args.dataset), args.transitions)
    agents = library_agents(args, dataset)
    plain = PlainTD3BC(dataset, args.batch_size, args.device, args.seed)
    learners = {
        name: (lambda n, a=agent: a.learn(n, reset_num_timesteps=False), n) for name, (agent, n, _) in agents.items()
    }
    learners["plain PyTorch TD3+BC"] = (plain.learn, args.updates)
    for learn, updates in learners.values():  # warm-up (first calls allocate)
        learn(max(2, updates // 10))
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in learners}
    for _ in range(args.rounds):
        for name, (learn, updates) in learners.items():
            samples[name].append(timed(learn, updates))
    rows = []
    for name, (_, updates) in learners.items():
        wall, cpu = (float(np.median([s[i] for s in samples[name]])) for i in (0, 1))
        row = {
            "method": name,
            "updates": updates,
            "rounds": samples[name],
            "updates_per_s": wall,
            "updates_per_cpu_s": cpu,
        }
        if name in agents and agents[name][2] is not None:
            row["cache_fill_s"] = agents[name][2]["seconds"]
        rows.append(row)
    by_name = {row["method"]: row for row in rows}
    base = by_name["TD3BC"]
    for row in rows:
        row["cost_vs_td3bc"] = base["updates_per_cpu_s"] / row["updates_per_cpu_s"]
    profiles = {
        name: profile(agent, args.profile_updates) for name, (agent, _, _) in agents.items() if args.profile_updates
    }
    machine = machine_info()
    print(f"\n{dataset.dataset_id}, batch {args.batch_size}, {args.device}, {machine['torch_threads']} thread(s), ")
    print(f"{machine['cpu_count']} CPUs, load {machine['load_average'][0]:.1f}, median of {args.rounds} rounds")
    print(f"{'method':24s} {'updates/s':>10s} {'per CPU s':>10s} {'x TD3BC':>8s}")
    for row in rows:
        rates = f"{row['updates_per_s']:10.1f} {row['updates_per_cpu_s']:10.1f}"
        print(f"{row['method']:24s} {rates} {row['cost_vs_td3bc']:8.2f}")
    for name, phases in profiles.items():
        print(f"\n{name}: " + ", ".join(f"{p['phase']} {p['ms']:.2f} ms ({100 * p['share']:.0f} %)" for p in phases))
    result = {
        "command": command_line(args),
        "dataset": dataset.dataset_id,
        "horizon": args.horizon,
        "batch_size": args.batch_size,
        "device": args.device,
        "rows": rows,
        "profiles": profiles,
        "td3bc_vs_plain": base["updates_per_cpu_s"] / by_name["plain PyTorch TD3+BC"]["updates_per_cpu_s"],
        "dwm_cost_vs_td3bc": by_name["DWM-TD3BC"]["cost_vs_td3bc"],
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
