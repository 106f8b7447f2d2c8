"""A built wheel carries the bundled models: gym.make works from an installed copy, offline, outside the repo."""

import subprocess
import sys
import textwrap
import zipfile

import pytest


@pytest.mark.slow
def test_wheel_install_makes_the_env_offline(tmp_path):
    root = __import__("pathlib").Path(__file__).parents[1]
    wheel_dir, venv = tmp_path / "wheel", tmp_path / "venv"
    run = lambda *cmd, **kw: subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=600, **kw)  # noqa: E731
    run(sys.executable, "-m", "pip", "wheel", str(root), "--no-deps", "--no-build-isolation", "-w", str(wheel_dir))
    run(sys.executable, "-m", "venv", "--system-site-packages", str(venv))
    python = venv / "bin" / "python"
    wheel = next(wheel_dir.glob("dwm_gym-*.whl"))
    assert "dwm_gym/py.typed" in zipfile.ZipFile(wheel).namelist()  # PEP 561 marker ships with the package
    run(str(python), "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", str(wheel))
    script = textwrap.dedent(
        """
        import gymnasium as gym, dwm_gym
        assert "site-packages" in dwm_gym.__file__, dwm_gym.__file__
        env = gym.make("DWM-hopper-medium-v0", device="cpu")
        env.action_space.seed(0)
        env.reset(seed=0)
        for _ in range(1000):
            _, _, terminated, truncated, _ = env.step(env.action_space.sample())
            if terminated or truncated:
                env.reset()
        for quality in ("medium-replay", "medium-expert"):
            for kind in ("dwm", "onestep"):
                other = gym.make(f"DWM-hopper-{quality}-v0", kind=kind, device="cpu")
                other.reset(seed=0)
                other.step(other.action_space.sample())
        print("ok")
        """
    )
    out = run(str(python), "-c", script, cwd=tmp_path, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)})
    assert out.stdout.strip().endswith("ok")
