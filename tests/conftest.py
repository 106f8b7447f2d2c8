"""Shared fixtures: every test writes datasets and policies into its own temp folders."""

from __future__ import annotations

import os

# MuJoCo renders off-screen without a display (must be set before mujoco creates a context)
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np
import pytest


@pytest.fixture(autouse=True)
def isolated_homes(tmp_path, monkeypatch):
    """Point Minari and dwm_gym at empty temp folders (never the user's home)."""
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    monkeypatch.setenv("DWM_GYM_HOME", str(tmp_path / "dwm_gym_home"))
    return tmp_path


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
