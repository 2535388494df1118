"""DQfD loss terms against values computed by hand in NumPy."""

import numpy as np
import pytest
import torch

from rllib_il.losses.dqfd import double_q_target, h, h_inverse, l2_penalty, large_margin_loss, td_loss, top_return_mask

Q = np.array([[1.0, 2.0, 0.5], [0.3, 0.1, 0.2], [-1.0, -0.5, -2.0]], dtype=np.float32)


def t(x):
    return torch.as_tensor(np.asarray(x, dtype=np.float32))


def test_large_margin_loss_matches_numpy():
    a_e = np.array([0, 0, 2])
    mask = np.array([1.0, 1.0, 0.0])
    # Row 0: max(1+0, 2+.8, .5+.8) - 1 = 1.8; row 1: max(.3, .9, 1.0) - .3 = .7; row 2 not expert.
    expected = np.array([1.8, 0.7, 0.0])
    got = large_margin_loss(t(Q), torch.as_tensor(a_e), t(mask), margin=0.8).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    # Zero when the expert action beats every other by more than the margin.
    q = t([[5.0, 1.0, 0.0]])
    assert large_margin_loss(q, torch.tensor([0]), t([1.0]), margin=0.8).item() == 0.0


def test_large_margin_gradient_only_on_expert_rows():
    q = t(Q).requires_grad_()
    large_margin_loss(q, torch.tensor([0, 0, 2]), t([0.0, 1.0, 0.0])).sum().backward()
    assert q.grad[0].abs().sum() == 0 and q.grad[2].abs().sum() == 0
    np.testing.assert_allclose(q.grad[1].numpy(), [-1.0, 0.0, 1.0])


def test_double_q_target_matches_numpy():
    q_next_online = np.array([[0.0, 1.0], [2.0, 1.0], [0.0, 3.0]])
    q_next_target = np.array([[5.0, 7.0], [4.0, 9.0], [1.0, 2.0]])
    r = np.array([1.0, 0.5, -1.0])
    done = np.array([0.0, 0.0, 1.0])
    disc = np.array([0.99, 0.99**3, 0.99])
    # argmax online -> [1, 0, 1]; target values [7, 4, 2]; last row terminated.
    expected = r + disc * (1 - done) * np.array([7.0, 4.0, 2.0])
    got = double_q_target(t(r), t(q_next_online), t(q_next_target), t(done), t(disc)).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_transformed_double_q_target_matches_numpy():
    eps = 1e-2
    h_np = lambda x: np.sign(x) * (np.sqrt(np.abs(x) + 1) - 1) + eps * x  # noqa: E731
    q_next_target = np.array([[h_np(20.0), 0.0]])
    got = double_q_target(t([1.0]), t([[1.0, 0.0]]), t(q_next_target), t([0.0]), t([0.9]), transform_eps=eps)
    np.testing.assert_allclose(got.numpy(), [h_np(1.0 + 0.9 * 20.0)], rtol=1e-4)


def test_h_and_inverse():
    x = np.array([-100.0, -2.5, -0.1, 0.0, 0.3, 7.0, 1000.0])
    eps = 1e-2
    expected = np.sign(x) * (np.sqrt(np.abs(x) + 1) - 1) + eps * x
    np.testing.assert_allclose(h(t(x), eps).numpy(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h_inverse(h(t(x).double(), eps), eps).numpy(), x, rtol=1e-6, atol=1e-6)


def test_td_loss_huber_and_mse():
    q, y = t([0.0, 0.0, 1.0]), t([0.5, 3.0, -1.0])
    d = np.array([0.5, 3.0, 2.0])
    np.testing.assert_allclose(td_loss(q, y, "huber").numpy(), np.where(d <= 1, 0.5 * d**2, d - 0.5))
    np.testing.assert_allclose(td_loss(q, y, "mse").numpy(), d**2)


def test_l2_penalty():
    params = [t([[1.0, -2.0]]), t([3.0])]
    assert l2_penalty(params).item() == pytest.approx(14.0)


def test_top_return_mask():
    returns = [10.0, 500.0, 200.0, 500.0, 30.0]
    np.testing.assert_array_equal(top_return_mask(returns, 0.2), [0, 1, 0, 1, 0])  # tie kept
    np.testing.assert_array_equal(top_return_mask(returns, 0.6), [0, 1, 1, 1, 0])
    assert top_return_mask(returns, 1.0).all()
    assert top_return_mask(returns, 0.01).sum() == 2
