"""Is training K seeds as one batched network cheaper than K runs? TD3+BC updates/s per seed, side by side.

Usage:
    OMP_NUM_THREADS=1 python benchmarks/seed_batching.py [--dataset dwm_gym/hopper/medium-v0] [--transitions 20000]
        [--seeds-per-process 1,2,5,10] [--updates 200] [--rounds 5] [--batch-size 128] [--threads 1] [--seed 0]
        [--device cpu] [--json benchmarks/results/seed_batching.json] [--tiny]

A plain-PyTorch TD3+BC (the sizes and constants of ``update_speed.py``'s independent one: two hidden layers of
256, batch 128, two critics, policy delay 2) whose every weight carries a leading seed axis: K seeds' actors and
critics run as batched matrix products (``torch.baddbmm``) on K independent minibatches, and one Adam steps the
stacked weights. Adam and the losses act on each seed's slice alone (the loss is the sum of the seeds' losses,
the actor's λ is computed per seed), so K seeds in one network train as K separate runs would, up to float
rounding. Each K is timed over ``--updates`` updates in ``--rounds`` interleaved rounds, beside
``update_speed.py``'s one-seed plain TD3+BC (``nn.Linear`` layers) and the library's ``TD3BC`` (one seed, its
defaults); the table gives the median seed-updates per CPU second (K x updates / CPU s) and its ratio to K = 1
(the cost of K separate runs of the stacked code) and to the library's one-seed TD3BC, the one a sweep runs.
``--tiny``: batch 16 on 300 transitions of a generated hopper-medium dataset, a few updates (smoke test).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn
from update_speed import PlainTD3BC, data_tensors  # the script's folder is on the path

from dwm_gym.agents import TD3BC
from dwm_gym.benchmarking.harness import command_line, machine_info, make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset


class SeedMLP(nn.Module):
    """K independent MLPs ``in -> hidden -> hidden -> out`` (ReLU), their weights stacked on a leading axis."""

    def __init__(self, seeds: int, sizes: list[int], generator: torch.Generator, device: str) -> None:
        super().__init__()
        self.weights, self.biases = nn.ParameterList(), nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
            bound = 1.0 / fan_in**0.5  # nn.Linear's default init
            weight = (torch.rand(seeds, fan_in, fan_out, generator=generator) * 2 - 1) * bound
            bias = (torch.rand(seeds, 1, fan_out, generator=generator) * 2 - 1) * bound
            self.weights.append(nn.Parameter(weight.to(device)))
            self.biases.append(nn.Parameter(bias.to(device)))

    def forward(self, x: torch.Tensor, first: int | None = None) -> torch.Tensor:
        """``x (K, B, in)`` to ``(K, B, out)``; with ``first``, only the first ``first`` networks run on ``x``."""
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            x = torch.baddbmm(bias[:first], x, weight[:first])
            if i < last:
                x = torch.relu(x)
        return x


class SeedBatchedTD3BC:
    """K seeds of TD3+BC (Fujimoto & Gu 2021) as one set of stacked networks, one ``train`` call per update."""

    def __init__(self, data: OfflineDataset, seeds: int, batch_size: int, device: str, seed: int) -> None:
        self.states, self.next_states, self.actions, self.rewards, self.dones = data_tensors(data, device)
        state_dim, action_dim = self.states.shape[1], self.actions.shape[1]
        self.generator = torch.Generator(device=device).manual_seed(seed)
        init = torch.Generator().manual_seed(seed)
        self.actor = SeedMLP(seeds, [state_dim, 256, 256, action_dim], init, device)
        self.critics = SeedMLP(2 * seeds, [state_dim + action_dim, 256, 256, 1], init, device)  # [Q1 of K; Q2 of K]
        self.actor_target = SeedMLP(seeds, [state_dim, 256, 256, action_dim], init, device)
        self.critics_target = SeedMLP(2 * seeds, [state_dim + action_dim, 256, 256, 1], init, device)
        self.actor_target.load_state_dict(self.actor.state_dict())
        self.critics_target.load_state_dict(self.critics.state_dict())
        self.actor_optimizer = torch.optim.Adam(self.actor.parameters(), lr=3e-4, foreach=True)
        self.critic_optimizer = torch.optim.Adam(self.critics.parameters(), lr=3e-4, foreach=True)
        self.seeds, self.batch_size, self.device, self.total_it = seeds, batch_size, device, 0
        self.discount, self.tau, self.policy_noise, self.noise_clip, self.policy_freq, self.alpha = (
            0.99, 0.005, 0.2, 0.5, 2, 2.5,
        )  # fmt: skip

    def q_pair(self, critics: SeedMLP, state: torch.Tensor, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Both critics of every seed on ``(K, B, ·)`` inputs: two ``(K, B, 1)`` tensors."""
        pair = torch.cat([state, action], 2).repeat(2, 1, 1)
        q = critics(pair)
        return q[: self.seeds], q[self.seeds :]

    def draw(self) -> tuple[torch.Tensor, torch.Tensor]:
        """One update's random draws: minibatch rows ``(K, B)`` and target-smoothing noise ``(K, B, action)``."""
        k, b = self.seeds, self.batch_size
        index = torch.randint(0, len(self.states), (k, b), device=self.device, generator=self.generator)
        noise = torch.randn(k, b, self.actions.shape[1], device=self.device, generator=self.generator)
        return index, noise

    def train(self, index: torch.Tensor, noise: torch.Tensor) -> None:
        """One update of every seed on its rows ``index[k]`` with its standard-normal ``noise[k]``."""
        self.total_it += 1
        k = self.seeds
        state, action, reward = self.states[index], self.actions[index], self.rewards[index]
        next_state, done = self.next_states[index], self.dones[index]
        with torch.no_grad():
            noise = noise * self.policy_noise
            next_action = torch.tanh(self.actor_target(next_state)) + noise.clamp(-self.noise_clip, self.noise_clip)
            target_q1, target_q2 = self.q_pair(self.critics_target, next_state, next_action.clamp(-1.0, 1.0))
            target_q = reward + (1 - done) * self.discount * torch.min(target_q1, target_q2)
        current_q1, current_q2 = self.q_pair(self.critics, state, action)
        # the sum over seeds of each seed's mean squared error: every seed's gradient is its own run's
        critic_loss = ((current_q1 - target_q) ** 2 + (current_q2 - target_q) ** 2).mean(dim=(1, 2)).sum()
        self.critic_optimizer.zero_grad()
        critic_loss.backward()
        self.critic_optimizer.step()
        if self.total_it % self.policy_freq == 0:
            pi = torch.tanh(self.actor(state))
            q = self.critics(torch.cat([state, pi], 2), first=k)  # Q1 of every seed only, as TD3+BC's actor step
            lmbda = self.alpha / q.abs().mean(dim=(1, 2)).detach()
            actor_loss = (-lmbda * q.mean(dim=(1, 2)) + ((pi - action) ** 2).mean(dim=(1, 2))).sum()
            self.actor_optimizer.zero_grad()
            actor_loss.backward()
            self.actor_optimizer.step()
            with torch.no_grad():
                for target, source in ((self.critics_target, self.critics), (self.actor_target, self.actor)):
                    torch._foreach_lerp_(list(target.parameters()), list(source.parameters()), self.tau)

    def learn(self, updates: int) -> None:
        """Runs ``updates`` updates, each with fresh draws from the run's generator."""
        for _ in range(updates):
            self.train(*self.draw())


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/seed_batching.json", device="cpu")
    parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
    parser.add_argument("--transitions", type=int, default=20_000)
    parser.add_argument("--seeds-per-process", default="1,2,5,10", help="the K values, comma-separated (1 first)")
    parser.add_argument("--updates", type=int, default=200, help="timed updates per round and K")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds (medians reported)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parse_args(parser, tiny={"transitions": 300, "updates": 4, "rounds": 2, "batch_size": 16})
    torch.set_num_threads(args.threads)
    if args.tiny:
        args.dataset = tiny_dataset()
    ks = [int(k) for k in str(args.seeds_per_process).split(",")]
    if ks[0] != 1:
        raise SystemExit(f"--seeds-per-process must start with 1 (the K separate runs' cost), got {ks}")
    data = OfflineDataset.from_minari(args.dataset)
    count = min(args.transitions, len(data.transitions["observations"]))
    arrays = {key: value[:count] for key, value in data.transitions.items() if key != "episode_index"}
    dataset = OfflineDataset.from_arrays(**arrays, env_id=data.env_id, dataset_id=f"{data.dataset_id}[:{count}]")
    runs = {k: SeedBatchedTD3BC(dataset, k, args.batch_size, args.device, args.seed) for k in ks}
    learners = {str(k): (run.learn, k) for k, run in runs.items()}
    learners["plain"] = (PlainTD3BC(dataset, args.batch_size, args.device, args.seed).learn, 1)
    library = TD3BC("MlpPolicy", dataset.env_id, batch_size=args.batch_size, device=args.device, seed=args.seed)
    library.load_dataset(dataset)
    learners["library"] = (lambda n: library.learn(n, reset_num_timesteps=False), 1)
    for learn, _ in learners.values():
        learn(max(2, args.updates // 10))  # warm-up (first calls allocate)
    rates: dict[str, list[float]] = {name: [] for name in learners}
    for _ in range(args.rounds):
        for name, (learn, k) in learners.items():
            cpu = time.process_time()
            learn(args.updates)
            rates[name].append(k * args.updates / max(time.process_time() - cpu, 1e-9))
    base, plain, single = (float(np.median(rates[name])) for name in ("1", "plain", "library"))
    rows = [
        {"seeds": k, "rounds": rates[str(k)], "seed_updates_per_cpu_s": float(np.median(rates[str(k)]))} for k in ks
    ]
    for row in rows:
        row["speedup_vs_separate"] = row["seed_updates_per_cpu_s"] / base
        row["speedup_vs_library"] = row["seed_updates_per_cpu_s"] / single
    machine = machine_info()
    print(f"\n{dataset.dataset_id}, batch {args.batch_size}, {machine['torch_threads']} thread(s), "
          f"load {machine['load_average'][0]:.1f}, median of {args.rounds} rounds")  # fmt: skip
    print(f"{'seeds per process':>18s} {'seed-updates per CPU s':>24s} {'x K = 1':>8s} {'x TD3BC':>8s}")
    for row in rows:
        ratios = f"{row['speedup_vs_separate']:>8.2f} {row['speedup_vs_library']:>8.2f}"
        print(f"{row['seeds']:>18d} {row['seed_updates_per_cpu_s']:>24.1f} {ratios}")
    print(f"{'plain, one seed':>18s} {plain:>24.1f}")
    print(f"{'TD3BC, one seed':>18s} {single:>24.1f}")
    result = {
        "command": command_line(args),
        "dataset": dataset.dataset_id,
        "batch_size": args.batch_size,
        "rows": rows,
        "plain_updates_per_cpu_s": plain,
        "plain_rounds": rates["plain"],
        "library_td3bc_updates_per_cpu_s": single,
        "library_td3bc_rounds": rates["library"],
    }
    write_result(args.json, result, args)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
