"""Tests for gi_core.domain_adaptation: the gradient reversal layer, its schedule, DANN and the proxy A-distance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gi_core.adversarial import discriminator_loss
from gi_core.domain_adaptation import (
    DANN,
    DomainDiscriminator,
    GradientReversal,
    LeNetFeatures,
    a_distance,
    balanced_domain_accuracy,
    ben_david_terms,
    build_dann,
    dann_learning_rate,
    discrimination_divergence,
    frame_digits,
    grad_reverse,
    grl_schedule,
    h_divergence,
    ink_extent,
    joint_error,
    prepare_digits,
    scale_gradient,
    symmetric_difference_class,
)
from gi_core.networks import mlp
from gi_core.trainer import Trainer

pytestmark = pytest.mark.usefixtures("one_thread")
F64 = torch.float64
LAMBDAS = [0.0, 0.3, 1.0, 2.5]


def small_dann(lambda_: float = 1.0, schedule_steps: int | None = None) -> DANN:
    torch.manual_seed(0)
    model = DANN(
        torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(12, 6), torch.nn.Tanh()),
        mlp([6, 5, 3]),
        DomainDiscriminator(6, (4,)),
        GradientReversal(lambda_, schedule_steps=schedule_steps),
    )
    return model.double()


def batch(seed: int = 0, n: int = 8) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    xs = torch.randn(n, 1, 3, 4, generator=g, dtype=F64)
    xt = torch.randn(n, 1, 3, 4, generator=g, dtype=F64) + 0.5
    ys = torch.randint(0, 3, (n,), generator=g)
    return xs, ys, xt


# --- the gradient reversal layer -------------------------------------------------------------


@pytest.mark.parametrize("lambda_", LAMBDAS)
def test_grl_is_the_identity_forward_and_minus_lambda_backward(lambda_):
    x = torch.randn(5, 3, dtype=F64, requires_grad=True)
    upstream = torch.randn(5, 3, dtype=F64)
    grl = GradientReversal(lambda_).double()
    stored = grl.lambda_  # the module keeps λ in a float32 buffer: 0.3 is stored as 0.30000001192...
    assert stored == pytest.approx(lambda_, rel=1e-7)
    for y, value in ((grl(x), stored), (grad_reverse(x, lambda_), lambda_)):
        assert torch.equal(y, x)
        (grad,) = torch.autograd.grad(y, x, upstream)
        assert torch.equal(grad, upstream * -value)
    (grad,) = torch.autograd.grad(scale_gradient(x, lambda_), x, upstream)
    assert torch.equal(grad, upstream * lambda_)


def _grads(loss: torch.Tensor, module: torch.nn.Module) -> list[torch.Tensor]:
    return list(torch.autograd.grad(loss, list(module.parameters()), retain_graph=True, allow_unused=False))


@pytest.mark.parametrize("lambda_", LAMBDAS)
def test_dann_feature_gradient_is_class_gradient_minus_lambda_times_domain_gradient(lambda_):
    model = small_dann(lambda_)
    lambda_ = model.grl.lambda_  # as stored (float32)
    xs, ys, xt = batch()
    loss = model.training_loss(xs, ys, xt)["loss"]
    # the same two losses computed without the reversal layer
    features = model.features(torch.cat([xs, xt]))
    class_loss = F.cross_entropy(model.label_classifier(features[:8]), ys)
    logits = model.domain_discriminator(features)
    domain_loss = discriminator_loss(logits[:8], logits[8:], "standard")

    # feature extractor: d(class)/dθ_f − λ d(domain)/dθ_f
    for total, c, d in zip(_grads(loss, model.feature_extractor), _grads(class_loss, model.feature_extractor),
                           _grads(domain_loss, model.feature_extractor)):
        torch.testing.assert_close(total, c - lambda_ * d, rtol=0, atol=1e-14)
        assert d.abs().max() > 1e-3  # the domain gradient is not trivially zero
    # the discriminator descends its own loss, unreversed; the classifier sees only the class loss
    for total, d in zip(_grads(loss, model.domain_discriminator), _grads(domain_loss, model.domain_discriminator)):
        torch.testing.assert_close(total, d, rtol=0, atol=1e-15)
    for total, c in zip(_grads(loss, model.label_classifier), _grads(class_loss, model.label_classifier)):
        torch.testing.assert_close(total, c, rtol=0, atol=1e-15)


def test_gradient_at_the_features_is_exactly_minus_lambda_times_the_discriminator_path():
    xs, ys, xt = batch()
    for lambda_ in LAMBDAS:
        model = small_dann(lambda_)
        features = model.features(torch.cat([xs, xt])).detach().requires_grad_()
        logits = model.domain_discriminator(model.grl(features))
        (reversed_grad,) = torch.autograd.grad(discriminator_loss(logits[:8], logits[8:]), features)
        plain = features.detach().requires_grad_()
        logits = model.domain_discriminator(plain)
        (plain_grad,) = torch.autograd.grad(discriminator_loss(logits[:8], logits[8:]), plain)
        assert torch.equal(reversed_grad, plain_grad * -model.grl.lambda_)


def test_grl_coefficient_validation_and_state():
    grl = GradientReversal(0.5)
    assert grl.lambda_ == 0.5
    grl.lambda_ = 2.0
    assert grl.lambda_ == 2.0 and float(grl.state_dict()["coefficient"]) == 2.0
    with pytest.raises(ValueError, match="non-negative"):
        grl.lambda_ = -1.0
    with pytest.raises(ValueError, match="finite"):
        GradientReversal(math.nan)
    with pytest.raises(ValueError, match="schedule_steps"):
        GradientReversal(schedule_steps=0)
    with pytest.raises(ValueError, match="gamma"):
        GradientReversal(gamma=0.0)


# --- schedules -----------------------------------------------------------------------------


def test_grl_schedule_values():
    assert grl_schedule(0.0) == 0.0
    assert grl_schedule(0.5) == pytest.approx(0.98661429815, abs=1e-10)  # tanh(2.5)
    assert grl_schedule(1.0) == pytest.approx(0.99990920, abs=1e-8)  # tanh(5)
    assert grl_schedule(1.0, gamma=50.0) == pytest.approx(1.0, abs=1e-12)
    assert grl_schedule(0.1, gamma=2.0) == pytest.approx(2 / (1 + math.exp(-0.2)) - 1, abs=1e-15)
    values = [grl_schedule(p) for p in np.linspace(0, 1, 21)]
    assert all(a < b for a, b in zip(values, values[1:]))
    for bad in (-0.01, 1.01, math.nan):
        with pytest.raises(ValueError, match=r"progress must lie in \[0, 1\]"):
            grl_schedule(bad)
    with pytest.raises(ValueError, match="gamma must be finite and positive"):
        grl_schedule(0.5, gamma=-1.0)


def test_scheduled_grl_follows_the_schedule_and_survives_a_state_dict():
    grl = GradientReversal(schedule_steps=10)
    assert grl.lambda_ == 0.0
    for step in range(15):
        grl.advance()
        assert grl.lambda_ == pytest.approx(grl_schedule(min(step / 10, 1.0)), abs=1e-6)
    fresh = GradientReversal(schedule_steps=10)
    fresh.load_state_dict(grl.state_dict())
    assert fresh.lambda_ == grl.lambda_ and int(fresh.schedule_step) == 15
    fixed = GradientReversal(0.7)
    fixed.advance()
    assert fixed.lambda_ == pytest.approx(0.7)
    assert fixed.set_progress(0.5) == pytest.approx(0.7 * 0.98661429815) and fixed.lambda_ == pytest.approx(0.7 * 0.98661429815)


def test_scheduled_grl_scales_the_schedule_by_lambda_max():
    grl = GradientReversal(0.3, schedule_steps=4)
    assert grl.lambda_ == 0.0 and grl.lambda_max == pytest.approx(0.3)
    seen = []
    for _ in range(6):
        grl.advance()
        seen.append(grl.lambda_)
    assert seen == pytest.approx([0.3 * grl_schedule(min(k / 4, 1.0)) for k in range(6)], abs=1e-6)
    assert grl.set_progress(1.0) == pytest.approx(0.3 * 0.9999092042625951)


def test_dann_training_loss_advances_the_schedule_only_in_training_mode():
    model = small_dann(schedule_steps=4)
    xs, ys, xt = batch()
    lambdas = [model.training_loss(xs, ys, xt)["grl_lambda"].item() for _ in range(3)]
    assert lambdas == pytest.approx([grl_schedule(0.0), grl_schedule(0.25), grl_schedule(0.5)], abs=1e-6)
    model.eval()
    assert model.training_loss(xs, ys, xt)["grl_lambda"].item() == pytest.approx(grl_schedule(0.5), abs=1e-6)


def test_dann_learning_rate():
    assert dann_learning_rate(0.0) == 0.01
    assert dann_learning_rate(1.0) == pytest.approx(0.01 / 11**0.75)
    with pytest.raises(ValueError, match="progress"):
        dann_learning_rate(2.0)
    with pytest.raises(ValueError, match="lr0"):
        dann_learning_rate(0.5, lr0=0.0)


# --- DANN --------------------------------------------------------------------------------


def test_dann_training_loss_terms_are_finite_and_equal_their_parts():
    model = small_dann(0.6)
    xs, ys, xt = batch(1)
    terms = model.training_loss(xs, ys, xt)
    assert all(bool(torch.isfinite(v)) for v in terms.values())
    assert terms["loss"].requires_grad and not terms["class_loss"].requires_grad
    torch.testing.assert_close(terms["loss"], terms["class_loss"] + terms["domain_loss"], rtol=0, atol=1e-14)
    torch.testing.assert_close(terms["class_loss"], F.cross_entropy(model(xs), ys))
    ls, lt = model.domain_discriminator(model.features(xs)), model.domain_discriminator(model.features(xt))
    expected = -F.logsigmoid(ls).mean() - F.logsigmoid(-lt).mean()  # BCE, source = 1, target = 0
    torch.testing.assert_close(terms["domain_loss"], expected)
    accuracy = 0.5 * ((ls > 0).double().mean() + (lt < 0).double().mean())
    assert terms["domain_accuracy"].item() == pytest.approx(accuracy.item())
    assert terms["grl_lambda"].item() == pytest.approx(0.6)


def test_dann_validates_its_inputs():
    model = small_dann()
    xs, ys, xt = batch()
    with pytest.raises(ValueError, match="source_y must be integer labels"):
        model.training_loss(xs, ys.double(), xt)
    with pytest.raises(ValueError, match="source_y must be integer labels"):
        model.training_loss(xs, ys[:3], xt)
    with pytest.raises(ValueError, match="differ in shape"):
        model.training_loss(xs, ys, xt[:, :, :2])
    with pytest.raises(TypeError, match="GradientReversal"):
        DANN(torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity(), grl=torch.nn.Identity())


def test_build_dann_shapes_and_a_few_trainer_steps():
    torch.manual_seed(0)
    model = build_dann(in_channels=3, image_size=28, schedule_steps=20)
    assert model.feature_extractor.out_features == 768
    xs, xt = torch.rand(64, 3, 28, 28), torch.rand(64, 3, 28, 28) * 0.5
    ys = torch.randint(0, 10, (64,))
    trainer = Trainer(model, torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9), (xs, ys, xt),
                      batch_size=32, progress=False, log_every=1)
    history = trainer.fit(3)
    assert len(history) == 3 and all(math.isfinite(r["loss"]) for r in history)
    assert [r["grl_lambda"] for r in history] == pytest.approx([grl_schedule(s / 20) for s in range(3)], abs=1e-6)
    predictions = model.predict(xt, batch_size=50)
    assert predictions.shape == (64,) and predictions.dtype == torch.int64 and model.training
    assert model.embed(xs[:5]).shape == (5, 768)


def test_lenet_features_and_digit_preparation():
    assert LeNetFeatures(1, 28).out_features == 768 and LeNetFeatures(3, 32).out_features == 1200
    assert LeNetFeatures(1, 28)(torch.zeros(2, 1, 28, 28)).shape == (2, 768)
    with pytest.raises(ValueError, match="image side"):
        LeNetFeatures(1, 30)
    with pytest.raises(ValueError, match="expects images of shape"):
        LeNetFeatures(1, 28)(torch.zeros(2, 3, 28, 28))
    usps = torch.rand(4, 1, 16, 16)
    out = prepare_digits(usps, 28, 3)
    assert out.shape == (4, 3, 28, 28) and torch.equal(out[:, 0], out[:, 2])
    assert 0.0 <= out.min() and out.max() <= 1.0
    colour = torch.rand(2, 3, 28, 28)
    torch.testing.assert_close(prepare_digits(colour, 28, 1), colour.mean(1, keepdim=True))
    assert torch.equal(prepare_digits(colour, 28, 3), colour)
    with pytest.raises(ValueError, match="channels 1 or 3"):
        prepare_digits(colour, 28, 2)



def test_frame_digits_puts_a_full_frame_digit_in_a_centred_box():
    ones = torch.ones(3, 1, 16, 16)
    out = frame_digits(ones, box=20, size=28)
    assert out.shape == (3, 1, 28, 28)
    assert torch.equal(out[:, :, 4:24, 4:24], torch.ones(3, 1, 20, 20))  # resizing a constant keeps it
    assert out.sum().item() == 3 * 400.0  # nothing outside the box
    bar = torch.zeros(1, 1, 16, 16)
    bar[..., :, 7:9] = 1.0  # a full-height vertical stroke
    rows = (frame_digits(bar)[0, 0] > 0.5).any(1).nonzero().squeeze(1)
    assert rows.min().item() == 4 and rows.max().item() == 23  # 20 rows tall, centred
    assert frame_digits(torch.rand(2, 3, 16, 16), box=9, size=12).shape == (2, 3, 12, 12)  # uneven padding
    with pytest.raises(ValueError, match="box <= size"):
        frame_digits(ones, box=30, size=28)


def test_ink_extent_measures_height_and_width():
    x = torch.zeros(3, 1, 28, 28)
    x[0, 0, 4:24, 10:15] = 1.0  # 20 rows by 5 columns
    x[1, 0, 0, 0] = x[1, 0, 27, 3] = 0.9  # two dots span the whole height
    x[2, 0, 5:9, 5:9] = 0.2  # below the threshold: blank
    height, width = ink_extent(x)
    assert height.tolist() == [20, 28, 0] and width.tolist() == [5, 4, 0]
    assert ink_extent(x, threshold=0.1)[0].tolist() == [20, 28, 4]
    with pytest.raises(ValueError, match="one channel"):
        ink_extent(torch.zeros(1, 3, 28, 28))

# --- proxy A-distance -------------------------------------------------------------------------


@pytest.mark.parametrize("classifier", ["linear_svm", "logistic"])
def test_a_distance_is_two_for_separable_domains(classifier):
    rng = np.random.default_rng(0)
    source = rng.normal(size=(300, 5))
    target = rng.normal(size=(200, 5))
    target[:, 0] += 12.0  # a margin of many standard deviations along one axis
    result = a_distance(source, target, classifier=classifier)
    assert result.error == 0.0 and result.value == 2.0 and result.raw == 2.0 and float(result) == 2.0
    assert result.n_train + result.n_test == 500 and result.classifier == classifier


@pytest.mark.parametrize("classifier", ["linear_svm", "logistic"])
def test_a_distance_is_near_zero_for_identical_domains(classifier):
    rng = np.random.default_rng(1)
    source, target = rng.normal(size=(600, 10)), rng.normal(size=(600, 10))
    result = a_distance(torch.from_numpy(source), torch.from_numpy(target), classifier=classifier)
    assert 0.4 < result.error < 0.6
    assert abs(result.raw) < 0.4 and 0.0 <= result.value < 0.4
    assert result.value == max(result.raw, 0.0)


def test_a_distance_grows_with_the_shift():
    rng = np.random.default_rng(2)
    source = rng.normal(size=(400, 4))
    values = []
    for shift in (0.0, 0.5, 1.0, 3.0):
        target = rng.normal(size=(400, 4))
        target[:, 1] += shift
        values.append(a_distance(source, target, C_grid=(1.0,)).value)
    assert values == sorted(values) and values[-1] > 1.7 and values[0] < 0.4


def test_a_distance_validates():
    x = np.zeros((50, 3))
    with pytest.raises(ValueError, match="differ in width"):
        a_distance(x, np.zeros((50, 4)))
    with pytest.raises(ValueError, match=r"shape \(N, F\)"):
        a_distance(np.zeros(50), x)
    with pytest.raises(ValueError, match="classifier must be"):
        a_distance(x, x, classifier="rbf")
    with pytest.raises(ValueError, match="test_fraction"):
        a_distance(x, x, test_fraction=1.0)
    with pytest.raises(ValueError, match="too few rows"):
        a_distance(x[:5], x)
    with pytest.raises(ValueError, match="NaN"):
        a_distance(np.full((50, 3), np.nan), x)


def clustered_features(n: int, classes: int, shift: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = 4.0 * np.random.default_rng(99).normal(size=(classes, 5))  # the same class centres for every call
    labels = rng.integers(0, classes, n)
    return centres[labels] + rng.normal(size=(n, 5)) + shift, labels


def test_joint_error_is_small_when_one_classifier_serves_both_domains():
    (xs, ys), (xt, yt) = clustered_features(800, 3, 0.0, 0), clustered_features(800, 3, 0.5, 1)
    result = joint_error(xs, ys, xt, yt)
    assert result["lambda_star"] == result["source_error"] + result["target_error"] < 0.05


def test_joint_error_is_one_when_the_target_relabels_the_source():
    # the same feature distribution with the two classes swapped: every h has eps_S(h) + eps_T(h) = 1 in
    # expectation; the held-out estimate deviates by sampling noise only (two errors on 1 000 points each)
    (xs, ys), (xt, yt) = clustered_features(2000, 2, 0.0, 0), clustered_features(2000, 2, 0.0, 1)
    assert abs(joint_error(xs, ys, xt, 1 - yt)["lambda_star"] - 1.0) < 0.08


def test_joint_error_validates():
    x, y = clustered_features(40, 2, 0.0, 0)
    with pytest.raises(ValueError, match=r"target_labels must have shape \(40,\)"):
        joint_error(x, y, x, y[:30])
    with pytest.raises(ValueError, match="differ in width"):
        joint_error(x, y, x[:, :3], y)
    with pytest.raises(ValueError, match="test_fraction"):
        joint_error(x, y, x, y, test_fraction=0.0)
    with pytest.raises(ValueError, match="C must be positive"):
        joint_error(x, y, x, y, C=-1.0)


def thresholds(size: int) -> torch.Tensor:
    """Every threshold classifier on a 1-D grid of ``size`` points and its complement (closed under 1 - h)."""
    grid = torch.arange(size, dtype=F64)
    rising = [(grid >= t).to(F64) for t in range(size + 1)]
    return torch.stack(rising + [1.0 - h for h in rising])


def random_marginals(size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    ps, pt = torch.rand(size, generator=g, dtype=F64), torch.rand(size, generator=g, dtype=F64) ** 3
    return ps / ps.sum(), pt / pt.sum()


def test_h_divergence_equals_the_discrimination_form_for_a_class_closed_under_complement():
    hypotheses = thresholds(12)
    for seed in range(30):
        ps, pt = random_marginals(12, seed)
        assert float(h_divergence(ps, pt, hypotheses)) == pytest.approx(float(discrimination_divergence(ps, pt, hypotheses)), abs=1e-14)
        assert 0.0 < float(h_divergence(ps, pt, hypotheses)) <= 2.0
    ps, _ = random_marginals(12, 0)
    assert float(h_divergence(ps, ps, hypotheses)) == pytest.approx(0.0, abs=1e-15)
    disjoint_s, disjoint_t = torch.zeros(12, dtype=F64), torch.zeros(12, dtype=F64)
    disjoint_s[:6], disjoint_t[6:] = 1 / 6, 1 / 6
    assert float(h_divergence(disjoint_s, disjoint_t, hypotheses)) == pytest.approx(2.0)
    only_rising = hypotheses[:13]  # not closed under complement: the discrimination form sees one direction only
    assert float(discrimination_divergence(disjoint_t, disjoint_s, only_rising)) == pytest.approx(2.0)
    assert float(discrimination_divergence(disjoint_s, disjoint_t, only_rising)) == pytest.approx(0.0, abs=1e-15)
    assert float(h_divergence(disjoint_s, disjoint_t, only_rising)) == pytest.approx(2.0)


def test_symmetric_difference_class_holds_every_disagreement():
    h = torch.tensor([[0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    assert symmetric_difference_class(h).tolist() == [[0, 0, 0], [1, 0, 1], [1, 0, 1], [0, 0, 0]]


def test_ben_david_bound_holds_for_every_hypothesis_and_is_tight_without_shift():
    hypotheses, grid = thresholds(15), torch.arange(15, dtype=F64)
    slack = []
    for seed in range(40):
        ps, pt = random_marginals(15, seed)
        f_s, f_t = (grid >= 5 + seed % 3).to(F64), (grid >= 6).to(F64)
        terms = ben_david_terms(ps, pt, f_s, f_t, hypotheses)
        assert (terms["bound"] - terms["target_risk"] >= -1e-12).all()
        slack.append(float((terms["bound"] - terms["target_risk"]).min()))
    assert min(slack) < 0.05  # the bound is not vacuous on these problems
    ps, _ = random_marginals(15, 0)
    f = (grid >= 7).to(F64)
    same = ben_david_terms(ps, ps, f, f, hypotheses)  # no shift: divergence 0, lambda* 0, bound = risk
    assert float(same["divergence"]) == 0.0 and float(same["lambda_star"]) == 0.0
    assert torch.allclose(same["bound"], same["target_risk"])


def test_divergence_inputs_are_validated():
    hypotheses = thresholds(4)
    ps = torch.full((4,), 0.25, dtype=F64)
    with pytest.raises(ValueError, match="p_target must be a probability vector"):
        h_divergence(ps, ps * 2, hypotheses)
    with pytest.raises(ValueError, match="0/1 labelings"):
        h_divergence(ps, ps, hypotheses * 0.5)
    with pytest.raises(ValueError, match=r"hypotheses \(H, X\)"):
        h_divergence(ps, ps, hypotheses[:, :3])
    with pytest.raises(ValueError, match="labels_target must be a 0/1 labeling"):
        ben_david_terms(ps, ps, torch.ones(4, dtype=F64), torch.full((4,), 0.5, dtype=F64), hypotheses)


def test_balanced_domain_accuracy_weighs_the_domains_equally():
    source, target = torch.tensor([2.0, -1.0, 3.0, 0.5]), torch.tensor([-1.0, 4.0])  # 3/4 and 1/2 right
    assert balanced_domain_accuracy(source, target).item() == pytest.approx(0.625)
    assert not balanced_domain_accuracy(source.requires_grad_(), target).requires_grad


def test_labels_are_checked_by_shape_and_dtype():
    from gi_core.validation import check_labels

    check_labels(torch.tensor([0, 3, 1]), 3, "y")
    for bad in (torch.tensor([0.0, 1.0, 2.0]), torch.tensor([0, 1]), torch.zeros(3, 1, dtype=torch.long)):
        with pytest.raises(ValueError, match=r"y must be integer labels of shape \(3,\)"):
            check_labels(bad, 3, "y")
