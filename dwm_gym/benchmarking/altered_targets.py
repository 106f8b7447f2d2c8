"""Altered data and altered H = 1 targets for ``h1_divergence.py``: which part of the imagined step matters.

* :class:`OnePartImaginedBuffer`: the DWM's first imagined step with one part (reward, next state or
  termination) kept and the other two replaced by the data's;
* :func:`unmask_falls`: a dataset in which a share of the falls are turned into time-limit truncations.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import torch as th

from dwm_gym.value_expansion import DiffusionMVEReplayBuffer

TAIL = 0.01  # share of the transitions whose imagined next state is farthest from the real one ("state-tail")


class OnePartImaginedBuffer(DiffusionMVEReplayBuffer):
    """H = 1 with one part of the first imagined step (reward, state or termination) kept, the others the data's.

    Args:
        *args: ``DiffusionMVEReplayBuffer``'s.
        imagined: ``reward``, ``state`` or ``termination``: the part left as the DWM imagined it;
            ``state-tail``: the state, but the data's at the TAIL transitions where the two differ most;
            ``state-x<k>`` (``state-x0.5``): the real next state plus k times the DWM's error.
        **kwargs: ``DiffusionMVEReplayBuffer``'s (``horizon`` must be 1).
    """

    def __init__(self, *args, imagined: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        part, _, option = imagined.partition("-")
        valid = part in ("reward", "state", "termination") and (
            not option or (part == "state" and (option == "tail" or option.startswith("x")))
        )
        if self.horizon != 1 or not valid:
            raise ValueError(
                f"expected horizon 1 and imagined reward/state/termination/state-tail/state-x<k>, got "
                f"{self.horizon}/{imagined}"
            )
        self.imagined, self.cut_tail, self.tail = part, option == "tail", None
        self.error_scale = float(option[1:]) if option.startswith("x") else 1.0

    def prepare(self, progress: bool = False) -> dict[str, float]:
        """Loads the cache; for ``state-tail``, marks the TAIL rows whose ŝ_{t+1} is farthest from s_{t+1}."""
        metrics = super().prepare(progress)
        if self.cut_tail:
            size = self.size()
            scale = self.observations[:size, 0].std(0) + 1e-6
            imagined = self.cache.states[:size, 0, 0].cpu().numpy()
            error = (((imagined - self.next_observations[:size, 0]) / scale) ** 2).mean(1)
            self.tail = error > np.quantile(error, 1.0 - TAIL)
        return metrics

    def imagine_rows(self, rows, obs, actions):
        """The cached first step, with the data's reward, next state or termination put in for the other parts."""
        states, rewards, terminated = super().imagine_rows(rows, obs, actions)
        index, env = rows // self.n_envs, rows % self.n_envs
        real = th.as_tensor(self.next_observations[index, env]).reshape(states.shape).to(states)
        if self.imagined != "reward":
            rewards = th.as_tensor(self.rewards[index, env]).reshape(rewards.shape).to(rewards)
        if self.imagined != "state":
            states = real
        elif self.tail is not None:
            states = th.where(th.as_tensor(self.tail[index]).reshape(-1, 1, 1), real, states)
        else:
            states = real + self.error_scale * (states - real)
        if self.imagined != "termination":
            terminated = self.data_terminations(index, env, terminated.device).expand_as(terminated)
        return states, rewards, terminated


def unmask_falls(dataset, fraction: float):
    """A copy of ``dataset`` in which ``fraction`` of the terminated episodes end in a truncation instead.

    Returns:
        The altered dataset and the number of falls unmasked.
    """
    falls = [i for i, episode in enumerate(dataset.episodes) if episode.terminated]
    chosen = set(np.random.default_rng(0).choice(falls, size=round(fraction * len(falls)), replace=False).tolist())
    episodes = []
    for i, episode in enumerate(dataset.episodes):
        if i in chosen:
            terminations, truncations = episode.terminations.copy(), episode.truncations.copy()
            terminations[-1], truncations[-1] = False, True
            episode = dataclasses.replace(episode, terminations=terminations, truncations=truncations)
        episodes.append(episode)
    return dataclasses.replace(dataset, episodes=episodes), len(chosen)
