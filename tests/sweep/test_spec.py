"""The sweep spec: a valid TOML becomes a SweepSpec; each bad input is refused with a message naming it."""

import pytest

from dwm_gym.sweep import SweepSpec, load_spec, plan_trials, spec_from_dict

VALID = {
    "name": "tiny",
    "datasets": ["hopper-medium"],
    "methods": ["TD3BC", "DWM-TD3BC"],
    "seeds": [0, 1],
    "budget": {"updates": 300, "eval_every": 100, "eval_episodes": 1},
}


def spec(**changes):
    return spec_from_dict({**VALID, **changes})


def test_toml_spec_is_read_into_dataclasses(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text(
        'name = "grid"\ndatasets = ["dwm_gym/hopper/medium-v0"]\nmethods = ["DWM-IQL"]\nseeds = [0, 1]\n'
        "horizons = [1, 3]\n[rtgs]\nhopper-medium = [0.6, 0.7]\n"
        "[budget]\nupdates = 500\neval_every = 250\n[resources]\ncpus = 2\ngpu = 0.25\n"
    )
    loaded = load_spec(path)
    assert loaded.datasets == ("hopper-medium",)
    assert loaded.horizons == (1, 3) and loaded.rtgs_of("hopper-medium") == (0.6, 0.7)
    assert loaded.budget.updates == 500 and loaded.budget.checkpoint_every == 250
    assert loaded.resources.cpus == 2.0 and loaded.resources.gpu == 0.25 and loaded.resources.device == "auto"


def test_trials_cover_the_grid_and_model_free_methods_keep_one_configuration():
    trials = plan_trials(spec(horizons=[1, 3], rtgs=[0.6, 0.7]), cache_dir="/tmp/caches")
    names = [t.name for t in trials]
    assert names[:2] == ["hopper-medium/TD3BC_s0", "hopper-medium/TD3BC_s1"]
    assert "hopper-medium/DWM-TD3BC_h3_rtg0.7_s1" in names
    assert len(trials) == 2 + 2 * 2 * 2
    assert len({t.key for t in trials}) == len(trials)
    dwm = [t for t in trials if t.method == "DWM-TD3BC"]
    assert len({t.config.cache_file for t in dwm}) == 2  # one cache per RTG, shared by every H and seed


def test_identity_changes_with_settings_and_model_but_not_with_device_or_cache_path():
    import dataclasses

    trial = plan_trials(spec(methods=["DWM-TD3BC"], seeds=[0]), cache_dir="/a")[0]
    moved = plan_trials(spec(methods=["DWM-TD3BC"], seeds=[0]), cache_dir="/b")[0]
    assert trial.key == moved.key
    assert dataclasses.replace(trial, config=dataclasses.replace(trial.config, device="auto")).key == trial.key
    assert dataclasses.replace(trial, config=dataclasses.replace(trial.config, steps=301)).key != trial.key
    assert dataclasses.replace(trial, digest="0" * 64).key != trial.key


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"methods": ["TD3BC", "DWM-SAC"]}, "unknown method 'DWM-SAC'; choose from TD3BC"),
        ({"seeds": []}, "seeds is an empty grid"),
        ({"horizons": []}, "horizons is an empty grid"),
        ({"rtgs": []}, "rtgs is an empty grid"),
        ({"datasets": []}, "datasets is an empty grid"),
        ({"budget": {"updates": -5}}, "budget.updates"),
        ({"budget": {"updates": 100, "eval_every": -1}}, "budget.eval_every"),
        ({"budget": {"updates": 100, "eval_every": 500}}, "above budget.updates"),
        ({"resources": {"cpus": 0}}, "resources.cpus must be > 0"),
        ({"resources": {"gpu": -0.5}}, "resources.gpu"),
        ({"datasets": ["hopper-bogus"]}, "unknown dataset name 'hopper-bogus'"),
        ({"rtgs": {"walker2d-medium": [0.7]}}, "not among the datasets"),
        ({"seeds": [0, 0]}, "seeds repeats a value"),
        ({"name": "a/b"}, "name must be letters"),
        ({"epochs": 3}, "unknown key(s) ['epochs']"),
        ({"budget": {"updates": 10, "steps": 3}}, "unknown key(s) ['steps'] in [budget]"),
    ],
)
def test_bad_spec_is_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match="^the spec: ") as error:
        spec(**changes)
    assert message in str(error.value)


def test_missing_key_is_named():
    data = dict(VALID)
    del data["methods"]
    with pytest.raises(ValueError, match=r"missing key\(s\) \['methods'\]"):
        spec_from_dict(data)


def test_horizon_above_the_models_segment_length_is_refused():
    from dwm_gym.world_model.bundled import resolve_checkpoint
    from dwm_gym.world_model.registry import load_world_model

    longest = load_world_model(resolve_checkpoint("hopper", "medium", "dwm"), device="cpu").max_steps
    ok = plan_trials(spec(methods=["DWM-TD3BC"], seeds=[0], horizons=[longest]), cache_dir="/tmp/c")
    assert ok[0].horizon == longest
    with pytest.raises(ValueError, match=f"horizons \\[{longest + 1}\\] are above what the dwm model of hopper-medium"):
        plan_trials(spec(methods=["DWM-TD3BC"], horizons=[1, longest + 1]), cache_dir="/tmp/c")


def test_bad_files_are_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="no sweep spec"):
        load_spec(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("name = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_spec(tmp_path / "bad.toml")
    (tmp_path / "neg.toml").write_text(
        'name="x"\ndatasets=["hopper-medium"]\nmethods=["IQL"]\nseeds=[0]\n[budget]\nupdates=-1\n'
    )
    with pytest.raises(ValueError, match="neg.toml: budget.updates"):
        load_spec(tmp_path / "neg.toml")


def test_direct_construction_checks_too():
    with pytest.raises(ValueError, match="unknown method"):
        SweepSpec(name="x", datasets=("hopper-medium",), methods=("SAC",), seeds=(0,))


def test_a_labelled_dwm_names_its_trials_and_needs_its_label(tmp_path):
    from dwm_gym.world_model.bundled import resolve_checkpoint

    checkpoint = str(resolve_checkpoint("hopper", "medium", "dwm"))
    labelled = plan_trials(spec(methods=["DWM-TD3BC"], dwm_checkpoint=checkpoint, dwm_label="f32"), tmp_path)
    assert [t.name for t in labelled] == ["hopper-medium/DWM-TD3BC_f32_s0", "hopper-medium/DWM-TD3BC_f32_s1"]
    with pytest.raises(ValueError, match="dwm_checkpoint and dwm_label go together"):
        spec(dwm_checkpoint=checkpoint)


def test_cache_seed_and_data_termination_make_trials_of_their_own(tmp_path):
    default = plan_trials(spec(seeds=[0]), tmp_path)
    other = plan_trials(spec(seeds=[0], cache_seed=1, data_termination=True), tmp_path)
    assert [t.name for t in other] == ["hopper-medium/TD3BC_s0", "hopper-medium/DWM-TD3BC_cache1_dterm_s0"]
    assert other[0].key == default[0].key  # model-free: neither setting applies
    assert other[1].key != default[1].key and other[1].config.cache_file != default[1].config.cache_file
    with pytest.raises(ValueError, match="cache_seed"):
        spec(cache_seed=-1)
