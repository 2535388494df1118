"""Checks that the Duckietown simulator runs headless here and that a scripted teacher can drive it.

    bench/.venv-duckietown/bin/python bench/duckietown/check_duckietown.py --episodes 10 --out check.json
    bench/.venv-duckietown/bin/python bench/duckietown/check_duckietown.py --episodes 5 --domain-rand --out dr.json

Runs in bench/.venv-duckietown (made by bench/duckietown/setup.sh), never in rllib_il's venv: the
simulator (duckietown-gym-daffy 6.1.34) needs numpy 1.23 and the old gym API, so nothing from
rllib_il is imported here. No X server or GPU is needed: gym_duckietown switches pyglet to its headless
EGL mode by itself, and Mesa renders in software.

What it does:
- builds `DuckietownEnv` (actions [speed, steering]) on the map `loop_empty` with an 80x60 camera,
  the simulator's domain randomization off unless `--domain-rand`;
- drives `--episodes` episodes, episode i after `env.seed(i)` and `reset()`, each until the simulator
  ends it (it leaves the road, or `--max-steps` steps), with the pure-pursuit teacher below;
- prints a markdown table (env steps/s, return mean ± std, episode length, episodes that reached
  `--max-steps`, the observation's shape and dtype) and writes the numbers to `--out` as JSON.

The teacher is written here; the package ships none. Each step it takes the point of the right lane's
centre curve closest to the robot, moves `--look-ahead` metres along the curve's tangent from there, snaps
that back onto the curve, and steers against the target's lateral offset: steering = -gain * (component
of the unit vector from the robot to the target along the robot's right-hand direction), at a constant
speed. Its steering is not clipped: DuckietownEnv clips the wheel commands, not the steering, so the
teacher may leave the [-1, 1] box of the action space; the JSON reports how often.

Env steps/s counts the time spent inside `env.step` only (rendering included); the wall rate also
counts the teacher and the resets.
"""

import argparse
import contextlib
import io
import json
import logging
import math
import os
import platform
import shlex
import sys
import time

import numpy as np

MAP_NAME = "loop_empty"
CAMERA_WIDTH, CAMERA_HEIGHT = 80, 60


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--episodes", type=int, default=10, help="episodes, seeds 0 .. episodes - 1")
    parser.add_argument("--max-steps", type=int, default=500, help="the simulator's episode limit")
    parser.add_argument("--domain-rand", action="store_true", help="the simulator's domain randomization")
    parser.add_argument("--look-ahead", type=float, default=0.25, help="teacher look-ahead along the lane (m)")
    parser.add_argument("--speed", type=float, default=0.3, help="teacher speed command")
    parser.add_argument("--gain", type=float, default=5.0, help="teacher steering gain")
    parser.add_argument("--out", default=None, help="JSON file to write")
    return parser.parse_args()


def import_simulator():
    """Imports gym_duckietown quietly: it prints pyglet's options and logs at DEBUG level on import."""
    with contextlib.redirect_stdout(io.StringIO()):
        import gym_duckietown  # noqa: F401  (sets pyglet's headless option)
        from gym_duckietown.envs import DuckietownEnv
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(logging.WARNING)
    return DuckietownEnv


class PurePursuitTeacher:
    """Lane following from the simulator's state (not from the image); see the module docstring."""

    def __init__(self, look_ahead: float, speed: float, gain: float):
        self.look_ahead, self.speed, self.gain = look_ahead, speed, gain

    def target(self, env, pos, angle):
        point, tangent = env.closest_curve_point(pos, angle)
        if point is None:  # off the drivable tiles; the simulator ends the episode
            return None
        distance = self.look_ahead
        for _ in range(8):  # near a tile's edge the projected point can fall off the road: come closer
            ahead, _ = env.closest_curve_point(point + distance * tangent, angle)
            if ahead is not None:
                return ahead
            distance /= 2
        return point

    def __call__(self, env) -> np.ndarray:
        pos, angle = np.asarray(env.cur_pos, dtype=float), float(env.cur_angle)
        target = self.target(env, pos, angle)
        if target is None:
            return np.array([0.0, 0.0])
        to_target = target - pos
        norm = np.linalg.norm(to_target)
        if norm < 1e-9:
            return np.array([self.speed, 0.0])
        # The simulator's heading is (cos a, 0, -sin a) in (x, y, z); the right-hand side is (sin a, 0, cos a).
        right = np.array([math.sin(angle), 0.0, math.cos(angle)])
        lateral = float(np.dot(right, to_target / norm))
        return np.array([self.speed, -self.gain * lateral])


def end_reason(info: dict, steps: int, max_steps: int) -> str:
    message = str(info.get("Simulator", {}).get("msg", ""))
    if "invalid pose" in message:
        return "invalid-pose"
    if steps >= max_steps:
        return "max-steps"
    return message or "unknown"


def machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{platform.machine()}, {os.cpu_count()} CPUs, {memory:.0f} GiB, Python {platform.python_version()}"


def renderer() -> dict:
    try:
        from gym_duckietown.check_hw import get_graphics_information

        return get_graphics_information()
    except Exception as error:  # informational only
        return {"error": repr(error)}


def main() -> None:
    args = parse_args()
    DuckietownEnv = import_simulator()
    seeds = list(range(args.episodes))
    env = DuckietownEnv(
        seed=seeds[0] if seeds else 0,
        map_name=MAP_NAME,
        max_steps=args.max_steps,
        domain_rand=args.domain_rand,
        camera_width=CAMERA_WIDTH,
        camera_height=CAMERA_HEIGHT,
    )
    teacher = PurePursuitTeacher(args.look_ahead, args.speed, args.gain)

    returns, lengths, reasons = [], [], []
    step_time = reset_time = 0.0
    steer_abs_max, steer_outside = 0.0, 0
    obs = None
    wall_start = time.perf_counter()
    for seed in seeds:
        start = time.perf_counter()
        env.seed(seed)
        obs = env.reset()
        reset_time += time.perf_counter() - start
        episode_return, steps, done, info = 0.0, 0, False, {}
        while not done:
            action = teacher(env)
            steer_abs_max = max(steer_abs_max, abs(float(action[1])))
            steer_outside += abs(float(action[1])) > 1.0
            start = time.perf_counter()
            obs, reward, done, info = env.step(action)
            step_time += time.perf_counter() - start
            episode_return += float(reward)
            steps += 1
        returns.append(round(episode_return, 3))
        lengths.append(steps)
        reasons.append(end_reason(info, steps, args.max_steps))
    wall_time = time.perf_counter() - wall_start
    graphics = renderer()
    env.close()

    total_steps = int(sum(lengths))
    per_seed = np.array(returns, dtype=float)
    mean = float(per_seed.mean()) if len(per_seed) else float("nan")
    std = float(per_seed.std(ddof=1)) if len(per_seed) > 1 else 0.0
    completed = sum(reason == "max-steps" for reason in reasons)
    steps_per_second = total_steps / step_time if step_time else float("nan")
    wall_steps_per_second = total_steps / wall_time if wall_time else float("nan")
    obs_shape, obs_dtype = list(np.asarray(obs).shape), str(np.asarray(obs).dtype)
    domain = "on" if args.domain_rand else "off"

    command = shlex.join([os.path.relpath(sys.executable), os.path.relpath(__file__)] + sys.argv[1:])
    result = {
        "command": command,
        "metric": (
            f"episode return of a pure-pursuit teacher (look-ahead {args.look_ahead}, speed {args.speed}, "
            f"gain {args.gain}) in DuckietownEnv on {MAP_NAME}, {CAMERA_WIDTH}x{CAMERA_HEIGHT} camera, "
            f"domain randomization {domain}, at most {args.max_steps} steps"
        ),
        "seeds": seeds,
        "per_seed": returns,
        "mean": round(mean, 3),
        "std": round(std, 3),
        "episodes": len(seeds),
        "eval_seeds": f"env.seed(i) then reset(), i = 0..{len(seeds) - 1}" if seeds else "none",
        "machine": machine(),
        "steps_per_second": round(steps_per_second, 1),
        "wall_steps_per_second": round(wall_steps_per_second, 1),
        "mean_reset_ms": round(1000 * reset_time / len(seeds), 1) if seeds else None,
        "observation": {"shape": obs_shape, "dtype": obs_dtype},
        "completed_episodes": completed,
        "episode_lengths": lengths,
        "end_reasons": reasons,
        "env_steps": total_steps,
        "domain_rand": bool(args.domain_rand),
        "map_name": MAP_NAME,
        "max_steps": args.max_steps,
        "camera": [CAMERA_WIDTH, CAMERA_HEIGHT],
        "teacher": {
            "look_ahead": args.look_ahead,
            "speed": args.speed,
            "gain": args.gain,
            "steering_abs_max": round(steer_abs_max, 3),
            "steps_with_steering_outside_action_box": int(steer_outside),
        },
        "renderer": graphics,
    }

    print(
        f"DuckietownEnv, {MAP_NAME}, {CAMERA_WIDTH}x{CAMERA_HEIGHT}, domain randomization {domain}, "
        f"renderer: {graphics.get('renderer', '?')}\n"
    )
    print("| episodes | env steps/s (wall) | return, mean ± std | mean length | reached max steps | observation |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(
        f"| {len(seeds)} | {steps_per_second:.1f} ({wall_steps_per_second:.1f}) | {mean:.1f} ± {std:.1f} "
        f"| {np.mean(lengths) if lengths else float('nan'):.1f} | {completed} / {len(seeds)} "
        f"| {tuple(obs_shape)} {obs_dtype} |"
    )
    print(f"\nper-episode returns: {returns}\nend reasons: {reasons}")
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as handle:
            json.dump(result, handle, indent=2)
            handle.write("\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
