"""Image observations: CarRacing's uint8 frames from the recorder through the dataset and the in-memory
data to the learner, unchanged; the CNN module that reads them as floats in [0, 1]; a dataset of frames
refused for an env with vector observations."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from local_learner import local_learner
from ray.rllib.core import DEFAULT_MODULE_ID
from ray.rllib.core.columns import Columns
from ray.rllib.policy.sample_batch import MultiAgentBatch, SampleBatch

import rllib_il.algorithms.image_observations as image_observations
from rllib_il import data as dataset
from rllib_il.algorithms.image_observations import ImagePPOTorchRLModule, is_image, with_image_observations
from rllib_il.algorithms.marwil.in_memory_data import InMemoryOfflineData
from rllib_il.algorithms.marwil.marwil import MARWILILConfig
from rllib_il.algorithms.marwil.streaming_data import EPISODES_PER_BLOCK, row_groups
from rllib_il.core.errors import ConfigError
from rllib_il.experts.checkpoint import ModulePolicy
from rllib_il.rollout.recording import record_dataset

ROOT = Path(__file__).resolve().parents[1]
STEPS = 12  # per recorded episode: the car is still on the start line, the frames still differ


@pytest.fixture(scope="module")
def frames_dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("images") / "carracing"
    env_config = {"max_episode_steps": STEPS}
    record_dataset("CarRacing-v3", "carracing_pure_pursuit", 2, out, env_config, progress=False)
    return out


def bc_config(input_, env="CarRacing-v3"):
    return (
        MARWILILConfig()
        .environment(env, env_config={"max_episode_steps": STEPS} if env == "CarRacing-v3" else {})
        .training(beta=0.0, train_batch_size_per_learner=8)
        .offline_data(input_=str(input_), dataset_num_iters_per_learner=1)
        .rl_module(model_config={"conv_filters": [[4, [8, 8], 4], [8, [4, 4], 2], [16, [12, 12], 1]]})
        .debugging(seed=0)
    )


def test_recorded_frames_are_the_envs_uint8_frames(frames_dataset):
    """Replaying the stored actions from the stored seeds gives exactly the stored frames."""
    episodes = dataset.read_episodes(frames_dataset)
    assert [len(e) for e in episodes] == [STEPS, STEPS]
    env = gym.make("CarRacing-v3", max_episode_steps=STEPS)
    for seed, episode in enumerate(episodes):
        stored = np.asarray(episode.get_observations())
        assert stored.dtype == np.uint8 and stored.shape == (STEPS + 1, 96, 96, 3)
        frames = [env.reset(seed=seed)[0]]
        frames += [env.step(action)[0] for action in episode.get_actions()]
        np.testing.assert_array_equal(stored, np.asarray(frames))
        assert len(np.unique(stored.reshape(STEPS + 1, -1), axis=0)) > 1


def test_frames_reach_the_learner_as_uint8_unchanged(frames_dataset, monkeypatch):
    config = bc_config(frames_dataset).training(validation_fraction=0.0)
    data = InMemoryOfflineData(config)
    stored = np.concatenate([np.asarray(e.get_observations()[:-1]) for e in dataset.read_episodes(frames_dataset)])
    assert data.train.obs.dtype == np.uint8
    assert sorted(row.tobytes() for row in data.train.obs) == sorted(row.tobytes() for row in stored)
    batch = data.sample(8)
    seen, scaled = [], image_observations.scaled
    monkeypatch.setattr(image_observations, "scaled", lambda b: seen.append(b[Columns.OBS]) or scaled(b))
    learner = local_learner(with_image_observations(config), "CarRacing-v3")
    learner.update(batch=MultiAgentBatch({DEFAULT_MODULE_ID: SampleBatch(batch)}, env_steps=8))
    assert seen and all(obs.dtype == torch.uint8 for obs in seen)
    np.testing.assert_array_equal(seen[0].numpy(), batch[Columns.OBS])


def test_image_module_has_conv_layers_and_reads_frames_in_0_1():
    config = with_image_observations(bc_config("unused"))
    assert config.rl_module_spec.module_class is ImagePPOTorchRLModule
    module = local_learner(config, "CarRacing-v3").module[DEFAULT_MODULE_ID].unwrapped()
    assert any(isinstance(layer, torch.nn.Conv2d) for layer in module.modules())
    frames = torch.as_tensor(np.random.default_rng(0).integers(0, 256, size=(4, 96, 96, 3)), dtype=torch.uint8)
    with torch.no_grad():
        found = module.forward_inference({Columns.OBS: frames})[Columns.ACTION_DIST_INPUTS]
        unscaled = super(ImagePPOTorchRLModule, module)._forward({Columns.OBS: frames.float() / 255})
        values = module.compute_values({Columns.OBS: frames})
    torch.testing.assert_close(found, unscaled[Columns.ACTION_DIST_INPUTS])
    assert values.shape == (4,) and torch.isfinite(values).all()


def test_vector_observations_keep_rllibs_module():
    config = MARWILILConfig().environment("Pendulum-v1")
    assert with_image_observations(config) is config
    assert not is_image(gym.spaces.Box(0, 255, (96, 96, 3), np.float32))
    assert is_image(gym.spaces.Box(0, 255, (96, 96, 3), np.uint8))


def test_a_dataset_of_frames_for_a_vector_env_is_refused_in_one_line(frames_dataset):
    with pytest.raises(ConfigError) as error:
        bc_config(frames_dataset, env="Pendulum-v1").prepare()
    message = str(error.value)
    assert "\n" not in message
    assert "observation_space Box(0, 255, (96, 96, 3), uint8)" in message and "Pendulum" in message


def test_module_policy_gives_the_module_uint8_frames():
    """Evaluation and DAgger act through ModulePolicy: its greedy action on a frame is the module's mean
    on that frame scaled to [0, 1] (not on the frame cast to float)."""
    module = local_learner(with_image_observations(bc_config("unused")), "CarRacing-v3").module[DEFAULT_MODULE_ID]
    module = module.unwrapped()
    env = gym.make("CarRacing-v3")
    frame = env.reset(seed=0)[0]
    action, logp = ModulePolicy(env, module).act(frame)
    with torch.no_grad():
        inputs = module.forward_inference({Columns.OBS: torch.as_tensor(frame[None])})[Columns.ACTION_DIST_INPUTS]
    mean = inputs[0, :3].numpy()
    expected = dataset.to_env_units(np.clip(mean, -1, 1)[None], np.zeros(1), env.action_space)[0][0]
    np.testing.assert_allclose(action, np.clip(expected, env.action_space.low, env.action_space.high), rtol=1e-5)
    assert logp == 0.0


def test_streamed_blocks_of_frames_stay_small():
    """Ray Data decodes CarRacing's ~25 MB episodes a few at a time, CartPole's 32 at a time."""
    (carracing,) = row_groups(ROOT / "saved_experiences/carracing", None)
    (cartpole,) = row_groups(ROOT / "saved_experiences/cartpole", None)
    assert cartpole["per_block"] == EPISODES_PER_BLOCK
    assert 1 <= carracing["per_block"] < 4
