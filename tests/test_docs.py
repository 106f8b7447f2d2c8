"""The documentation site builds without a single warning (mkdocs strict mode)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_docs_build_strict(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert (tmp_path / "site" / "api" / "envs" / "index.html").is_file()
    assert "DiffusionImaginedEnv" in (tmp_path / "site" / "api" / "envs" / "index.html").read_text()
