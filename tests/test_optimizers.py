import pytest
import torch

from gi_core.optimizers import OptimizerSpec, make_optimizers
from tests.helpers import TwoTermModel


def test_make_optimizers_builds_each_optimizer_with_exactly_its_settings():
    model = TwoTermModel()
    specs = {"loss": OptimizerSpec("adam", 2e-4, betas=(0.5, 0.999)), "critic_loss": OptimizerSpec("sgd", 0.01, momentum=0.9)}
    optimizers = make_optimizers(model, specs)
    adam, sgd = optimizers["loss"], optimizers["critic_loss"]
    assert type(adam) is torch.optim.Adam and type(sgd) is torch.optim.SGD
    (group,) = adam.param_groups
    assert (group["lr"], group["betas"], group["fused"]) == (2e-4, (0.5, 0.999), None)
    assert group["params"] == list(model.generator.parameters())
    (group,) = sgd.param_groups
    assert (group["lr"], group["momentum"]) == (0.01, 0.9) and group["params"] == list(model.critic.parameters())
    shared = make_optimizers(model, OptimizerSpec(lr=1e-3, fused=True))  # one spec for every term
    assert set(shared) == {"loss", "critic_loss"} and all(type(o) is torch.optim.Adam for o in shared.values())
    assert all((o.param_groups[0]["lr"], o.param_groups[0]["betas"], o.param_groups[0]["fused"]) == (1e-3, (0.9, 0.999), True)
               for o in shared.values())
    assert make_optimizers(model, OptimizerSpec("sgd", 0.1))["loss"].param_groups[0]["momentum"] == 0.0
    foreach = make_optimizers(model, OptimizerSpec(foreach=True))["loss"].param_groups[0]
    assert (foreach["foreach"], foreach["fused"]) == (True, None)
    with pytest.raises(ValueError, match=r"specs are given for \['loss'\], but the model trains the terms \['critic_loss', 'loss'\]"):
        make_optimizers(model, {"loss": OptimizerSpec()})
    with pytest.raises(ValueError, match=r"given for \['critic_loss', 'disc', 'loss'\]"):
        make_optimizers(model, dict(specs, disc=OptimizerSpec()))


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"kind": "sgd", "betas": (0.5, 0.9)}, "SGD takes no betas and no implementation choice"),
        ({"kind": "sgd", "fused": True}, "SGD takes no betas and no implementation choice"),
        ({"kind": "sgd", "foreach": True}, "SGD takes no betas and no implementation choice"),
        ({"kind": "adam", "fused": True, "foreach": True}, "choose one Adam implementation"),
        ({"kind": "adam", "momentum": 0.9}, "Adam takes betas, not momentum"),
        ({"kind": "rmsprop"}, "unknown optimizer kind 'rmsprop'; choose one of adam, sgd"),
        ({"lr": 0.0}, r"lr must lie in \(0.0, inf\), got 0.0"),
        ({"lr": float("nan")}, "lr must be finite, got nan"),
    ],
)
def test_optimizer_spec_refuses_settings_of_the_other_kind(settings, message):
    with pytest.raises(ValueError, match=message):
        OptimizerSpec(**settings)


def test_spec_checks_its_numbers_and_build_its_parameters():
    with pytest.raises(ValueError, match=r"betas\[1\] must be below 1, got 1.0"):
        OptimizerSpec(betas=(0.5, 1.0))
    with pytest.raises(TypeError, match="lr must be a real number, got str"):
        OptimizerSpec(lr="0.1")
    with pytest.raises(ValueError, match="params must be a non-empty sequence of parameters"):
        OptimizerSpec().build([])
    with pytest.raises(TypeError, match="spec must be an OptimizerSpec"):
        make_optimizers(TwoTermModel(), "adam")
