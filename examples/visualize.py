"""Real vs DWM-imagined vs one-step-imagined Hopper, side by side, from the same start state.

The shipped hopper-medium policy acts in real Hopper-v5; its actions are replayed open-loop in
the DWM env and in the one-step env (bundled checkpoints), one env step at a time. Writes an MP4,
a GIF, a plot of state error vs step and a plot of imagined vs real reward, plus summary.json.

MUJOCO_GL=egl python examples/visualize.py [--steps 100] [--seed 0] [--out runs/visualize]
"""

import argparse
import json
from pathlib import Path

from dwm_gym.data.behavior.shipped import load_behavior_policy
from dwm_gym.envs import DiffusionImaginedEnv
from dwm_gym.render import imagined_rollout, real_rollout, write_gif, write_mp4
from dwm_gym.render.compare import comparison_frames, plot_comparison, state_errors

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--steps", type=int, default=100)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--size", type=int, default=240, help="pixels per panel")
parser.add_argument("--fps", type=int, default=25)
parser.add_argument("--device", default="auto")
parser.add_argument("--out", default="runs/visualize")
args = parser.parse_args()
out = Path(args.out)

policy = load_behavior_policy("hopper", "medium")
real = real_rollout("Hopper-v5", policy, args.steps, args.seed, args.size)
imagined, errors = {}, {}
for kind in ("dwm", "onestep"):
    env = DiffusionImaginedEnv(task="hopper", quality="medium", kind=kind, device=args.device)
    imagined[kind] = imagined_rollout(env, real.states[0], real.actions, args.seed, args.size)
    state_std = env.model.start_states["states"].std(axis=0) + 1e-6
    errors[kind] = state_errors(real, imagined[kind], state_std)

frames = comparison_frames(real, imagined, errors)
mp4 = write_mp4(frames, out / "real_vs_imagined.mp4", fps=args.fps)
gif = write_gif(frames, out / "real_vs_imagined.gif", fps=args.fps)
plots = plot_comparison(real, imagined, errors, out)
summary = {
    "steps": len(real.actions),
    "frames": len(frames),
    "real_return": float(real.rewards.sum()),
    "real_terminated_at": real.terminated_at,
    **{f"{k}_return": float(r.rewards.sum()) for k, r in imagined.items()},
    **{f"{k}_terminated_at": r.terminated_at for k, r in imagined.items()},
    **{f"{k}_mean_state_error": float(e.mean()) for k, e in errors.items()},
    **{f"{k}_state_error_at_8": float(e[min(8, len(e) - 1)]) for k, e in errors.items()},
    "files": [str(p) for p in (mp4, gif, *plots)],
}
(out / "summary.json").write_text(json.dumps(summary, indent=2))
print(json.dumps(summary, indent=2))
