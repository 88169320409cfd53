import os

import pytest
import torch
from hypothesis import settings


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny tensors: on a busy machine a thread pool only adds waiting, so use one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


# CI runs property tests on a fixed sequence of examples (reproducible verdicts); local runs explore randomly.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
