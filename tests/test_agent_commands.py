"""``dwm-gym agent train|eval`` handlers: run folder, resume, evaluation of the saved agent."""

import argparse
import json

import pytest

from dwm_gym.agents.saved import load_agent
from dwm_gym.cli.agent_commands import add_agent_parser
from dwm_gym.data import make_dataset
from dwm_gym.value_expansion.cache import model_digest
from dwm_gym.world_model.registry import load_world_model

pytestmark = pytest.mark.smoke  # a command, script or benchmark end to end at tiny sizes


def run(argv: str) -> int:
    parser = argparse.ArgumentParser()
    add_agent_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv.split())
    return args.func(args)


def test_train_resume_and_eval(tmp_path, capsys):
    make_dataset("hopper-medium", steps=2000, num_envs=4, progress=False)  # into the test's own Minari folder
    out = tmp_path / "runs" / "dwm_td3bc"
    common = f"--dataset hopper-medium --world-model dwm --horizon 3 --device cpu --out {out} --no-progress"
    options = "--eval-every 40 --eval-episodes 1 --checkpoint-every 40 --batch-size 32"
    assert run(f"agent train --algo td3bc --steps 40 {options} {common}") == 0
    summary = json.loads((out / "agent.json").read_text())
    assert summary["updates"] == 40 and summary["world_model_path"].endswith("hopper_medium_dwm.safetensors")
    assert summary["world_model_digest"] == model_digest(load_world_model(summary["world_model_path"], device="cpu"))
    assert (out / "checkpoints" / "latest.safetensors").is_file() and (out / "progress.csv").is_file()
    with pytest.raises(FileExistsError, match="--resume"):
        run(f"agent train --algo td3bc --steps 40 {options} {common}")
    with pytest.raises(ValueError, match="horizon: 3 -> 5"):  # resuming must not silently change the method
        run(f"agent train --algo td3bc --steps 80 --resume {options} {common.replace('--horizon 3', '--horizon 5')}")
    recorded = summary["world_model_digest"]
    (out / "agent.json").write_text(json.dumps({**summary, "world_model_digest": "0" * 64}))  # other weights
    with pytest.raises(ValueError, match="another world model"):
        run(f"agent train --algo td3bc --steps 80 --resume {options} {common}")
    (out / "agent.json").write_text(json.dumps({**summary, "world_model_digest": recorded}))
    assert run(f"agent train --algo td3bc --steps 80 --resume {options} {common}") == 0
    assert (out / "progress.1.csv").is_file() and (out / "progress.csv").is_file()  # the first part is kept
    evaluations = [json.loads(line) for line in (out / "evaluations.jsonl").read_text().splitlines()]
    assert [e["timesteps"] for e in evaluations] == [40, 80]
    capsys.readouterr()
    saved = out / "model.safetensors"
    assert run(f"agent eval --model {saved} --episodes 1 --device cpu --json {tmp_path / 'e.json'}") == 0
    assert "normalized score" in capsys.readouterr().out
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["env_id"] == "Hopper-v5" and result["mean_return"] == pytest.approx(evaluations[-1]["mean_return"])
    agent, _ = load_agent(out / "model.safetensors", device="cpu")
    assert agent.num_timesteps == 80 and type(agent.replay_buffer).__name__ == "ReplayBuffer"  # no DWM at eval
