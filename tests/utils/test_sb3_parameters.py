import json

import torch

from dwm_gym.utils.sb3_parameters import flatten_parameters, unflatten_parameters


def test_parameters_survive_the_flat_form_and_json_exactly():
    net = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-3, betas=(0.8, 0.9))
    net(torch.ones(4, 3)).sum().backward()
    optimizer.step()
    parameters = {"policy": net.state_dict(), "policy.optimizer": optimizer.state_dict()}
    tensors, optimizers = flatten_parameters(parameters)
    assert set(tensors) >= {"policy/weight", "policy/bias", "policy.optimizer/state/0/exp_avg"}
    back = unflatten_parameters(dict(tensors), json.loads(json.dumps(optimizers)))  # as a file stores them
    assert torch.equal(back["policy"]["weight"], net.weight)
    restored = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    restored.load_state_dict(back["policy.optimizer"])
    assert restored.param_groups[0]["betas"] == (0.8, 0.9)
    assert torch.equal(restored.state_dict()["state"][0]["exp_avg"], optimizer.state_dict()["state"][0]["exp_avg"])
