"""Periodic evaluation of an offline agent on the real env, logged as return and normalized score.

One evaluation is :func:`dwm_gym.evaluation.policy_eval.evaluate_agent`.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

import numpy as np
from stable_baselines3.common.callbacks import BaseCallback

from dwm_gym.agents.agent_files import save_agent
from dwm_gym.evaluation.policy_eval import evaluate_agent
from dwm_gym.utils.atomic import atomic_write_text

logger = logging.getLogger(__name__)


class EvalOnRealEnvCallback(BaseCallback):
    """Every ``eval_freq`` updates (env steps online): ``n_eval_episodes`` deterministic episodes on the real env.

    Logs ``eval/mean_return``, ``eval/std_return`` and ``eval/normalized_score`` (SB3 logger, so
    TensorBoard too), appends a JSON line per evaluation to ``log_path`` and keeps ``history``.

    A resumed run calls :meth:`restore` with its checkpoint's update count before training: the log then
    holds exactly the evaluations of the run's own past, and an evaluation due at the checkpoint's count that
    the log lacks (the process died during it) is made when training starts.

    Args:
        env_id: The real env, e.g. ``"Hopper-v5"``.
        eval_freq: Updates between evaluations.
        n_eval_episodes: Episodes per evaluation.
        seed: Seed of the first evaluation's episodes (the same every time, so evaluations compare).
        refs: Reference returns of the normalized score: ``"d4rl"`` or ``"v5"``.
        log_path: JSON-lines file (optional).
        best_model_path: Save the model here (pickle-free, :mod:`dwm_gym.agents.agent_files`) whenever the mean
            return improves (optional).
    """

    def __init__(
        self,
        env_id: str,
        eval_freq: int = 10_000,
        n_eval_episodes: int = 10,
        seed: int = 0,
        refs: str = "d4rl",
        log_path: str | os.PathLike | None = None,
        best_model_path: str | os.PathLike | None = None,
        verbose: int = 0,
    ) -> None:
        super().__init__(verbose)
        if eval_freq < 1:
            raise ValueError(f"eval_freq must be >= 1, got {eval_freq}")
        self.env_id, self.eval_freq, self.n_eval_episodes, self.seed, self.refs = (
            env_id,
            eval_freq,
            n_eval_episodes,
            seed,
            refs,
        )
        self.log_path = Path(log_path) if log_path else None
        self.best_model_path = Path(best_model_path) if best_model_path else None
        self.history: list[dict[str, float]] = []
        self._evaluated_periods = 0
        self._restored = False
        self.best_mean_return = -np.inf

    def restore(self, updates: int) -> None:
        """Takes up the evaluations ``log_path`` holds from before a resume at ``updates`` updates.

        Those made after ``updates`` belong to progress the checkpoint did not keep (the run stopped between
        them and its next save) and will be made again; they move, with any unreadable line (a write cut short by a
        kill), to ``<log stem>.dropped.jsonl`` instead of being lost. The rest become ``history``.

        Args:
            updates: The resumed checkpoint's update count (``model.num_timesteps``).
        """
        self._restored, self.history = True, []
        if self.log_path is None or not self.log_path.is_file():
            return
        kept: list[str] = []
        dropped: list[str] = []
        for line in self.log_path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                record = None
            if (
                isinstance(record, dict)
                and isinstance(record.get("timesteps"), (int, float))
                and (record["timesteps"] <= updates)
            ):
                kept.append(line)
                self.history.append(record)
            else:
                dropped.append(line)
        if dropped:
            with self.log_path.with_name(f"{self.log_path.stem}.dropped.jsonl").open("a") as handle:
                handle.write("".join(f"{line}\n" for line in dropped))
            atomic_write_text(self.log_path, "".join(f"{line}\n" for line in kept))
        self.best_mean_return = max((h.get("mean_return", -np.inf) for h in self.history), default=-np.inf)

    def evaluate(self) -> dict[str, float]:
        """Runs one evaluation now, logs and records it."""
        result = evaluate_agent(self.model, self.env_id, self.n_eval_episodes, self.seed, self.refs)
        result["timesteps"] = float(self.num_timesteps)
        for key in ("mean_return", "std_return", "normalized_score"):
            self.logger.record(f"eval/{key}", result[key])
        self.logger.dump(self.num_timesteps)
        self.history.append(result)
        logger.info(
            "update %d: return %.1f, normalized %.3f",
            self.num_timesteps,
            result["mean_return"],
            result["normalized_score"],
        )
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("a") as handle:
                handle.write(json.dumps(result) + "\n")
        if self.best_model_path is not None and result["mean_return"] > self.best_mean_return:
            save_agent(self.model, self.best_model_path)  # pickle-free, stock TD3 included
        self.best_mean_return = max(self.best_mean_return, result["mean_return"])
        return result

    def _on_training_start(self) -> None:
        self._evaluated_periods = self.num_timesteps // self.eval_freq
        if not self._restored or self._evaluated_periods == 0:
            return
        done = {int(h["timesteps"]) // self.eval_freq for h in self.history}
        lost = [k * self.eval_freq for k in range(1, self._evaluated_periods + 1) if k not in done]
        if self.num_timesteps % self.eval_freq == 0 and self.num_timesteps in lost:
            lost.remove(self.num_timesteps)
            self.evaluate()  # due at the checkpoint itself: the run stopped during it
        if lost:
            logger.warning("no evaluation at %s updates: the checkpoint resumed from is past them", lost)

    def _on_step(self) -> bool:
        # Evaluate on crossing each multiple of eval_freq: a vector env adds n_envs steps per call.
        periods = self.num_timesteps // self.eval_freq
        if periods > self._evaluated_periods:
            self._evaluated_periods = periods
            self.evaluate()
        return True
