"""``check_resume_config``: a resumption keeps the learning settings and the world model the run was started with."""

import dataclasses
import json
import logging

import pytest

from dwm_gym.agents.run_config import AgentRunConfig, resolve_world_model
from dwm_gym.agents.run_identity import check_resume_config, world_model_digest


def write_record(path, config: AgentRunConfig, drop: tuple[str, ...] = (), **summary) -> None:
    recorded = {k: v for k, v in dataclasses.asdict(config).items() if k not in drop}
    path.write_text(json.dumps({"config": recorded, **summary}))


def test_a_setting_the_record_lacks_counts_as_its_default(tmp_path):
    path = tmp_path / "agent.json"
    started = AgentRunConfig(world_model="dwm", horizon=7, device="cpu")
    write_record(path, started, drop=("data_termination",))  # a run started before the setting existed
    check_resume_config(path, started)  # the default (False) is what that run used: resumes
    with pytest.raises(ValueError, match="data_termination: False -> True"):
        check_resume_config(path, dataclasses.replace(started, data_termination=True))


def test_learning_settings_must_match_and_schedule_settings_may_change(tmp_path):
    path = tmp_path / "agent.json"
    started = AgentRunConfig(world_model="dwm", horizon=3, device="cpu")
    write_record(path, started)
    check_resume_config(path, dataclasses.replace(started, steps=200_000, eval_every=5_000))
    with pytest.raises(ValueError, match="horizon: 3 -> 5"):
        check_resume_config(path, dataclasses.replace(started, horizon=5))
    check_resume_config(tmp_path / "new.json", dataclasses.replace(started, horizon=5))  # a new run: nothing to check


def test_the_world_model_must_be_the_one_the_run_started_with(tmp_path, caplog):
    path = tmp_path / "agent.json"
    started = AgentRunConfig(world_model="dwm", device="cpu")
    resolved = resolve_world_model("dwm", started.dataset)
    digest = resolved.digest
    write_record(path, started, world_model_digest=digest)
    check_resume_config(path, started, resolved)
    check_resume_config(path, started, digest)
    other_weights = dataclasses.replace(resolved, digest="0" * 64)  # the same setting "dwm", resolving to other weights
    with pytest.raises(ValueError, match="another world model.*hopper_medium_dwm.safetensors"):
        check_resume_config(path, started, other_weights)
    by_path = dataclasses.replace(started, world_model=resolved.path)
    check_resume_config(path, by_path, digest)  # the same model, named by its file
    onestep = dataclasses.replace(started, world_model="onestep")
    with pytest.raises(ValueError, match="world_model: 'dwm' -> 'onestep'"):
        check_resume_config(path, onestep, world_model_digest(onestep))
    write_record(path, started)  # a record from before digests: cannot be checked, resumes with a warning
    with caplog.at_level(logging.WARNING):
        check_resume_config(path, started, digest)
    assert "predates world-model digests" in caplog.text


def test_the_digest_names_the_model_content():
    medium = AgentRunConfig(world_model="dwm", device="cpu")
    assert world_model_digest(AgentRunConfig(device="cpu")) is None  # model-free
    assert world_model_digest(medium) == world_model_digest(medium)
    assert world_model_digest(medium) != world_model_digest(dataclasses.replace(medium, world_model="onestep"))
    other = dataclasses.replace(medium, dataset="dwm_gym/hopper/medium-replay-v0")
    assert world_model_digest(medium) != world_model_digest(other)
