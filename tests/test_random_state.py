import pytest
import torch

from gi_core.random_state import RunGenerators


def test_a_seeded_run_draws_what_torch_manual_seed_gives():
    torch.manual_seed(7)
    expected = torch.randn(5)
    outside = torch.get_rng_state()
    generators = RunGenerators(7)
    with generators.active():
        drawn = torch.randn(5)
    assert torch.equal(drawn, expected)
    assert torch.equal(torch.get_rng_state(), outside), "the process gets its own state back"


def test_the_run_continues_where_it_stopped_whatever_happens_between():
    straight = RunGenerators(3)
    with straight.active():
        reference = torch.randn(8)
    interrupted = RunGenerators(3)
    with interrupted.active():
        first = torch.randn(4)
    torch.randn(100)  # the process draws in between
    with interrupted.active():
        with interrupted.active():  # re-entering is a no-op
            second = torch.randn(4)
    assert torch.equal(torch.cat([first, second]), reference)


def test_a_saved_state_resumes_the_draws():
    generators = RunGenerators(1)
    with generators.active():
        torch.randn(3)
        saved = generators.state()  # live inside the block
        expected = torch.randn(3)
    fresh = RunGenerators(99)
    fresh.load(saved)
    with fresh.active():
        assert torch.equal(torch.randn(3), expected)


def test_bad_seeds_and_states_are_refused():
    with pytest.raises(ValueError, match="seed must be a non-negative integer"):
        RunGenerators(-1)
    with pytest.raises(ValueError, match="the CPU generator state 'torch' is missing"):
        RunGenerators(0).load({})
    with pytest.raises(ValueError, match="expected ByteTensors"):
        RunGenerators(0).load({"torch": torch.zeros(3)})
