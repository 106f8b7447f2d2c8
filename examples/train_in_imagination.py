"""Train stock SB3 TD3 purely inside the imagined Hopper, then score it on the real Hopper-v5.

The agent never touches the real env while training: every transition comes from the bundled
hopper-medium world model through the batched imagined env (segment mode, H steps per env step,
so TD3 discounts with gamma = 0.99**H). Evaluation runs the trained policy on real Hopper-v5.

python examples/train_in_imagination.py [--steps 20000] [--horizon 3] [--kind dwm|onestep]
"""

import argparse
import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch
from stable_baselines3 import TD3
from stable_baselines3.common.evaluation import evaluate_policy
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.noise import NormalActionNoise

from dwm_gym.envs import DiffusionImaginedVectorEnv, SB3ImaginedVecEnv
from dwm_gym.evaluation import normalized_score

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--steps", type=int, default=20_000, help="imagined env steps (all sub-envs together)")
parser.add_argument("--envs", type=int, default=16, help="imagined sub-envs stepped by one sampler call")
parser.add_argument("--horizon", type=int, default=3, help="H: imagined steps per env step (DWM)")
parser.add_argument("--kind", choices=["dwm", "onestep"], default="dwm")
parser.add_argument("--eval-episodes", type=int, default=10)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--out", default="runs/train_in_imagination")
args = parser.parse_args()
horizon = args.horizon if args.kind == "dwm" else 1

imagined = DiffusionImaginedVectorEnv(
    args.envs,
    max_episode_steps=1000 // horizon,
    task="hopper",
    quality="medium",
    kind=args.kind,
    horizon=horizon,
)
venv = SB3ImaginedVecEnv(imagined)
venv.seed(args.seed)
gamma = 0.99**horizon
agent = TD3(
    "MlpPolicy",
    venv,
    gamma=gamma,
    learning_starts=min(1000, args.steps // 2),
    train_freq=1,
    gradient_steps=max(1, args.envs // 4),
    action_noise=NormalActionNoise(np.zeros(3), 0.1 * np.ones(3)),
    seed=args.seed,
    device="auto",
)
agent.learn(total_timesteps=args.steps, progress_bar=True)

real = Monitor(gym.make("Hopper-v5"))
real.reset(seed=args.seed + 1000)
returns, lengths = evaluate_policy(agent, real, n_eval_episodes=args.eval_episodes, return_episode_rewards=True)
result = {
    "kind": args.kind,
    "horizon": horizon,
    "gamma": gamma,
    "imagined_steps": args.steps,
    "real_mean_return": float(np.mean(returns)),
    "real_mean_length": float(np.mean(lengths)),
    "normalized_score_v5": float(normalized_score("Hopper-v5", np.mean(returns), "v5")),
    "torch": torch.__version__,
}
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
agent.save(out / "td3_imagined")
(out / "result.json").write_text(json.dumps(result, indent=2))
print(json.dumps(result, indent=2))
