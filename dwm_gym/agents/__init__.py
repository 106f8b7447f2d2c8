"""Offline RL agents in SB3 style (TD3BC, IQL) that train with any replay buffer class."""

from dwm_gym.agents.agent_files import AgentFileError, load_agent_file, save_agent
from dwm_gym.agents.anchored_td3 import AnchoredTD3
from dwm_gym.agents.iql import IQL
from dwm_gym.agents.iql_policy import IQLPolicy
from dwm_gym.agents.normalization import NormalizedFlattenExtractor
from dwm_gym.agents.offline import OfflineAlgorithm, offline_learn
from dwm_gym.agents.td3bc import TD3BC

__all__ = [
    "AgentFileError",
    "AnchoredTD3",
    "IQL",
    "IQLPolicy",
    "NormalizedFlattenExtractor",
    "OfflineAlgorithm",
    "TD3BC",
    "load_agent_file",
    "offline_learn",
    "save_agent",
]
