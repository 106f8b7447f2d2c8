"""README's ten-line example runs as written (on a small dataset and a short budget)."""

import re
from pathlib import Path

from dwm_gym.data import make_dataset

README = Path(__file__).parents[1] / "README.md"


def test_readme_example_runs():
    make_dataset("hopper-medium", steps=3000, progress=False)  # into this test's own Minari folder
    code = re.search(r"## In ten lines\n\n```python\n(.*?)```", README.read_text(), re.S).group(1)
    assert "agent.learn(100_000" in code
    namespace: dict = {}
    exec(compile(code.replace("agent.learn(100_000", "agent.learn(100"), "README.md", "exec"), namespace)
    assert namespace["agent"].num_timesteps == 100 and namespace["obs"].shape == (11,)
    assert namespace["agent"].replay_buffer.size() == 3000
