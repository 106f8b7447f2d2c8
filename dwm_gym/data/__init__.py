"""Offline data: datasets, DWM windows, normalizers, D4RL-recipe generation."""

from dwm_gym.data.episode import DatasetError, Episode
from dwm_gym.data.generation import make_dataset
from dwm_gym.data.normalizers import CDFNormalizer, MinMaxNormalizer
from dwm_gym.data.offline_dataset import OfflineDataset
from dwm_gym.data.specs import TASKS, dataset_id, reference_scores, task_spec
from dwm_gym.data.windows import DWMWindows, WindowBatch

__all__ = [
    "CDFNormalizer",
    "DWMWindows",
    "DatasetError",
    "Episode",
    "MinMaxNormalizer",
    "OfflineDataset",
    "TASKS",
    "WindowBatch",
    "dataset_id",
    "make_dataset",
    "reference_scores",
    "task_spec",
]
