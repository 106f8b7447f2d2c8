"""An SB3 ``VecEnv`` over :class:`DiffusionImaginedVectorEnv` (SB3 rejects Gymnasium vector envs).

SB3 resets a finished sub-env inside the same ``step`` and hands the last observation over in
``info["terminal_observation"]``, with ``info["TimeLimit.truncated"]`` for time limits.
"""

from __future__ import annotations

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv

from dwm_gym.envs.vector_env import DiffusionImaginedVectorEnv


class SB3ImaginedVecEnv(VecEnv):
    """Lets SB3 algorithms step a batched imagined env directly.

    Args:
        venv: The imagined vector env (one batched sampler call per step).

    Example:
        >>> venv = SB3ImaginedVecEnv(DiffusionImaginedVectorEnv(8, task="hopper", quality="medium"))
        >>> TD3("MlpPolicy", venv).learn(1_000)
    """

    def __init__(self, venv: DiffusionImaginedVectorEnv) -> None:
        self.venv = venv
        self.render_mode = None
        super().__init__(venv.num_envs, venv.single_observation_space, venv.single_action_space)
        self._actions: np.ndarray | None = None

    def reset(self) -> np.ndarray:
        """Resets every sub-env with the first seed given to ``seed()`` (if any); returns the observations."""
        seed = self._seeds[0]
        obs, _ = self.venv.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Stores the actions; the batched imagination runs in :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self):
        """Imagines one step for all sub-envs and resets finished ones in the same call, SB3-style.

        A finished sub-env's last state goes to ``info["terminal_observation"]``, with
        ``info["TimeLimit.truncated"]``; every ``info`` carries the step's ``discount``.
        """
        rewards, terminated, truncated, info = self.venv.advance(self._actions)
        done = terminated | truncated
        infos = [{"discount": float(info["discount"][i])} for i in range(self.num_envs)]
        if done.any():
            final_obs = self.venv.observations()
            self.venv.reset_envs(done)
            for i in np.flatnonzero(done):
                infos[i]["terminal_observation"] = final_obs[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i])
        return self.venv.observations(), rewards.astype(np.float32), done, infos

    def close(self) -> None:
        """Closes the wrapped imagined vector env."""
        self.venv.close()

    def get_attr(self, attr_name: str, indices=None) -> list:
        """The wrapped vector env's attribute, repeated once per requested sub-env (they share it)."""
        return [getattr(self.venv, attr_name)] * len(self._indices(indices))

    def set_attr(self, attr_name: str, value, indices=None) -> None:
        """Sets the attribute on the wrapped vector env, so for all sub-envs whatever ``indices`` says."""
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args, indices=None, **method_kwargs) -> list:
        """Calls the method once on the wrapped vector env; its result is repeated per requested sub-env."""
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None) -> list[bool]:
        """Always ``False`` per sub-env: the imagined envs carry no Gymnasium wrappers."""
        return [False] * len(self._indices(indices))

    def _indices(self, indices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        return [indices] if isinstance(indices, int) else list(indices)
