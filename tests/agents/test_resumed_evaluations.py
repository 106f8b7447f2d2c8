"""A resumed run's evaluation log: one line per due evaluation, even when the process died during one."""

import json

from dwm_gym.agents.run_config import AgentRunConfig
from dwm_gym.agents.runs import train_agent
from dwm_gym.data import make_dataset


def evaluated(out) -> list[float]:
    return [json.loads(line)["timesteps"] for line in (out / "evaluations.jsonl").read_text().splitlines()]


def test_a_resume_repeats_a_lost_evaluation_and_drops_those_past_its_checkpoint(tmp_path):
    make_dataset("hopper-medium", steps=1000, num_envs=4, progress=False)  # into the test's own Minari folder
    out = tmp_path / "run"

    def train(steps: int, resume: bool) -> dict:
        config = AgentRunConfig(
            dataset="hopper-medium",
            steps=steps,
            batch_size=32,
            device="cpu",
            eval_every=20,
            eval_episodes=1,
            checkpoint_every=20,
        )
        return train_agent(config, out, resume=resume, progress_bar=False)

    train(40, resume=False)
    assert evaluated(out) == [20, 40]
    # Killed during the evaluation at 40: the checkpoint at 40 exists, its evaluation line does not.
    lines = (out / "evaluations.jsonl").read_text().splitlines()
    (out / "evaluations.jsonl").write_text(lines[0] + "\n")
    summary = train(60, resume=True)
    assert evaluated(out) == [20, 40, 60]  # the one due at the checkpoint is made when training starts
    assert summary["final_evaluation"]["timesteps"] == 60

    # Killed after writing the evaluation at 80 but before saving the checkpoint there (and mid-write of a
    # line): the resume from 60 drops them, keeps them aside, and evaluates at 80 once.
    with (out / "evaluations.jsonl").open("a") as handle:
        handle.write(json.dumps({"timesteps": 80.0, "mean_return": 1.0}) + '\n{"timesteps": 8')
    train(80, resume=True)
    assert evaluated(out) == [20, 40, 60, 80]
    dropped = (out / "evaluations.dropped.jsonl").read_text().splitlines()
    assert json.loads(dropped[0]) == {"timesteps": 80.0, "mean_return": 1.0} and dropped[1] == '{"timesteps": 8'

    # Resuming a finished run evaluates nothing again.
    assert train(80, resume=True)["final_evaluation"]["timesteps"] == 80 and evaluated(out) == [20, 40, 60, 80]
