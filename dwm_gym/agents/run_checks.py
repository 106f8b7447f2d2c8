"""Settings of an offline-RL run that would have no effect in their combination: refused before any work.

A run records every setting in its ``agent.json``; one that did not apply (``--horizon 3`` without a world
model) would read as if it had. On the command line :func:`check_settings_apply` refuses such combinations,
naming the flag and what it needs; from Python, :func:`~dwm_gym.agents.runs.train_agent` warns
(:class:`SettingWithoutEffectWarning`) and records them under ``settings_without_effect`` in ``agent.json``.
"""

from __future__ import annotations

import dataclasses
import warnings

from dwm_gym.agents.run_config import AgentRunConfig, world_model_kind_of
from dwm_gym.world_model.registry import model_class

__all__ = [
    "SettingWithoutEffectWarning",
    "check_settings_apply",
    "settings_without_effect",
    "warn_settings_without_effect",
]

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(AgentRunConfig)}
_MODEL_BASED = (
    "horizon", "rtg", "cache", "cache_samples", "cache_file", "data_termination", "handover_start", "handover_end",
)  # fmt: skip
_CACHE = ("rtg", "cache", "cache_samples", "cache_file")  # settings of the DWM's cached imagination


class SettingWithoutEffectWarning(UserWarning):
    """A run setting that has no effect in the run's combination of settings."""


def _flag(name: str) -> str:
    return f"--{name.replace('_', '-')}"


def settings_without_effect(config: AgentRunConfig) -> dict[str, str]:
    """Setting -> why it has no effect, for the settings ``config`` changes from their defaults in vain."""
    changed = {name for name, default in _DEFAULTS.items() if getattr(config, name) != default}
    why: dict[str, str] = {}
    kind = world_model_kind_of(config.world_model, config.dataset)
    if kind is None:
        why.update({n: "it applies only with --world-model" for n in _MODEL_BASED if n in changed})
    elif model_class(kind).needs_policy:  # segments follow the policy: no RTG, no cache
        why.update({n: f"a {kind} world model imagines without RTG or cache" for n in _CACHE if n in changed})
    elif not config.cache:
        off = "it applies to the cache, which --fresh / --no-cache turns off"
        why.update({n: off for n in _CACHE[2:] if n in changed})
    if config.algo != "iql" and "td_lambda" in changed:
        why["td_lambda"] = "it is an IQL setting"
    if config.algo == "td3":
        why.update({n: "it is a TD3BC and IQL setting" for n in ("handover_start", "handover_end") if n in changed})
    return why


def _message(config: AgentRunConfig, why: dict[str, str]) -> str:
    detail = "; ".join(f"{_flag(name)} {getattr(config, name)!r}: {reason}" for name, reason in why.items())
    return f"settings without effect in this combination ({detail})"


def check_settings_apply(config: AgentRunConfig) -> None:
    """Raises ValueError naming each flag that has no effect in ``config``'s combination, and why."""
    why = settings_without_effect(config)
    if why:
        raise ValueError(_message(config, why) + ": drop them")


def warn_settings_without_effect(config: AgentRunConfig) -> None:
    """Warns (:class:`SettingWithoutEffectWarning`) naming each setting without effect in ``config``."""
    why = settings_without_effect(config)
    if why:
        warnings.warn(_message(config, why), SettingWithoutEffectWarning, stacklevel=3)
