"""The pure-pursuit expert for CarRacing-v3: steering geometry, the env's angle convention, a short drive."""

import gymnasium as gym
import numpy as np
import pytest

from rllib_il.experts import make_expert
from rllib_il.experts.car_racing import CarRacingPurePursuitExpert, pure_pursuit_steer

WHEELBASE = CarRacingPurePursuitExpert.WHEELBASE


@pytest.fixture(scope="module")
def env():
    env = gym.make("CarRacing-v3")
    yield env
    env.close()


def test_pure_pursuit_steers_towards_the_target_side():
    # Body angle 0 heads along +y: x < 0 is to the left. Steer -1 is full left.
    assert pure_pursuit_steer((0, 0), 0.0, (-5, 10), WHEELBASE) < 0
    assert pure_pursuit_steer((0, 0), 0.0, (5, 10), WHEELBASE) > 0
    assert pure_pursuit_steer((0, 0), 0.0, (0, 10), WHEELBASE) == pytest.approx(0.0)
    # Body angle pi/2 heads along -x: y < 0 is to the left.
    assert pure_pursuit_steer((1, 1), np.pi / 2, (-9, -4), WHEELBASE) < 0
    assert pure_pursuit_steer((1, 1), np.pi / 2, (-9, 6), WHEELBASE) > 0


def test_pure_pursuit_wheel_angle_follows_the_arc_curvature():
    # Target at distance 5 with sin(alpha) = 0.6: curvature 2 * 0.6 / 5 = 0.24, wheel angle atan(wheelbase * 0.24).
    assert pure_pursuit_steer((0, 0), 0.0, (-3, 4), WHEELBASE) == pytest.approx(-np.arctan(WHEELBASE * 0.24))
    assert pure_pursuit_steer((0, 0), 0.0, (-1, 0), WHEELBASE) == -1.0  # clipped to the action space


def test_the_car_starts_along_the_track_with_angle_zero_meaning_plus_y(env):
    env.reset(seed=0)
    track, hull = env.unwrapped.track, env.unwrapped.car.hull
    step = np.subtract(track[1][2:], track[0][2:])
    heading = np.array([-np.sin(hull.angle), np.cos(hull.angle)])
    assert heading @ step / np.linalg.norm(step) > 0.99


def test_drives_a_seeded_episode_on_track_with_actions_in_the_box(env):
    unwrapped = env.unwrapped
    expert = make_expert("carracing_pure_pursuit", env)
    obs, _ = env.reset(seed=0)
    expert.reset(env, obs)
    centreline = np.array(unwrapped.track)[:, 2:]
    total, off_centre = 0.0, []
    for _ in range(300):
        action, logp = expert.act(obs)
        assert action.dtype == np.float32 and env.action_space.contains(action) and logp == 0.0
        obs, reward, terminated, truncated, _ = env.step(action)
        assert not (terminated or truncated)
        total += reward
        off_centre.append(np.linalg.norm(centreline - unwrapped.car.hull.position, axis=1).min())
    half_width = 40 / 6  # TRACK_WIDTH of car_racing.py
    assert max(off_centre) < half_width and total > 100
