"""Tests for gi_core.nets.grouped: S stacked copies compute what their S separate twins compute.

Measured here (2 CPU threads, the benchmark MLP 784-512-256-20, batch 128, squared error, fused Adam 1e-3):
at S=1 the grouped network and its twin agree bitwise for 50 steps; at S=3 and S=8 batched GEMM rounds
differently from S separate GEMMs, and Adam's first step already magnifies that on parameters whose gradient is
near zero (its first update is lr * g / (|g| + eps)): the largest weight difference is ~5e-5 (S=3) and ~1e-4
(S=8) after one step, ~2e-3 and ~2e-2 after 50 steps. With plain SGD the copies stay within float32 rounding.
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from gi_core.nets.encoders import mlp
from gi_core.nets.grouped import GroupedLinear, grouped_mlp, stack_linears, stack_mlps


def twins(groups: int, sizes=(12, 16, 8, 3), seed: int = 0) -> tuple[nn.Sequential, list[nn.Sequential]]:
    torch.manual_seed(seed)
    nets = [mlp(list(sizes)) for _ in range(groups)]
    return stack_mlps(nets), [copy.deepcopy(net) for net in nets]


def data(groups: int, steps: int, sizes=(12, 16, 8, 3)) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return (torch.rand(steps, groups, 32, sizes[0], generator=g), torch.randn(steps, groups, 32, sizes[-1], generator=g))


def train(group, singles, xs, ys, make_optimizer) -> None:
    optimizer = make_optimizer(group.parameters())
    optimizers = [make_optimizer(net.parameters()) for net in singles]
    for x, y in zip(xs, ys):
        optimizer.zero_grad()
        ((group(x) - y) ** 2).sum(-1).mean(-1).sum().backward()  # a sum of per-copy batch means
        optimizer.step()
        for s, (net, opt) in enumerate(zip(singles, optimizers)):
            opt.zero_grad()
            ((net(x[s]) - y[s]) ** 2).sum(-1).mean().backward()
            opt.step()


def largest_difference(group: nn.Sequential, singles: list[nn.Sequential]) -> float:
    worst = 0.0
    for position, layer in enumerate(group):
        if isinstance(layer, GroupedLinear):
            for s, twin in enumerate(layer.unstack()):
                single = singles[s][position]
                worst = max(worst, (twin.weight - single.weight).abs().max().item(),
                            (twin.bias - single.bias).abs().max().item())
    return worst


def test_one_copy_trains_bitwise_like_its_twin() -> None:
    group, singles = twins(1)
    xs, ys = data(1, 30)
    train(group, singles, xs, ys, lambda p: torch.optim.Adam(p, 1e-3))
    assert largest_difference(group, singles) == 0.0
    assert torch.equal(group(xs[0])[0], singles[0](xs[0, 0]))


def test_each_copy_computes_its_own_layer() -> None:
    torch.manual_seed(0)
    layers = [nn.Linear(5, 4) for _ in range(3)]
    group = stack_linears(layers)
    x = torch.randn(3, 7, 5)
    out = group(x)
    for s, layer in enumerate(layers):
        torch.testing.assert_close(out[s], F.linear(x[s], layer.weight, layer.bias), rtol=1e-6, atol=1e-6)
    assert not torch.equal(out[0], out[1])  # the copies are different layers


def test_copies_learn_independently() -> None:
    # With SGD an update is linear in the gradient, so copies stay within rounding of their twins.
    group, singles = twins(3)
    xs, ys = data(3, 20)
    train(group, singles, xs, ys, lambda p: torch.optim.SGD(p, 0.05))
    assert 0.0 <= largest_difference(group, singles) < 1e-5
    # A loss on copy 1 alone gives copies 0 and 2 no gradient.
    group.zero_grad()
    group(xs[0])[1].sum().backward()
    grads = group[0].weight.grad
    assert grads[0].abs().max() == 0 and grads[2].abs().max() == 0 and grads[1].abs().max() > 0


def test_stack_and_unstack_are_exact_inverses() -> None:
    torch.manual_seed(0)
    layers = [nn.Linear(6, 2) for _ in range(4)]
    back = stack_linears(layers).unstack()
    for a, b in zip(layers, back):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_stacking_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(5)
    layers = [nn.Linear(6, 2) for _ in range(3)]
    state = torch.random.get_rng_state()
    stack_mlps([nn.Sequential(layer) for layer in layers])
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_fresh_group_is_initialised_like_linear_layers() -> None:
    torch.manual_seed(3)
    group = grouped_mlp(2, [6, 5, 2])
    torch.manual_seed(3)
    expected = [nn.Linear(6, 5), nn.Linear(6, 5)]
    for s, layer in enumerate(expected):
        assert torch.equal(group[0].weight[s], layer.weight.t())
    assert isinstance(group[1], nn.ReLU) and len(group) == 3


@pytest.mark.parametrize(("x", "message"), [
    (torch.randn(2, 4, 5), r"groups=3"),
    (torch.randn(3, 4, 6), r"in_features=5"),
    (torch.randn(3, 5), "dimension|ndim|rank"),
])
def test_wrong_inputs_are_refused(x, message) -> None:
    with pytest.raises(ValueError, match=message):
        GroupedLinear(3, 5, 2)(x)


def test_layers_that_differ_are_refused() -> None:
    with pytest.raises(ValueError, match="share"):
        stack_linears([nn.Linear(3, 2), nn.Linear(4, 2)])
    with pytest.raises(ValueError, match="bias"):
        stack_linears([nn.Linear(3, 2, bias=False)])
    with pytest.raises(TypeError, match="nn.Linear"):
        stack_linears([])
    with pytest.raises(ValueError, match="same layers"):
        stack_mlps([mlp([3, 4, 2]), mlp([3, 4, 4, 2])])
    with pytest.raises(ValueError, match="parameters"):
        stack_mlps([nn.Sequential(nn.Linear(3, 3), nn.LayerNorm(3))] * 2)


def test_grouped_mlp_encoder_and_decoder_are_their_plain_twins_copy_by_copy():
    from gi_core.nets.encoders import MLPDecoder, MLPEncoder
    from gi_core.nets.grouped import GroupedMLPDecoder, GroupedMLPEncoder, run_slice

    torch.manual_seed(0)
    encoders = [MLPEncoder((1, 4, 4), 3, (8, 5)) for _ in range(3)]
    decoders = [MLPDecoder(3, (1, 4, 4), (5, 8)) for _ in range(3)]
    group_e, group_d = GroupedMLPEncoder(3, (1, 4, 4), 3, (8, 5)), GroupedMLPDecoder(3, 3, (1, 4, 4), (5, 8))
    for group, plains in ((group_e, encoders), (group_d, decoders)):
        assert list(group.state_dict()) == list(plains[0].state_dict())  # the plain twin's names, in its order
        with torch.no_grad():
            for s, plain in enumerate(plains):
                for name, tensor in group.state_dict().items():
                    run_slice(group, name, tensor, s).copy_(plain.state_dict()[name])
    x, z = torch.rand(3, 6, 1, 4, 4), torch.randn(3, 6, 3)
    mean, log_var = group_e(x)
    out = group_d(z)
    for s in range(3):
        m, v = encoders[s](x[s])
        assert torch.allclose(mean[s], m, atol=1e-6) and torch.allclose(log_var[s], v, atol=1e-6)
        assert torch.allclose(out[s], decoders[s](z[s]), atol=1e-6)
    weight = group_e.state_dict()["body.1.0.weight"]
    assert run_slice(group_e, "body.1.0.weight", weight, 2).shape == encoders[2].body[1][0].weight.shape
    with pytest.raises(ValueError, match="no state entry 'body.9.weight'"):
        run_slice(group_e, "body.9.weight", weight, 0)
    with pytest.raises(ValueError, match="run must be below the number of copies 3"):
        run_slice(group_e, "body.1.0.weight", weight, 3)
