"""Scripted experts for continuous-action control: gymnasium's Pendulum and MuJoCo's InvertedDoublePendulum.

Both balance with a discrete-time linear-quadratic regulator (LQR). For a model linearised about the upright
equilibrium, x[t+1] = A x[t] + B u[t], the feedback u[t] = -K x[t] minimises sum_t x[t]' Q x[t] + u[t]' R u[t]
with K = (R + B' P B)^-1 B' P A, where P solves the discrete algebraic Riccati equation
P = A' P A - A' P B (R + B' P B)^-1 B' P A + Q. Gains are computed once, when an expert is built.
"""

import numpy as np
import scipy.linalg

from rllib_il.experts.base import Expert, optional_import


def lqr_gain(A: np.ndarray, B: np.ndarray, Q: np.ndarray, R: np.ndarray) -> np.ndarray:
    """The discrete-time LQR gain K [n_u, n_x] for x[t+1] = A x[t] + B u[t] and cost x' Q x + u' R u."""
    P = scipy.linalg.solve_discrete_are(A, B, Q, R)
    return np.linalg.solve(R + B.T @ P @ B, B.T @ P @ A)


def _box_action(env, u) -> np.ndarray:
    """`u` as a float32 action clipped to the env's Box."""
    space = env.action_space
    return np.clip(np.asarray(u, np.float32).reshape(space.shape), space.low, space.high)


class PendulumSwingUpExpert(Expert):
    """Swings gymnasium's Pendulum-v1 up and balances it at the top: mean return ~ -145 (random ~ -1200).

    The env steps theta'' = w0^2 sin(theta) + b u (theta = 0 upright, w0^2 = 3 g / (2 l), b = 3 / (m l^2)) by
    semi-implicit Euler over dt. The energy per unit of inertia, E = omega^2 / 2 + w0^2 (cos(theta) - 1), is 0 at
    rest upright and -2 w0^2 at rest hanging, and changes by dE/dt = b u omega: torque along the motion adds energy.

    Switch rule: LQR when cos(theta) > 0.9 (|theta| < ~26 deg), energy pumping otherwise.
    - Pumping: u = k_E (E_up - E) sgn(omega) with E_up = 0, clipped to the torque limit: full torque along the
      motion while energy is short, against it when there is too much, proportional within max_torque / k_E of
      the upright energy. sgn(0) = +1, so a pendulum hanging at rest is pushed off.
    - LQR on (theta wrapped to (-pi, pi], omega) with the env's step linearised at theta = 0,
      A = [[1 + w0^2 dt^2, dt], [w0^2 dt, 1]], B = [[b dt^2], [b dt]], and the env's own cost as the LQR cost,
      Q = diag(1, 0.1), R = 0.001 (the reward is -(theta^2 + 0.1 omega^2 + 0.001 u^2)).
    """

    NEAR_TOP_COS = 0.9
    ENERGY_GAIN = 1.0
    UPRIGHT_ENERGY = 0.0
    Q = np.diag([1.0, 0.1])
    R = np.array([[0.001]])

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        pendulum = env.unwrapped
        self._w0_sq = 3 * pendulum.g / (2 * pendulum.l)
        self._gain = lqr_gain(*self._linear_step(pendulum), self.Q, self.R)[0]

    def _linear_step(self, pendulum):
        """The env's Euler step linearised at the upright rest state: A [2, 2], B [2, 1]."""
        dt, b = pendulum.dt, 3 / (pendulum.m * pendulum.l**2)
        A = np.array([[1 + self._w0_sq * dt**2, dt], [self._w0_sq * dt, 1.0]])
        B = np.array([[b * dt**2], [b * dt]])
        return A, B

    def act(self, obs):
        cos_theta, sin_theta, omega = obs
        if cos_theta > self.NEAR_TOP_COS:
            u = -self._gain @ [np.arctan2(sin_theta, cos_theta), omega]
        else:
            energy = omega**2 / 2 + self._w0_sq * (cos_theta - 1)
            u = self.ENERGY_GAIN * (self.UPRIGHT_ENERGY - energy) * (1.0 if omega >= 0 else -1.0)
        return _box_action(self.env, u), 0.0


class InvertedDoublePendulumLQRExpert(Expert):
    """Balances MuJoCo's InvertedDoublePendulum-v5 by LQR: return ~9360 of 1000 steps, the maximum (random ~ 50).

    State x = (qpos, qvel) = (cart position, hinge angle, hinge2 angle, and their velocities), read from the
    observation [x, sin(angles), cos(angles), velocities, constraint force] with the angles as atan2(sin, cos).
    Control u = the actuator's ctrl in [-1, 1] (the force on the cart is gear * u = 500 u N).
    A and B are central finite differences of one env step, frame_skip MuJoCo steps at fixed ctrl with the
    model's own integrator, about the upright rest state x = 0, u = 0, on private simulation data.
    Cost Q = diag(1, 10, 10, 0.1, 0.1, 0.1), R = 1: the angles weigh most, as the episode ends when the tip
    drops below y = 1; the cart position enough to hold it near the centre (the tip's x is penalised and the rail
    ends at +-1); the velocities a little, for damping. From the env's initial states |u| stays below ~0.6, inside
    the ctrl range. Balancing is insensitive to these weights within 10x.
    """

    Q = np.diag([1.0, 10.0, 10.0, 0.1, 0.1, 0.1])
    R = np.array([[1.0]])
    FD_STEP = 1e-5
    OBS_CART, OBS_SIN, OBS_COS, OBS_VEL = slice(0, 1), slice(1, 3), slice(3, 5), slice(5, 8)

    def __init__(self, env, **kwargs):
        super().__init__(env, **kwargs)
        mujoco = self._mujoco = optional_import("mujoco", "inverted_double_pendulum_lqr", "mujoco")
        sim = env.unwrapped
        self._model, self._data, self._frame_skip = sim.model, mujoco.MjData(sim.model), sim.frame_skip
        self._gain = lqr_gain(*self._linear_step(), self.Q, self.R)

    def _env_step(self, state: np.ndarray, ctrl: np.ndarray) -> np.ndarray:
        """The state (qpos, qvel) one env step after `state` under `ctrl`."""
        nq = self._model.nq
        self._mujoco.mj_resetData(self._model, self._data)
        self._data.qpos[:], self._data.qvel[:], self._data.ctrl[:] = state[:nq], state[nq:], ctrl
        self._mujoco.mj_step(self._model, self._data, nstep=self._frame_skip)
        return np.concatenate([self._data.qpos, self._data.qvel])

    def _linear_step(self):
        """A [n_x, n_x] and B [n_x, n_u]: central differences of `_env_step` about the upright rest state."""
        state, ctrl, h = np.zeros(self._model.nq + self._model.nv), np.zeros(self._model.nu), self.FD_STEP
        A = [self._env_step(state + h * e, ctrl) - self._env_step(state - h * e, ctrl) for e in np.eye(len(state))]
        B = [self._env_step(state, ctrl + h * e) - self._env_step(state, ctrl - h * e) for e in np.eye(len(ctrl))]
        return np.stack(A, axis=1) / (2 * h), np.stack(B, axis=1) / (2 * h)

    def act(self, obs):
        angles = np.arctan2(obs[self.OBS_SIN], obs[self.OBS_COS])
        state = np.concatenate([obs[self.OBS_CART], angles, obs[self.OBS_VEL]])
        return _box_action(self.env, -self._gain @ state), 0.0
