"""SB3's ``get_parameters()`` as flat named tensors plus JSON, and back: the pickle-free files' common part.

``get_parameters()`` gives each module's state dict and each optimizer's ``{"state", "param_groups"}``. The
tensors become ``<name>/<key>`` (modules) and ``<name>/state/<index>/<key>`` (optimizer moments); the
optimizers' ``param_groups`` (plain numbers) become JSON. Agent files and behaviour-run states both store them so.
"""

from __future__ import annotations

import json
from typing import Any

import torch


def flatten_parameters(parameters: dict[str, dict[str, Any]]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """(tensors by flat name, optimizers' ``param_groups`` as JSON values) of SB3's ``get_parameters()``."""
    tensors: dict[str, torch.Tensor] = {}
    optimizers: dict[str, Any] = {}
    for name, state in parameters.items():
        if "state" in state and "param_groups" in state:  # an optimizer
            optimizers[name] = json.loads(json.dumps(state["param_groups"]))
            for index, values in state["state"].items():
                tensors.update({f"{name}/state/{index}/{key}": torch.as_tensor(v) for key, v in values.items()})
        else:
            tensors.update({f"{name}/{key}": value for key, value in state.items()})
    return tensors, optimizers


def unflatten_parameters(tensors: dict[str, torch.Tensor], optimizers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What :func:`flatten_parameters` took apart, in the form SB3's ``set_parameters`` takes."""
    params: dict[str, dict[str, Any]] = {}
    for key, value in tensors.items():
        name, rest = key.split("/", 1)
        params.setdefault(name, {})[rest] = value
    for name, groups in optimizers.items():
        state: dict[int, dict[str, torch.Tensor]] = {}
        for rest, value in params.pop(name, {}).items():
            _, index, key = rest.split("/", 2)
            state.setdefault(int(index), {})[key] = value
        for group in groups:
            group.update({k: tuple(v) for k, v in group.items() if k == "betas"})  # JSON made the tuple a list
        params[name] = {"state": state, "param_groups": groups}
    return params
