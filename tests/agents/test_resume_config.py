"""``check_resume_config``: a resumption keeps the learning settings the run was started with."""

import dataclasses
import json

import pytest

from dwm_gym.agents.runs import AgentRunConfig, check_resume_config


def write_record(path, config: AgentRunConfig, drop: tuple[str, ...] = ()) -> None:
    recorded = {k: v for k, v in dataclasses.asdict(config).items() if k not in drop}
    path.write_text(json.dumps({"config": recorded}))


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
