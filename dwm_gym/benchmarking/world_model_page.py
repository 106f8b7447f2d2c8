"""The generated regions of ``docs/world_model.md``: per-step error tables and the RTG-default check.

Read from ``world_model_errors.json`` (``benchmarks/world_model_errors.py``) and ``rtg_default.json``
(``benchmarks/rtg_default.py``). Each dataset's verdict on compounding error is computed here from the same
numbers as its table (:func:`compounding`), so the words cannot disagree with the data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dwm_gym.world_model.bundled import bundled_models, resolve_checkpoint, train_command
from dwm_gym.world_model.checkpoint import read_header

MODELS = ("DWM", "one-step, true actions", "one-step, policy actions", "noise floor")
COMPOUNDING_FACTOR = 2.0
"""A model compounds when its error grows, from ŝ_{t+2} to ŝ_{t+7}, more than this many times the floor's growth."""


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def dataset_label(dataset_id: str) -> str:
    """``dwm_gym/walker2d/medium-v0`` -> ``walker2d-medium``."""
    _, task, rest = dataset_id.split("/", 2)
    return f"{task}-{rest.rsplit('-v', 1)[0]}"


def growth(state_mse: Sequence[float]) -> float:
    """How many times the error at ŝ_{t+7} is the error at ŝ_{t+2} (the list's last entry over its third).

    ŝ_{t+1} is left out: it follows from (s_t, a_t) alone, so the noise floor is 0 there and has no ratio.
    """
    return float(state_mse[-1] / state_mse[2]) if state_mse[2] > 0 else float("inf")


def compounding(table: Mapping[str, Any]) -> dict[str, tuple[float, bool]]:
    """Per model of ``table``: (error growth from ŝ_{t+2} to ŝ_{t+7}, does it compound beyond the floor's growth)."""
    floor = growth(table["noise floor"]["state_mse"])
    return {
        model: (growth(table[model]["state_mse"]), growth(table[model]["state_mse"]) > COMPOUNDING_FACTOR * floor)
        for model in MODELS[:3]
        if model in table
    }


def verdict(table: Mapping[str, Any]) -> str:
    """One sentence: which models compound on this table's windows, with the growth figures."""
    floor = growth(table["noise floor"]["state_mse"])
    found = compounding(table)
    parts = [f"{model} ×{g:.1f}" for model, (g, _) in found.items()] + [f"noise floor ×{floor:.1f}"]
    last = table["noise floor"]["state_mse"][-1]
    over = [f"{model} {table[model]['state_mse'][-1] / last:.1f}×" for model in found]
    compounds = [model for model, (_, yes) in found.items() if yes]
    steady = [model for model, (_, yes) in found.items() if not yes]
    said = "; ".join(
        part
        for part in (
            f"compounding: {' and '.join(compounds)}" if compounds else "",
            f"not compounding: {' and '.join(steady)}" if steady else "",
        )
        if part
    )
    if "DWM" not in table:
        said += " (no DWM of this dataset yet)"
    first = [f"{model} {_fmt(table[model]['state_mse'][1])}" for model in found if model != MODELS[2]]  # = a_t
    return (
        f"At ŝ_{{t+1}}, which s_t and a_t fix: {'; '.join(first)}. "
        f"Error growth from ŝ_{{t+2}} to ŝ_{{t+7}}: {'; '.join(parts)}. {said[0].upper() + said[1:]}. "
        f"At ŝ_{{t+7}}, over the noise floor: {'; '.join(over)}."
    )


def _fmt(value: float) -> str:
    return "0" if abs(value) < 1e-12 else f"{value:.3g}"  # the noise floor at ŝ_{t+1}: 0 up to rounding


def _reward(value: float) -> str:
    return "0" if abs(value) < 1e-12 else f"{value:.1e}"


def error_table(table: Mapping[str, Any]) -> list[str]:
    """Per-step state and reward MSE of one group of windows, ŝ_{t+1} .. ŝ_{t+7} (the JSON's step 1 is s_t)."""
    models = [m for m in MODELS if m in table]
    steps = len(table["noise floor"]["state_mse"])
    header = ["step", *(f"{m}: state" for m in models), *(f"{m}: reward" for m in models)]
    rows = []
    for h in range(1, steps):
        states = [_fmt(table[m]["state_mse"][h]) for m in models]
        rewards = [_reward(table[m]["reward_mse"][h - 1]) for m in models]
        rows.append((f"ŝ_{{t+{h}}}", *states, *rewards))
    means = [f"**{_fmt(sum(table[m]['state_mse'][1:]) / (steps - 1))}**" for m in models]
    reward_means = [_reward(table[m]["mean_reward_mse"]) for m in models]
    rows.append((f"mean 1–{steps - 1}", *means, *reward_means))
    return _table(header, rows)


def render_errors(result: Mapping[str, Any]) -> str:
    """Every dataset's tables, grouped by task, each with its verdict, then the plot of each task."""
    lines: list[str] = []
    tasks: list[str] = []
    for entry in result["datasets"]:
        name = dataset_label(entry["dataset"])
        task = name.split("-", 1)[0]
        if task not in tasks:
            tasks.append(task)
        for table in entry["tables"]:
            windows = table["noise floor"]["windows"]
            part = "" if len(entry["tables"]) == 1 else f", {table['episodes']}"
            lines += [
                f"**{name}{part}** ({windows} windows of {table['episodes_held_out']} held-out episodes; "
                f"behaviour policy: the {table['policy']} actor)",
                "",
                *error_table(table),
                "",
                verdict(table),
                "",
            ]
    for task in tasks:
        lines += [f"![per-step state error, {task}](img/world_model_errors_{task}.png)", ""]
    return "\n".join([*summary(result), "", *lines])


def summary(result: Mapping[str, Any]) -> list[str]:
    """Which tables show the one-step model (true actions) compounding and the DWM not, and which show neither."""
    groups: dict[str, list[str]] = {"one-step compounds, DWM does not": [], "neither compounds": [], "other": []}
    for entry in result["datasets"]:
        for table in entry["tables"]:
            name = dataset_label(entry["dataset"])
            name += "" if len(entry["tables"]) == 1 else f" ({table['episodes']})"
            found = compounding(table)
            onestep = found.get("one-step, true actions", (0.0, False))[1]
            dwm = found.get("DWM")
            if dwm is None:
                groups["other"].append(f"{name}: no DWM yet, one-step {'compounds' if onestep else 'does not'}")
            elif onestep and not dwm[1]:
                groups["one-step compounds, DWM does not"].append(name)
            elif not onestep and not dwm[1]:
                groups["neither compounds"].append(name)
            else:
                groups["other"].append(f"{name}: DWM compounds{', one-step too' if onestep else ''}")
    lead = "By the rule above, the one-step model with the true actions (the paper's protocol) against the DWM:"
    return [lead, "", *(f"- {label}: {'; '.join(names)}" for label, names in groups.items() if names)]


def render_rtg_default(result: Mapping[str, Any]) -> str:
    """One row per dataset's DWM: the data's own figures, then each RTG target's."""
    rows = []
    for name, entry in result["datasets"].items():
        data = entry["data"]
        ends = f" ({data['terminations']} of {entry['transitions']:,})"
        rows.append((name, "data", "—", f"{data['terminated']:.3f}{ends}", "—", f"{data['reward_sum']:.2f}"))
        for label, row in entry["rtg"].items():
            recall = row["terminated_where_data_does"]
            rows.append(
                (
                    name,
                    f"RTG {label}",
                    f"{row['rtg']:.3f}",
                    f"{row['terminated']:.3f}",
                    "—" if recall is None else f"{recall:.2f}",
                    f"{row['reward_sum']:.2f}",
                )
            )
    first = next(iter(result["datasets"].values()), None)
    header = (
        "dataset",
        "source",
        "RTG",
        "terminated",
        "terminated where the data does",
        f"reward sum, {first['horizon'] if first else '?'} steps",
    )
    notes = [f"- {name}: {rtg_reading(entry)}" for name, entry in result["datasets"].items()]
    return "\n".join([*_table(header, rows), "", *notes])


def rtg_reading(entry: Mapping[str, Any]) -> str:
    """Whether the default target imagines the data's terminations as well as the best of the others."""
    data = entry["data"]["terminated"]
    gaps = {label: abs(row["terminated"] - data) for label, row in entry["rtg"].items()}
    default = next(label for label in gaps if label.startswith("median"))
    best = min(gaps, key=lambda label: gaps[label])
    if data == 0 and all(row["terminated"] == 0 for row in entry["rtg"].values()):
        return "neither the data nor any target ends a segment: the target changes only the imagined reward."
    if best == default or gaps[default] == gaps[best]:
        said = (
            f"the default (median) imagines the data's termination share as closely as any of the {len(gaps)} targets"
        )
    elif gaps[default] <= gaps[best] + 0.005:
        said = f"the default (median) is within 0.005 of the best target's termination share ({best})"
    else:
        said = f"RTG {best} imagines the data's termination share more closely than the default (median)"
    if all(row["terminated"] == 0 for row in entry["rtg"].values()) and data > 0:
        said = "no target imagines a termination, where the data has some: the RTG does not bring the falls back"
    return said + "."


def _dropped_and_first(entry: Mapping[str, Any]) -> tuple[str, str]:
    """A study entry's state dims with corr(ε̂, ε) < 0.95 at the noisiest level, and its ŝ_{t+1} error cell."""
    corr = entry["noisiest_level"]["corr"]
    dropped = ", ".join(f"{d} ({c:.2f})" for d, c in enumerate(corr) if c < 0.95) or "none"
    return dropped, f"{entry['first_state_error']:.3f} ({entry['repeat_state_error']:.3f})"


def render_denoiser_channels(result: dict) -> str:
    """The table of ``studies/denoiser_channels.py``: ε-prediction error by level, and the channels dropped."""
    lines = [
        "| model | values per row, U-Net width | ε MSE, least → most noisy level "
        "| noisiest level: state dims with corr(ε̂, ε) < 0.95 | noisiest level: std(ε̂) "
        "| ŝ_{t+1} error (repeating s_t) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in result["models"].items():
        dropped, first = _dropped_and_first(entry)
        levels = " → ".join(f"{v:.4f}" for v in entry["eps_mse_by_level"])
        spread = entry["noisiest_level"]["std"]
        cells = f"{levels} | {dropped} | {min(spread):.2f}–{max(spread):.2f} | {first}"
        lines.append(f"| {name} | {entry['row_dim']}, {entry['width']} | {cells} |")
    lines += ["", f"Windows per model: {', '.join(str(e['windows']) for e in result['models'].values())}."]
    return "\n".join(lines)


def render_prediction_target(results: list[dict]) -> str:
    """The table comparing DWMs trained to predict ε, x0 or v (``studies/denoiser_channels.py``'s runs, in order)."""
    models = {name: entry for result in results for name, entry in result["models"].items()}
    lines = [
        "| model | prediction | iterations | x̂0 MSE, least → most noisy level "
        "| noisiest level: state dims with corr(ε̂, ε) < 0.95 | ŝ_{t+1} error (repeating s_t) |",
        "|---|---|---|---|---|---|",
    ]
    for name, entry in models.items():
        dropped, first = _dropped_and_first(entry)
        levels = " → ".join(f"{v:.4f}" for v in entry["x0_mse_by_level"])
        steps = f"{entry['train_steps']:,}"
        lines.append(f"| {name} | {entry['prediction']} | {steps} | {levels} | {dropped} | {first} |")
    lines += ["", f"Held-out windows per model: {', '.join(str(e['windows']) for e in models.values())}."]
    return "\n".join(lines)


def render_bundled(tasks: Sequence[str]) -> str:
    """The bundled models of ``tasks``: the command that trains each, its target and the checkpoint kept."""
    lines = ["| model | command | prediction | selected iteration (held-out loss) |", "|---|---|---|---|"]
    for task, quality, kind in bundled_models():
        if task not in tasks:
            continue
        header = read_header(resolve_checkpoint(task, quality, kind))
        train = next(part.strip() for part in train_command(task, quality, kind).split("&&") if " train " in part)
        prediction = header["config"].get("prediction", "epsilon") if kind == "dwm" else "—"
        loss = header["selected_held_out_loss"]
        name = f"{'DWM' if kind == 'dwm' else 'one-step'}, {task}-{quality}"
        selected = f"{header['selected_step']:,} ({'NLL ' if kind == 'onestep' else ''}{loss:.4g})"
        lines.append(f"| {name} | `{train}` | {prediction} | {selected} |")
    return "\n".join(lines)


def render_world_model(results: Path, studies: Path) -> dict[str, str]:
    """docs/world_model.md's regions from the committed results (``results``: benchmarks', ``studies``: studies')."""
    errors = json.loads((results / "world_model_errors.json").read_text())
    rtg = json.loads((results / "rtg_default.json").read_text())
    channels = json.loads((studies / "denoiser_channels.json").read_text())
    prediction = [json.loads((studies / f"prediction_target_{n}.json").read_text()) for n in ("4k", "60k")]
    return {
        "wm-bundled-walker2d-halfcheetah": render_bundled(("walker2d", "halfcheetah")),
        "wm-prediction-target": render_prediction_target(prediction),
        "wm-error-tables": render_errors(errors),
        "wm-rtg-default": render_rtg_default(rtg),
        "wm-denoiser-channels": render_denoiser_channels(channels),
    }
