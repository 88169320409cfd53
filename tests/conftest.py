import pytest
import torch


@pytest.fixture(scope="module")
def one_thread():
    """For modules of tiny tensors: on a busy machine a thread pool only adds waiting, so use one thread."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
