"""Scripted expert for gymnasium's CarRacing: pure pursuit along the track's centreline.

The expert reads the track and the car's pose from the env (`env.unwrapped.track`, `env.unwrapped.car.hull`), not the
pixels. Conventions of the env (Box2D world, metres): a body with angle 0 points along +y, so the heading of angle
`a` is the direction (-sin a, cos a) and angles grow counter-clockwise (to the left). Each track point is
(alpha, beta, x, y) with beta the track's heading in the same convention; points are ~3.5 m apart. The action
[steer, gas, brake] steers the front wheels towards the angle -steer (radians, left positive), within their joint
limit of 0.4 rad: steer -1 is full left.
"""

import numpy as np

from rllib_il.experts.base import Expert


def wrap_angle(angle):
    """`angle` (radians) wrapped to [-pi, pi)."""
    return (angle + np.pi) % (2 * np.pi) - np.pi


def pure_pursuit_steer(position, angle: float, target, wheelbase: float) -> float:
    """The steering action in [-1, 1] that puts a car at `position` with body angle `angle` on the circular arc
    through `target` (pure pursuit, Coulter 1992, "Implementation of the Pure Pursuit Path Tracking Algorithm").

    With alpha the angle from the car's heading to the look-ahead direction (left positive) and L the distance to
    `target`, the arc's curvature is 2 sin(alpha) / L; a bicycle model with this wheelbase follows it with the wheel
    angle atan(wheelbase * curvature). The env turns the wheels to -steer radians, so steer = -wheel angle."""
    dx, dy = np.subtract(target, position)
    alpha = wrap_angle(np.arctan2(dy, dx) - (angle + np.pi / 2))
    curvature = 2 * np.sin(alpha) / np.hypot(dx, dy)
    return float(np.clip(-np.arctan(wheelbase * curvature), -1.0, 1.0))


class CarRacingPurePursuitExpert(Expert):
    """Drives gymnasium's CarRacing-v3 (continuous actions) around the track by pure pursuit: mean return ~920,
    every lap finished within the 1000 steps (random ~ -35).

    Steering: the look-ahead point is L = max(LOOKAHEAD_MIN, LOOKAHEAD_TIME * speed) metres along the track from the
    centreline point nearest to the car (a look-ahead growing with speed damps the weaving on straights);
    `pure_pursuit_steer` steers towards it.
    Speed: the target speed falls linearly from MAX_SPEED on a straight to MIN_SPEED where the track's heading turns
    by TURN_FULL radians or more within the next PREVIEW metres (read at the nearest point, so the car slows before
    a curve). Gas and brake are proportional to the speed error (GAS_GAIN, BRAKE_GAIN per m/s). The gas stays at
    most MAX_GAS: the rear wheels drive, and more gas spins them, so they lose their side grip and the car spins out
    in curves. The brake stays at most MAX_BRAKE, below the 0.9 that locks the wheels.
    """

    WHEELBASE = (80 + 82) * 0.02  # metres: car_dynamics.WHEELPOS has the axles at y = +80 and -82, times SIZE
    LOOKAHEAD_MIN = 12.0
    LOOKAHEAD_TIME = 0.3
    PREVIEW = 40.0
    TURN_FULL = 1.5
    MAX_SPEED = 120.0
    MIN_SPEED = 45.0
    GAS_GAIN = 0.1
    BRAKE_GAIN = 0.05
    MAX_GAS = 0.5
    MAX_BRAKE = 0.8

    def reset(self, env, obs) -> None:
        self.env = env
        track = np.array(env.unwrapped.track)
        self._points = track[:, 2:]
        self._spacing = np.mean(np.linalg.norm(np.diff(self._points, axis=0), axis=1))
        self._target_speeds = self._speed_profile(track[:, 1], max(1, round(self.PREVIEW / self._spacing)))

    def _speed_profile(self, headings: np.ndarray, preview: int) -> np.ndarray:
        """The target speed at every track point, from the largest heading change within the next `preview` points."""
        ahead = np.stack([np.roll(headings, -k) for k in range(1, preview + 1)])
        turn = np.abs(wrap_angle(ahead - headings)).max(axis=0)
        return self.MAX_SPEED - (self.MAX_SPEED - self.MIN_SPEED) * np.minimum(turn / self.TURN_FULL, 1.0)

    def act(self, obs):
        hull = self.env.unwrapped.car.hull
        position, speed = np.array(hull.position), np.hypot(*hull.linearVelocity)
        nearest = int(np.argmin(np.linalg.norm(self._points - position, axis=1)))
        lookahead = max(self.LOOKAHEAD_MIN, self.LOOKAHEAD_TIME * speed)
        target = self._points[(nearest + round(lookahead / self._spacing)) % len(self._points)]
        steer = pure_pursuit_steer(position, hull.angle, target, self.WHEELBASE)
        error = self._target_speeds[nearest] - speed
        gas = np.clip(self.GAS_GAIN * error, 0.0, self.MAX_GAS)
        brake = np.clip(-self.BRAKE_GAIN * error, 0.0, self.MAX_BRAKE)
        return np.array([steer, gas, brake], np.float32), 0.0
