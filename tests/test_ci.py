"""CI (``.ci/run``) runs exactly the check command README gives: lint, format, types, then the tests."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def readme_checks() -> list[str]:
    block = re.search(r"# 2\. the checks and the tests.*?\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README's quickstart lost its check command"
    commands = [part.strip() for part in block.group(1).split("&&")]
    return [command for command in commands if not command.startswith("pip install")]


def test_ci_runs_readmes_check_command():
    script = (ROOT / ".ci" / "run").read_text().split("# README's check command:\n", 1)[1]
    ci = [line.strip() for line in script.splitlines() if line.strip() and not line.startswith("#")]
    assert ci == readme_checks() == ["ruff check .", "ruff format --check .", "mypy", "python3 -m pytest -q"]
