"""``AnchoredTD3``: SB3 TD3 that learns online in a model (the imagined env) while anchored to the data.

Stock TD3 trained in a learned model exploits the model's errors: the actor climbs the imagined
return wherever the model is wrong (docs/envs.md, "Training in imagination"). The field's two
standard anchors to the offline dataset the model came from are both here, each one setting:

* ``data_ratio`` (MBPO/MOPO's "real ratio"): that fraction of every minibatch is drawn from the
  dataset's own transitions, so the critic keeps fitting real rewards and terminations;
* ``alpha`` (TD3+BC's actor loss, Fujimoto & Gu 2021): the actor minimizes
  -λ Q(s, π(s)) + ‖π(s_d) - a_d‖² with λ = α / mean|Q|, the behaviour-cloning term on the
  minibatch's data rows. ``alpha=None`` drops it (stock TD3 actor loss).

``actor_warmup`` holds the actor fixed for its first updates while the critic (and the critic's target,
which TD3 only moves at its delayed actor steps) learns the value of the policy it starts from, e.g. one
cloned from the data. With ``data_ratio=0`` and ``alpha=None`` the agent is SB3's TD3.

The agent still collects every env transition itself (``learn`` steps its env, e.g.
:class:`~dwm_gym.envs.SB3ImaginedVecEnv`); the dataset is read, never stepped.

    agent = AnchoredTD3("MlpPolicy", SB3ImaginedVecEnv(imagined), dataset="dwm_gym/hopper/medium-v0")
    agent.learn(50_000)
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch as th
from stable_baselines3 import TD3
from stable_baselines3.common.type_aliases import GymEnv
from stable_baselines3.common.utils import polyak_update
from torch.nn import functional as F

from dwm_gym.agents.diagnostics import CriticMonitor
from dwm_gym.agents.td3bc import actor_step_and_targets, update_targets
from dwm_gym.data import OfflineDataset


class AnchoredTD3(TD3):
    """TD3 with a data-mixing ratio and a behaviour-cloning actor term (see the module docstring).

    Args:
        policy: ``"MlpPolicy"`` or a TD3 policy class.
        env: The env it learns in (imagined or real).
        dataset: The offline dataset (object or local Minari id) whose transitions anchor learning.
            May be ``None`` only when loading; :meth:`set_dataset` attaches it then.
        data_ratio: Fraction of each minibatch drawn from the dataset, in [0, 1).
        alpha: α of λ = α / mean|Q| (TD3+BC: 2.5); ``None`` for TD3's plain actor loss.
        data_discount: Discount of one dataset transition (default ``gamma``). When the env steps
            H imagined steps at once and ``gamma`` is γ^H, pass γ here.
        data_seed: Seed of the generator that draws dataset rows (default ``seed``).
        actor_warmup: Gradient steps before the first actor update; the targets still follow the
            critic every ``policy_delay`` steps meanwhile.
        **kwargs: Any other TD3 argument (``gamma``, ``seed``, ``device``...).
    """

    def __init__(
        self,
        policy: str | type = "MlpPolicy",
        env: GymEnv | str | None = None,
        dataset: OfflineDataset | str | None = None,
        data_ratio: float = 0.5,
        alpha: float | None = 2.5,
        data_discount: float | None = None,
        data_seed: int | None = None,
        actor_warmup: int = 0,
        **kwargs: Any,
    ) -> None:
        if not 0.0 <= data_ratio < 1.0:
            raise ValueError(f"data_ratio must be in [0, 1), got {data_ratio}")
        if alpha is not None and alpha <= 0:
            raise ValueError(f"alpha must be > 0 or None, got {alpha}")
        if actor_warmup < 0:
            raise ValueError(f"actor_warmup must be >= 0 gradient steps, got {actor_warmup}")
        if (data_ratio > 0 or alpha is not None) and dataset is None and kwargs.get("_init_setup_model", True):
            raise ValueError("data_ratio > 0 or alpha needs the dataset: pass dataset=<OfflineDataset or Minari id>")
        self.data_ratio, self.alpha, self.data_discount = data_ratio, alpha, data_discount
        self.actor_warmup = actor_warmup
        self.data_seed = data_seed if data_seed is not None else kwargs.get("seed")
        self.dataset_id: str | None = None
        self._anchor: dict[str, th.Tensor] | None = None
        self._data_rng = np.random.default_rng(self.data_seed)
        self.critic_monitor = CriticMonitor()
        super().__init__(policy, env, **kwargs)  # type: ignore[arg-type]  # SB3 accepts env None (load); its annotation does not
        if dataset is not None:
            self.set_dataset(dataset)

    def _excluded_save_params(self) -> list[str]:
        return [*super()._excluded_save_params(), "_anchor", "_data_rng"]

    def set_dataset(self, dataset: OfflineDataset | str) -> AnchoredTD3:
        """Attaches the anchoring dataset (again after :meth:`load`: the arrays are not saved).

        Raises:
            ValueError: If the dataset's spaces differ from the agent's.
        """
        data = OfflineDataset.from_minari(dataset) if isinstance(dataset, str) else dataset
        rows = data.transitions
        obs_shape, act_shape = self.observation_space.shape, self.action_space.shape
        if rows["observations"].shape[1:] != obs_shape or rows["actions"].shape[1:] != act_shape:
            raise ValueError(
                f"dataset {data.dataset_id!r} has observations {rows['observations'].shape[1:]} and actions "
                f"{rows['actions'].shape[1:]}; the agent expects {obs_shape} and {act_shape}"
            )
        tensor = lambda x: th.as_tensor(np.asarray(x, dtype=np.float32), device=self.device)  # noqa: E731
        self._anchor = {
            "observations": tensor(rows["observations"]),
            "actions": tensor(self.policy.scale_action(rows["actions"])),
            "rewards": tensor(rows["rewards"]).reshape(-1, 1),
            "next_observations": tensor(rows["next_observations"]),
            "dones": tensor(rows["terminations"]).reshape(-1, 1),
        }
        self.dataset_id = data.dataset_id
        self._data_rng = np.random.default_rng(self.data_seed)
        return self

    def _minibatch(self, batch_size: int) -> tuple[dict[str, th.Tensor], dict[str, th.Tensor] | None]:
        """The critic's minibatch (env rows, then data rows) and the actor's behaviour-cloning rows."""
        n_data = round(self.data_ratio * batch_size)
        assert self.replay_buffer is not None  # built by _setup_model
        env_rows = self.replay_buffer.sample(batch_size - n_data, env=self._vec_normalize_env)
        discount = env_rows.discounts if env_rows.discounts is not None else self.gamma
        batch = {
            "observations": env_rows.observations,
            "actions": env_rows.actions,
            "rewards": env_rows.rewards,
            "next_observations": env_rows.next_observations,
            "dones": env_rows.dones,
            "discounts": th.ones_like(env_rows.rewards) * discount,
        }
        batch = {key: value.float() for key, value in batch.items()}  # the data rows are float32
        if n_data == 0 and self.alpha is None:
            return batch, None
        data = self._data_rows(n_data or batch_size)  # alpha without mixing: a full batch for the BC term
        if n_data:
            batch = {key: th.cat([batch[key], data[key]]) for key in batch}
        return batch, data

    def _data_rows(self, count: int) -> dict[str, th.Tensor]:
        """``count`` dataset transitions drawn uniformly, with their one-transition discount."""
        if self._anchor is None:
            raise ValueError("no dataset attached: call agent.set_dataset(<OfflineDataset or Minari id>) after load")
        index = th.as_tensor(self._data_rng.integers(0, len(self._anchor["rewards"]), count), device=self.device)
        data = {key: value[index] for key, value in self._anchor.items()}
        discount = self.gamma if self.data_discount is None else self.data_discount
        data["discounts"] = th.full_like(data["rewards"], discount)
        return data

    def _critic_step(self, batch: dict[str, th.Tensor]) -> float:
        """One TD3 critic update on ``batch`` (clipped double-Q target of the target actor); returns its loss."""
        with th.no_grad():
            noise = batch["actions"].clone().normal_(0, self.target_policy_noise)
            noise = noise.clamp(-self.target_noise_clip, self.target_noise_clip)
            next_actions = (self.actor_target(batch["next_observations"]) + noise).clamp(-1, 1)
            next_q = th.cat(self.critic_target(batch["next_observations"], next_actions), dim=1)
            bootstrap = (1 - batch["dones"]) * batch["discounts"] * th.min(next_q, dim=1, keepdim=True)[0]
            target_q = batch["rewards"] + bootstrap
        current_q = self.critic(batch["observations"], batch["actions"])
        critic_loss = cast(th.Tensor, sum(F.mse_loss(q, target_q) for q in current_q))
        self.critic_monitor.add(critic_loss.item(), current_q[0], target_q, bootstrap)
        self.critic.optimizer.zero_grad()
        critic_loss.backward()
        self.critic.optimizer.step()
        return critic_loss.item()

    def pretrain_critic(self, updates: int, batch_size: int = 256) -> float:
        """Policy evaluation on the dataset alone: ``updates`` critic steps toward Q of the current actor.

        The actor is held fixed, so the critic learns the value of the policy it will improve (e.g. a
        behaviour-cloned one) before the actor follows its gradient: TD3's actor update on an untrained
        critic undoes a cloned actor within a few hundred updates, in the real env as in a model.

        Returns:
            The critic loss of the last update.
        """
        self.actor_target.load_state_dict(self.actor.state_dict())
        loss = float("nan")
        for _ in range(updates):
            loss = self._critic_step(self._data_rows(batch_size))
            polyak_update(self.critic.parameters(), self.critic_target.parameters(), self.tau)
        self.critic_monitor.record(None, self._n_updates)  # a window of its own in the history
        return loss

    def train(self, gradient_steps: int, batch_size: int = 100) -> None:
        """SB3's TD3 update on mixed minibatches, with the TD3+BC actor loss when ``alpha`` is set."""
        self.policy.set_training_mode(True)
        self._update_learning_rate([self.actor.optimizer, self.critic.optimizer])
        actor_losses, critic_losses, bc_losses = [], [], []
        for _ in range(gradient_steps):
            self._n_updates += 1
            batch, data = self._minibatch(batch_size)
            critic_losses.append(self._critic_step(batch))

            if self._n_updates % self.policy_delay:
                continue
            if self._n_updates <= self.actor_warmup:
                update_targets(self)  # the actor is held; the critic's target must still move
                continue
            q = self.critic.q1_forward(batch["observations"], self.actor(batch["observations"]))
            if self.alpha is None:
                actor_loss = -q.mean()
            else:
                assert data is not None  # _minibatch returns data rows whenever alpha is set
                bc_loss = F.mse_loss(self.actor(data["observations"]), data["actions"])
                actor_loss = -(self.alpha / q.abs().mean().detach()) * q.mean() + bc_loss
                bc_losses.append(bc_loss.item())
            actor_losses.append(actor_loss.item())
            actor_step_and_targets(self, actor_loss)

        self.logger.record("train/n_updates", self._n_updates, exclude="tensorboard")
        self.critic_monitor.record(self.logger, self._n_updates)
        if actor_losses:
            self.logger.record("train/actor_loss", np.mean(actor_losses))
        if bc_losses:
            self.logger.record("train/bc_loss", np.mean(bc_losses))
