"""A tour of the offline data layer: load a dataset, look at DWM windows, score its returns.

dwm-gym dataset make hopper-medium        # once (about 2 minutes)
python examples/dataset_tour.py [--dataset dwm_gym/hopper/medium-v0]
"""

import argparse

import numpy as np

from dwm_gym.data import CDFNormalizer, DWMWindows, OfflineDataset
from dwm_gym.evaluation import normalized_score

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--dataset", default="dwm_gym/hopper/medium-v0")
args = parser.parse_args()

data = OfflineDataset.from_minari(args.dataset)
summary = data.summary()
print(
    f"{args.dataset}: {summary['episodes']} episodes, {summary['transitions']} steps, "
    f"{summary['terminated_episodes']} ended by termination"
)
returns = data.episode_returns(finished_only=True)
for refs in ("v5", "d4rl"):
    score = normalized_score(data.env_id, returns.mean(), refs)
    print(f"mean return {returns.mean():.1f} -> normalized ({refs} refs) {score:.3f}")

windows = DWMWindows(data, segment_length=8)
batch = windows.sample(4, rng=np.random.default_rng(0))
print(
    f"{len(windows)} windows of 8 steps; a batch holds states {batch.states.shape}, "
    f"future states {batch.future_states.shape}, rewards {batch.rewards.shape}, RTG {np.round(batch.rtg, 3)}"
)

states = data.transitions["observations"]
normalizer = CDFNormalizer().fit(states)
normalized = normalizer.normalize(states[:5])
print("CDF-normalized states lie in [-1, 1]:", normalized.min().round(3), normalized.max().round(3))
