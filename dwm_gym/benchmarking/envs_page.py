"""The generated regions of ``docs/envs.md`` and README: the paper's nine env ids and how each answers actions.

Which ids have a bundled model comes from the package itself (:func:`~dwm_gym.world_model.bundled.bundled_models`),
so dropping a checkpoint into the assets folder makes these regions stale until they are rendered again. The
action-response table comes from ``action_response_by_id.json`` (``benchmarks/action_response_by_id.py``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dwm_gym.data.specs import paper_datasets
from dwm_gym.envs.registration import env_id
from dwm_gym.world_model.bundled import bundled_models

KINDS = {"dwm": "DWM", "onestep": "one-step"}
POLICIES = {"zero": "zero actions", "uniform": "uniform random"}
FAITHFUL = 2.0
"""An imagined env falls like the real one when its mean episode length is within this factor of the real one."""


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def bundled_ids() -> dict[str, list[str]]:
    """Each paper id -> the kinds the package bundles a model of (empty: none yet)."""
    shipped = bundled_models()
    return {
        env_id(task, quality): [kind for kind in KINDS if (task, quality, kind) in shipped]
        for task, quality in paper_datasets()
    }


def render_paper_ids() -> str:
    """docs/envs.md: the nine ids, and which models each has in the package."""
    rows = [
        (f"`{name}`", *("bundled" if kind in kinds else "train one" for kind in KINDS))
        for name, kinds in bundled_ids().items()
    ]
    return "\n".join(_table(("id", *(f"{label} model" for label in KINDS.values())), rows))


def render_readme_ids() -> str:
    """README: the nine ids in one sentence, grouped by the models the package bundles for them."""
    ids = bundled_ids()
    both = [f"`{name}`" for name, kinds in ids.items() if len(kinds) == len(KINDS)]
    some = [
        f"`{name}` ({', '.join(KINDS[k] for k in kinds)} only)" for name, kinds in ids.items() if 0 < len(kinds) < 2
    ]
    none = [f"`{name}`" for name, kinds in ids.items() if not kinds]
    groups = [
        f'with both bundled models (offline, `kind="dwm"` or `"onestep"`): {", ".join(both)}' if both else "",
        f"with one: {', '.join(some)}" if some else "",
        f"not yet bundled (the error prints the command that trains a model): {', '.join(none)}" if none else "",
    ]
    return (
        "The paper's nine envs, "
        + "; ".join(group for group in groups if group)
        + " ([envs](docs/envs.md#the-papers-nine-envs))."
    )


def _number(value: float | None) -> str:
    if value is None:
        return "not finite"
    return (
        f"{value + 0.0:.0f}".replace("-0", "0")
        if abs(value) < 0.5
        else (f"{value:.0f}" if abs(value) < 1e6 else f"{value:.1e}")
    )


def _cell(entry: Mapping[str, Any] | None) -> str:
    if entry is None:
        return "—"
    broken = entry.get("non_finite", 0)
    note = f" ({broken} of {len(entry['lengths'])} not finite)" if broken else ""
    return f"{entry['length']:.0f} / {_number(entry['return'])}{note}"


def _ratio(entry: Mapping[str, Any] | None, real: Mapping[str, Any]) -> str:
    return "—" if entry is None else f"{entry['length'] / real['length']:.2f}"


def reading(row: Mapping[str, Any], kind: str, max_steps: int) -> str | None:
    """How one imagined env's episodes end against the real env's, in words.

    Returns:
        ``falls like the real env``, ``never falls``, ``falls later`` or ``falls sooner``; None without that
        kind, or when the real env never ends these episodes early either.
    """
    real, imagined = row["real"], row.get(kind)
    if imagined is None or min(real["lengths"]) >= max_steps:
        return None
    if min(imagined["lengths"]) >= max_steps:
        return "never falls"
    ratio = imagined["length"] / real["length"]
    if 1 / FAITHFUL <= ratio <= FAITHFUL:
        return "falls like the real env"
    return "falls later" if ratio > FAITHFUL else "falls sooner"


def render_action_response(result: Mapping[str, Any]) -> str:
    """The table (rows: id × policy; columns: real, DWM, one-step) and one generated line per id."""
    rows, lines = [], []
    max_steps = result["max_steps"]
    for name, entry in result["ids"].items():
        readings: dict[str, list[str]] = {kind: [] for kind in KINDS}
        for policy, row in entry["policies"].items():
            real = row["real"]
            cells = [_cell(row.get(kind)) for kind in KINDS]
            ratios = [_ratio(row.get(kind), real) for kind in KINDS]
            rows.append((f"`{name}`", POLICIES.get(policy, policy), _cell(real), *cells, *ratios))
            for kind in KINDS:
                found = reading(row, kind, max_steps)
                if found:
                    readings[kind].append(f"{found} under {POLICIES.get(policy, policy)}")
                if kind in row and (row[kind].get("non_finite") or abs(row[kind]["return"] or 0) >= 1e6):
                    readings[kind].append(f"states blow up under {POLICIES.get(policy, policy)}")
        said = [f"{KINDS[kind]} env: {', '.join(found)}" for kind, found in readings.items() if found]
        if not any("falls" in part for part in said):
            said.insert(0, "the real env never ends these episodes early; compare the returns")
        lines.append(f"- `{name}`: " + "; ".join(said) + ".")
    header = ("id", "policy", "real", "DWM env", "one-step env", "DWM ÷ real length", "one-step ÷ real length")
    note = (
        f"Episode length / return, mean over {result['starts']} real start states (the same for every env), "
        f"up to {max_steps:,} steps; — : no model of that kind yet. Within {FAITHFUL:g}× of the real length "
        f"counts as falling like the real env:"
    )
    return "\n".join([*_table(header, rows), "", note, "", *lines])


def render_envs(results: Path) -> dict[str, str]:
    """docs/envs.md's regions."""
    response = json.loads((results / "action_response_by_id.json").read_text())
    return {"envs-paper-ids": render_paper_ids(), "envs-action-response": render_action_response(response)}


def render_readme() -> dict[str, str]:
    """README's region."""
    return {"readme-envs": render_readme_ids()}
