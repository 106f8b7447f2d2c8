"""DiffusionMVEReplayBuffer: the SB3 batch carries the Diffusion-MVE target; cache and fresh agree."""

import os
import pickle

import numpy as np
import pytest
import torch
from stable_baselines3.common.buffers import ReplayBuffer

from dwm_gym.value_expansion import DiffusionMVEReplayBuffer, buffer_from_dataset, discounted_reward_sum
from dwm_gym.world_model import load_world_model


def sample(buffer, batch=32, seed=0):
    np.random.seed(seed)  # SB3 draws batch indices from np.random
    return buffer.sample(batch)


def test_horizon_zero_is_the_plain_replay_batch(dataset, dwm_path):
    plain = buffer_from_dataset(dataset, ReplayBuffer, device="cpu")
    mve = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=dwm_path, horizon=0)
    a, b = sample(plain), sample(mve)
    assert type(a) is type(b) and b.discounts is None
    for name in a._fields[:5]:
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0)


def test_scripted_segments_give_the_hand_computed_target(dataset, scripted_dwm):
    buffer = buffer_from_dataset(
        dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=scripted_dwm, horizon=3, gamma=0.5, cache=False
    )
    batch = sample(buffer, 8)
    # r̂_{t+h} = h + 1: 1 + 0.5·2 + 0.25·3, ŝ_{t+3} = s_t (dz = 0), healthy → not done, discount γ^3
    torch.testing.assert_close(batch.rewards, torch.full((8, 1), 2.75))
    torch.testing.assert_close(batch.next_observations, batch.observations)
    assert batch.dones.sum() == 0 and torch.allclose(batch.discounts, torch.full((8, 1), 0.125))
    scripted_dwm.dz = -0.3  # z: 1.25 → 0.95 → 0.65 (unhealthy at ŝ_{t+2})
    batch = sample(buffer, 8)
    torch.testing.assert_close(batch.rewards, torch.full((8, 1), 2.0))  # r̂_{t+2} leaves a terminal state
    assert torch.all(batch.dones == 1)


@pytest.mark.parametrize("data_termination", [False, True])
def test_data_termination_ends_the_segment_at_a_real_fall_the_model_missed(dataset, scripted_dwm, data_termination):
    buffer = buffer_from_dataset(
        dataset,
        DiffusionMVEReplayBuffer,
        device="cpu",
        world_model=scripted_dwm,
        horizon=3,
        gamma=0.5,
        cache=False,
        data_termination=data_termination,
    )
    data = dataset.transitions
    falls, cuts = np.flatnonzero(data["terminations"]), np.flatnonzero(data["truncations"])
    others = np.setdiff1d(np.arange(len(data["rewards"])), np.concatenate([falls, cuts]))[:20]
    assert len(falls) == 3 and len(cuts) == 3  # the fixture: even episodes fall, odd ones are cut
    batch = buffer._get_samples(np.concatenate([falls, cuts, others]))  # dz = 0: every imagined state healthy
    n = len(falls)
    if data_termination:  # a real fall: only r̂_t counts, nothing is bootstrapped
        assert torch.all(batch.dones[:n] == 1)
        torch.testing.assert_close(batch.rewards[:n], torch.ones(n, 1))
    else:
        assert torch.all(batch.dones[:n] == 0)
        torch.testing.assert_close(batch.rewards[:n], torch.full((n, 1), 2.75))
    # time-limit cuts and ordinary transitions never take a termination from the data
    assert torch.all(batch.dones[n:] == 0)
    torch.testing.assert_close(batch.rewards[n:], torch.full((len(batch.rewards) - n, 1), 2.75))


def test_cache_and_fresh_sampling_agree_and_match_the_model(dataset, deterministic_dwm_path):
    kwargs = dict(device="cpu", world_model=deterministic_dwm_path, horizon=4, rtg=0.8, return_segments=True)
    fresh = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, cache=False, **kwargs)
    cached = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, cache=True, cache_samples=2, **kwargs)
    a, b = sample(fresh, 64), sample(cached, 64)
    for name in a._fields:
        torch.testing.assert_close(getattr(a, name), getattr(b, name), atol=1e-5, rtol=1e-5)
    # ... and both equal the target assembled by hand from the model's own segment (other batch: float rounding)
    model = load_world_model(deterministic_dwm_path)
    seg = model.rollout(a.observations.float(), a.actions, 4, rtg=0.8)
    expected = discounted_reward_sum(seg.rewards, seg.terminated, 0.99)
    torch.testing.assert_close(a.rewards[:, 0], expected, atol=1e-3, rtol=1e-3)
    torch.testing.assert_close(a.next_observations.float(), seg.states[:, 3], atol=1e-3, rtol=1e-3)
    assert a.segment_states.shape == (64, 4, 11) and a.segment_rewards.shape == (64, 4)


def test_cache_is_lazy_reused_refreshed_and_invalidated(dataset, dwm_path):
    buffer = buffer_from_dataset(
        dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=dwm_path, horizon=2, cache_samples=3
    )
    n = dataset.num_transitions
    sample(buffer, 16)
    first = buffer.cache.segments_imagined
    assert 0 < first <= 16 * 3 and first % 3 == 0  # only sampled rows, M = 3 segments each
    metrics = buffer.fill_cache()
    assert buffer.cache.segments_imagined == n * 3 and metrics["segments"] == n * 3 - first
    stored = buffer.cache.rewards.clone()
    sample(buffer, 64, seed=1)
    assert buffer.cache.segments_imagined == n * 3  # served from the cache, nothing imagined
    assert torch.equal(stored, buffer.cache.rewards)
    buffer.cache_refresh_every = 4  # a quarter of the rows per sample() call
    sample(buffer, 8, seed=2)
    assert buffer.cache.segments_imagined == n * 3 + 3 * int(np.ceil(n / 4))
    assert not torch.equal(stored, buffer.cache.rewards)
    obs = dataset.transitions["observations"][:1]
    buffer.allow_online_data()  # offline data refuse add() unless allowed
    buffer.add(obs, obs, np.zeros((1, 3)), np.zeros(1), np.zeros(1), [{}])  # overwrites row pos (0 when full)
    assert not buffer.cache.filled[0] and buffer.cache.filled[1:].all()


def test_fresh_samples_differ_between_calls_and_seeded_buffers_repeat(dataset, dwm_path):
    make = lambda: buffer_from_dataset(  # noqa: E731
        dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=dwm_path, horizon=3, cache=False, seed=5
    )
    one, two = make(), make()
    a1, a2, b1 = sample(one, 16), sample(one, 16), sample(two, 16)
    torch.testing.assert_close(a1.rewards, b1.rewards, rtol=0, atol=0)
    assert not torch.equal(a1.rewards, a2.rewards)


def test_arguments_are_validated(dataset, dwm_path, onestep_path):
    with pytest.raises(ValueError, match="horizon must be <= 7"):
        buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model=dwm_path, horizon=8)
    with pytest.raises(ValueError, match="use OneStepMVEReplayBuffer for it"):
        buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model=onestep_path, horizon=2)
    with pytest.raises(FileNotFoundError):
        buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model="missing.safetensors")


def test_pickles_with_the_checkpoint_path_not_the_model(dataset, dwm_path):
    buffer = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=dwm_path, horizon=2)
    sample(buffer, 8)
    blob = pickle.dumps(buffer)
    assert len(blob) < 2 * buffer.observations.nbytes + 10**6  # no model weights, no cache
    restored = pickle.loads(blob)
    assert restored.world_model_path == dwm_path and restored.rtg == 0.7  # the default: the header's median RTG
    assert sample(restored, 8).rewards.shape == (8, 1)


class DoublingNormalizer:
    """Stands in for SB3's ``VecNormalize``: observations ×2, rewards ×10."""

    def normalize_obs(self, obs):
        return obs * 2.0

    def normalize_reward(self, reward):
        return reward * 10.0


def test_imagined_states_and_rewards_are_normalized_like_real_ones(dataset, scripted_dwm):
    buffer = buffer_from_dataset(
        dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=scripted_dwm, horizon=2, cache=False
    )
    np.random.seed(0)
    raw = buffer.sample(8)
    np.random.seed(0)
    normalized = buffer.sample(8, env=DoublingNormalizer())
    torch.testing.assert_close(normalized.observations, 2 * raw.observations)
    torch.testing.assert_close(normalized.next_observations, 2 * raw.next_observations)
    torch.testing.assert_close(normalized.rewards, 10 * raw.rewards)


def test_shared_cache_file_is_reused_by_matching_runs_and_rebuilt_otherwise(dataset, dwm_path, tmp_path):
    cache_file = tmp_path / "cache.safetensors"
    kwargs = dict(device="cpu", world_model=dwm_path, horizon=3, rtg=0.8, cache_file=cache_file)
    first = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, seed=0, **kwargs)
    assert first.prepare_cache()["segments"] == dataset.num_transitions and cache_file.is_file()
    # another run (other seed, λ-returns) loads the same segments instead of imagining
    second = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, seed=1, return_segments=True, **kwargs)
    assert second.prepare_cache() == {"loaded": 1.0} and second.cache.segments_imagined == 0
    a, b = sample(first, 16, seed=3), sample(second, 16, seed=3)
    torch.testing.assert_close(a.rewards, b.rewards)
    torch.testing.assert_close(a.next_observations, b.next_observations)
    # other RTG: the file does not fit, the cache is rebuilt and the file replaced
    other = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **{**kwargs, "rtg": 0.5})
    assert other.prepare_cache()["segments"] == dataset.num_transitions
    assert buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs).prepare_cache().get("loaded") is None


def test_a_cache_file_for_a_longer_horizon_serves_a_shorter_one_exactly(dataset, dwm_path, tmp_path):
    cache_file = tmp_path / "cache.safetensors"
    kwargs = dict(device="cpu", world_model=dwm_path, rtg=0.8, cache_file=cache_file)
    long = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, horizon=5, **kwargs)
    long.prepare_cache()
    short = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, horizon=2, **kwargs)
    assert short.prepare_cache() == {"loaded": 1.0} and short.cache.segments_imagined == 0
    torch.testing.assert_close(short.cache.rewards, long.cache.rewards[..., :2])
    torch.testing.assert_close(short.cache.states, long.cache.states[:, :, :2])
    torch.testing.assert_close(short.cache.terminated, long.cache.terminated[..., :2])
    # a file for a shorter horizon cannot serve a longer one: rebuilt
    assert (
        buffer_from_dataset(
            dataset, DiffusionMVEReplayBuffer, horizon=3, **{**kwargs, "cache_file": tmp_path / "b"}
        ).prepare_cache()["segments"]
        > 0
    )
    longer = buffer_from_dataset(
        dataset, DiffusionMVEReplayBuffer, horizon=6, **{**kwargs, "cache_file": tmp_path / "b"}
    )
    assert "loaded" not in longer.prepare_cache()


def test_an_interrupted_fill_resumes_from_its_partial_file_with_the_same_segments(dataset, dwm_path, tmp_path):
    """Fault suite: a fill killed half-way keeps its rows; the resumed fill ends as an uninterrupted one."""
    kwargs = dict(device="cpu", world_model=dwm_path, horizon=3, rtg=0.8, cache_batch_size=4, seed=0)
    whole = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, cache_file=tmp_path / "whole", **kwargs)
    whole.prepare_cache()  # 240 rows in chunks of 64
    cache_file = tmp_path / "cache.safetensors"
    kwargs = {**kwargs, "cache_file": cache_file, "cache_checkpoint_s": 0.0}
    killed = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs)
    fill_rows, calls = killed._fill_rows, []

    def dies_on_the_third_chunk(rows):
        calls.append(len(rows))
        if len(calls) == 3:
            raise KeyboardInterrupt
        fill_rows(rows)

    killed._fill_rows = dies_on_the_third_chunk
    with pytest.raises(KeyboardInterrupt):
        killed.prepare_cache()
    partial = tmp_path / "cache.safetensors.partial"
    assert partial.is_file() and not cache_file.exists()
    # another RTG does not take these rows
    other = buffer_from_dataset(
        dataset, DiffusionMVEReplayBuffer, **{**kwargs, "rtg": 0.5, "cache_file": tmp_path / "o"}
    )
    assert other.cache.load_partial(partial, other.cache_identity()) is None and not other.cache.filled.any()
    resumed = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs)
    assert resumed.prepare_cache()["segments"] == dataset.num_transitions - 128  # two chunks were kept
    assert cache_file.is_file() and not partial.exists()
    torch.testing.assert_close(resumed.cache.rewards, whole.cache.rewards, rtol=0, atol=0)
    torch.testing.assert_close(resumed.cache.states, whole.cache.states, rtol=0, atol=0)
    assert torch.equal(resumed.cache.terminated, whole.cache.terminated)
    with pytest.raises(ValueError, match="cache_checkpoint_s must be seconds >= 0"):
        buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **{**kwargs, "cache_checkpoint_s": -1})


def test_truncated_shared_cache_file_is_rebuilt_with_a_warning(dataset, dwm_path, tmp_path, caplog):
    """Fault suite (docs/reliability.md): a cache file cut short (a killed write elsewhere, a full disk) is rebuilt."""
    cache_file = tmp_path / "cache.safetensors"
    kwargs = dict(device="cpu", world_model=dwm_path, horizon=3, rtg=0.8, cache_file=cache_file)
    buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs).prepare_cache()
    cache_file.write_bytes(cache_file.read_bytes()[: cache_file.stat().st_size // 2])
    with caplog.at_level("WARNING"):
        rebuilt = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs).prepare_cache()
    assert rebuilt["segments"] == dataset.num_transitions and "is unreadable" in caplog.text
    assert buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, **kwargs).prepare_cache() == {"loaded": 1.0}


def test_shared_cache_identity_hashes_the_data_and_the_checkpoint(dataset, dwm_path, retrained_dwm_path, tmp_path):
    """A reordered dataset (same sums, same size) or a retrained checkpoint (same byte size) must not
    be served the segments imagined for the original ones."""
    from dwm_gym.data import OfflineDataset

    cache_file = tmp_path / "cache.safetensors"
    kwargs = dict(device="cpu", horizon=3, rtg=0.8, cache_file=cache_file)
    first = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model=dwm_path, **kwargs)
    first.prepare_cache()
    assert buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model=dwm_path, **kwargs).prepare_cache() == {
        "loaded": 1.0
    }
    # the same episodes in another order: sums, sizes and shapes are unchanged
    reordered = OfflineDataset(dataset.episodes[::-1], env_id="Hopper-v5", dataset_id=dataset.dataset_id)
    shuffled = buffer_from_dataset(reordered, DiffusionMVEReplayBuffer, world_model=dwm_path, **kwargs)
    assert shuffled.cache_identity()["rows"] == first.cache_identity()["rows"]
    assert shuffled.prepare_cache().get("loaded") is None
    # a "retrained" checkpoint: other weights, the same architecture and file size
    assert os.path.getsize(retrained_dwm_path) == os.path.getsize(dwm_path)
    first.prepare_cache()  # the file holds the original's segments again
    other = buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, world_model=retrained_dwm_path, **kwargs)
    assert other.prepare_cache().get("loaded") is None


def test_a_model_that_needs_a_policy_is_refused_with_the_right_buffer_named(dataset, onestep_path, dwm_path):
    with pytest.raises(ValueError, match="use OneStepMVEReplayBuffer"):
        buffer_from_dataset(dataset, DiffusionMVEReplayBuffer, device="cpu", world_model=onestep_path)
    from dwm_gym.value_expansion import OneStepMVEReplayBuffer

    with pytest.raises(ValueError, match="use DiffusionMVEReplayBuffer"):
        buffer_from_dataset(dataset, OneStepMVEReplayBuffer, device="cpu", world_model=dwm_path)
