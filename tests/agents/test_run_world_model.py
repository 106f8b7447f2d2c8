"""An agent run resolves its world model once, and builds its agent from the ``ALGORITHMS`` table."""

import json

import pytest

from dwm_gym.agents.agent_files import read_agent_file
from dwm_gym.agents.run_config import ALGORITHMS, AgentRunConfig, resolve_world_model
from dwm_gym.agents.runs import build_agent, train_agent
from dwm_gym.world_model import registry


@pytest.fixture
def weight_reads(monkeypatch):
    """Counts the checkpoint files whose tensors are read (every load of a world model reads them once)."""
    reads: list[str] = []
    read_tensors = registry.read_tensors

    def counting(path):
        reads.append(str(path))
        return read_tensors(path)

    monkeypatch.setattr(registry, "read_tensors", counting)
    return reads


def test_a_run_and_its_resumption_each_load_the_world_model_once(tmp_path, medium_data, weight_reads):
    config = AgentRunConfig(
        algo="td3bc",
        world_model="dwm",
        horizon=2,
        steps=4,
        batch_size=16,
        device="cpu",
        eval_every=0,
        eval_episodes=1,
        checkpoint_every=4,
    )
    train_agent(config, tmp_path / "run", progress_bar=False, dataset=medium_data)
    assert len(weight_reads) == 1 and weight_reads[0].endswith("hopper_medium_dwm.safetensors")
    summary = json.loads((tmp_path / "run" / "agent.json").read_text())
    assert summary["world_model_digest"] == resolve_world_model("dwm", config.dataset).digest
    meta, _ = read_agent_file(tmp_path / "run" / "model.safetensors")  # the saved agent names the model by its file
    assert meta["replay_buffer"]["kwargs"]["world_model"].endswith("hopper_medium_dwm.safetensors")
    weight_reads.clear()
    resumed = AgentRunConfig(**{**config.__dict__, "steps": 8})
    train_agent(resumed, tmp_path / "run", resume=True, progress_bar=False, dataset=medium_data)
    assert len(weight_reads) == 1


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_agents_are_built_from_the_algorithms_table(name):
    config = AgentRunConfig(algo=name, device="cpu", batch_size=32)
    agent = build_agent(config, "Hopper-v5", 100)
    assert type(agent) is ALGORITHMS[name].cls and agent.batch_size == 32 and agent.replay_buffer.buffer_size == 100
    for key, value in ALGORITHMS[name].settings(config).items():
        if key != "policy_kwargs":
            assert getattr(agent, key) == value


def test_a_run_planned_with_another_model_is_refused_before_any_work(tmp_path, medium_data, weight_reads):
    config = AgentRunConfig(algo="td3bc", world_model="dwm", horizon=2, steps=4, batch_size=16, device="cpu")
    with pytest.raises(ValueError, match=r"resolves to a model with digest \w+ here, but 0123456789ab was expected"):
        train_agent(config, tmp_path / "run", progress_bar=False, dataset=medium_data, expected_digest="0123456789ab")
    assert len(weight_reads) == 1 and not (tmp_path / "run").exists()  # loaded once, nothing written
    free = AgentRunConfig(algo="td3bc", steps=4, batch_size=16, device="cpu")
    with pytest.raises(ValueError, match="resolves to no world model here"):
        train_agent(free, tmp_path / "free", progress_bar=False, dataset=medium_data, expected_digest="0123456789ab")
