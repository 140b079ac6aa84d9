"""The fused softmax-cross-entropy: the notebook's AL - Y, stable for any logits."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tinygrad_mnist import Tensor, cross_entropy
from tinygrad_mnist.testing import arrays


@st.composite
def logits_and_labels(draw, bound=10.0):
    m, classes = draw(st.integers(1, 8)), draw(st.integers(2, 10))
    logits = draw(arrays((m, classes), low=-bound, high=bound))
    labels = np.array(draw(st.lists(st.integers(0, classes - 1), min_size=m, max_size=m)))
    return logits, labels


def reference_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    """-mean log softmax at the labels, by log-sum-exp in float64."""
    shift = logits.max(axis=1, keepdims=True)
    log_z = shift[:, 0] + np.log(np.exp(logits - shift).sum(axis=1))
    return float(np.mean(log_z - logits[np.arange(len(labels)), labels]))


@given(logits_and_labels())
def test_gradient_is_the_notebooks_al_minus_y_over_m(case):
    logits, labels = case
    m = len(labels)
    y = np.eye(logits.shape[1])[labels]
    t = Tensor(logits, requires_grad=True)
    cross_entropy(t, y).backward()
    al = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)  # the notebook's softmax
    np.testing.assert_allclose(t.grad.numpy(), (al - y) / m, rtol=0, atol=1e-12)


@given(logits_and_labels())
def test_class_ids_and_one_hot_targets_agree(case):
    logits, labels = case
    by_id, by_one_hot = Tensor(logits, requires_grad=True), Tensor(logits, requires_grad=True)
    loss_id = by_id.cross_entropy(labels)
    loss_one_hot = by_one_hot.cross_entropy(np.eye(logits.shape[1])[labels])
    loss_id.backward()
    loss_one_hot.backward()
    assert loss_id.item() == loss_one_hot.item()
    np.testing.assert_array_equal(by_id.grad.numpy(), by_one_hot.grad.numpy())


@given(logits_and_labels(bound=1e4))
def test_loss_and_gradient_stay_finite_and_correct_for_huge_logits(case):
    logits, labels = case
    t = Tensor(logits, requires_grad=True)
    loss = t.cross_entropy(labels)
    loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(t.grad.numpy()))
    np.testing.assert_allclose(loss.item(), reference_loss(logits, labels), rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(t.grad.numpy().sum(axis=1), 0, atol=1e-12)  # softmax rows sum to one


@given(logits_and_labels(), st.floats(-1e3, 1e3))
def test_adding_a_constant_to_every_logit_changes_nothing(case, shift):
    logits, labels = case
    plain, shifted = Tensor(logits, requires_grad=True), Tensor(logits + shift, requires_grad=True)
    loss_plain, loss_shifted = plain.cross_entropy(labels), shifted.cross_entropy(labels)
    loss_plain.backward()
    loss_shifted.backward()
    np.testing.assert_allclose(loss_shifted.item(), loss_plain.item(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(shifted.grad.numpy(), plain.grad.numpy(), atol=1e-9)


@given(arrays((3, 5), low=-1e4, high=1e4))
def test_softmax_and_log_softmax_are_stable(x):
    t = Tensor(x)
    assert np.all(np.isfinite(t.softmax(1).numpy())) and np.all(np.isfinite(t.log_softmax(1).numpy()))
    np.testing.assert_allclose(t.softmax(1).numpy().sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(np.exp(t.log_softmax(1).numpy()), t.softmax(1).numpy(), atol=1e-12)
