"""Does storing a world model's weights in float16 cost measurable accuracy?

For each checkpoint: writes a copy with ``weights_dtype="float16"`` (normalizers and start states stay
float32; the weights are loaded back into float32), then measures on the same held-out windows of the
checkpoint's own dataset, with the same sampler noise (``world-model eval``'s protocol):

* the file sizes and the largest weight change;
* the mean state / reward error by horizon of the float32 and float16 models (same seed), and their
  difference;
* the yardstick: the same float32 model with another seed of the sampler's noise and window choice
  minus the float32 model. A float16 difference well inside it is not measurable.

python benchmarks/half_precision.py [--checkpoints A.safetensors,B.safetensors] [--windows 500] [--seed 0]
                                    [--json benchmarks/results/half_precision.json] [--tiny]

Default checkpoints: every bundled one. ``--tiny``: the bundled hopper-medium models on 16 windows of a
400-transition hopper-medium dataset generated into a temporary folder.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from dwm_gym.benchmarking.harness import make_parser, parse_args, tiny_dataset, write_result
from dwm_gym.data import OfflineDataset
from dwm_gym.evaluation.error_report import held_out_part
from dwm_gym.evaluation.model_error import model_error_by_horizon
from dwm_gym.world_model import load_world_model
from dwm_gym.world_model.bundled import BUNDLED
from dwm_gym.world_model.checkpoint import save_world_model


def compare(path: Path, num_windows: int, seed: int, device: str, dataset_id: str | None = None) -> dict:
    """Sizes, weight change and errors of ``path`` in float32 and float16 (see the module docstring)."""
    full = load_world_model(path, device=device)
    with tempfile.TemporaryDirectory() as folder:
        half_path = save_world_model(full, Path(folder) / "half.safetensors", weights_dtype="float16")
        half = load_world_model(half_path, device=device)
        half_size = half_path.stat().st_size
    weight_change = max(float((p - q).detach().abs().max()) for p, q in zip(full.parameters(), half.parameters()))
    data = OfflineDataset.from_minari(dataset_id or full.info["dataset_id"])
    held = held_out_part(data, full.info)
    length = full.segment_length or 8
    errors = {
        "float32": model_error_by_horizon(full, held, num_windows, length, seed=seed),
        "float16": model_error_by_horizon(half, held, num_windows, length, seed=seed),
        "float32, other seed": model_error_by_horizon(full, held, num_windows, length, seed=seed + 1),
    }
    means = {name: {k: e[k] for k in ("mean_state_mse", "mean_reward_mse")} for name, e in errors.items()}
    return {
        "checkpoint": str(path),
        "dataset_id": full.info.get("dataset_id"),
        "kind": full.kind,
        "size_float32": path.stat().st_size,
        "size_float16": half_size,
        "max_weight_change": weight_change,
        "errors": means,
        "state_mse_by_step": {name: e["state_mse"] for name, e in errors.items()},
        "float16_minus_float32": {k: means["float16"][k] - means["float32"][k] for k in means["float32"]},
        "other_seed_minus_float32": {
            k: means["float32, other seed"][k] - means["float32"][k] for k in means["float32"]
        },
    }


def main() -> None:
    parser = make_parser(__doc__, "benchmarks/results/half_precision.json")
    parser.add_argument("--checkpoints", default=None, help="comma-separated paths (default: every bundled one)")
    parser.add_argument("--windows", type=int, default=500)
    parser.add_argument("--dataset", default=None, help="evaluation data (default: each checkpoint's own)")
    args = parse_args(parser, tiny=lambda: {"windows": 16, "dataset": tiny_dataset()})
    paths = sorted(BUNDLED.glob("*.safetensors"))
    if args.checkpoints:
        paths = [Path(p) for p in args.checkpoints.split(",")]
    if args.tiny and not args.checkpoints:
        paths = [BUNDLED / "hopper_medium_dwm.safetensors", BUNDLED / "hopper_medium_onestep.safetensors"]
    rows = []
    for path in paths:
        row = compare(path, args.windows, args.seed, args.device, args.dataset)
        rows.append(row)
        state = {name: e["mean_state_mse"] for name, e in row["errors"].items()}
        print(
            f"{path.name}: {row['size_float32'] / 1e6:.2f} MB -> {row['size_float16'] / 1e6:.2f} MB, "
            f"max |dw| {row['max_weight_change']:.1e}; mean state MSE float32 {state['float32']:.5f}"
            f" float16 {state['float16']:.5f} (other seed {state['float32, other seed']:.5f})"
        )
    write_result(args.json, {"rows": rows}, args)


if __name__ == "__main__":
    main()
