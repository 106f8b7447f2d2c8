"""benchmarks/seed_batching.py: K seeds trained as one stacked network train as K separate runs would."""

import sys
from pathlib import Path

import numpy as np
import torch

from dwm_gym.data import OfflineDataset

sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))

from seed_batching import SeedBatchedTD3BC  # noqa: E402


def small_dataset() -> OfflineDataset:
    rng = np.random.default_rng(0)
    n = 64
    truncations = np.zeros(n, dtype=bool)
    truncations[31::32] = True
    states = rng.normal(size=(n + 1, 11)).astype(np.float32)
    return OfflineDataset.from_arrays(
        observations=states[:n],
        actions=rng.uniform(-1, 1, size=(n, 3)).astype(np.float32),
        rewards=rng.normal(size=n).astype(np.float32),
        next_observations=states[1:],
        terminations=np.zeros(n, dtype=bool),
        truncations=truncations,
        env_id="Hopper-v5",
    )


def seed_slice(run: SeedBatchedTD3BC, k: int, seeds: int) -> dict[str, torch.Tensor]:
    """Seed ``k``'s weights of every stacked network (its two critics sit at k and seeds + k)."""
    out = {}
    for name in ("actor", "actor_target"):
        out.update({f"{name}.{n}": p[k : k + 1] for n, p in getattr(run, name).state_dict().items()})
    for name in ("critics", "critics_target"):
        rows = [k, seeds + k]
        out.update({f"{name}.{n}": p[rows] for n, p in getattr(run, name).state_dict().items()})
    return out


def test_seeds_in_one_network_train_as_separate_runs():
    data, seeds, updates = small_dataset(), 3, 6
    batched = SeedBatchedTD3BC(data, seeds, batch_size=8, device="cpu", seed=0)
    singles = [SeedBatchedTD3BC(data, 1, batch_size=8, device="cpu", seed=1 + k) for k in range(seeds)]
    for k, single in enumerate(singles):  # seed k's run starts from seed k's slice of the stacked weights
        start = seed_slice(batched, k, seeds)
        for name in ("actor", "actor_target", "critics", "critics_target"):
            prefix = f"{name}."
            getattr(single, name).load_state_dict(
                {n[len(prefix) :]: v for n, v in start.items() if n.startswith(prefix)}
            )
    before = {n: v.clone() for n, v in seed_slice(batched, 0, seeds).items()}
    for _ in range(updates):
        index, noise = batched.draw()
        batched.train(index, noise)
        for k, single in enumerate(singles):
            single.train(index[k : k + 1], noise[k : k + 1])
    for k, single in enumerate(singles):
        mine = seed_slice(single, 0, 1)
        for name, value in seed_slice(batched, k, seeds).items():
            torch.testing.assert_close(value, mine[name], rtol=1e-5, atol=1e-6, msg=f"seed {k}, {name}")
    after = seed_slice(batched, 0, seeds)
    assert all(not torch.equal(before[n], after[n]) for n in before if not n.endswith("target.biases.2"))  # trained
