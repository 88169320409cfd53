"""pythae's trainer on the benchmark's VAE, as a contender of ``bench_trainer.py``.

pythae (Chadebec et al., 2022) is the most used library of VAE variants; its ``BaseTrainer.train_step`` runs one epoch
of a ``DataLoader`` over a ``BaseDataset``, moves each batch to the device, calls the model (which returns its
loss), steps the optimizer and reads the loss with ``.item()``. pythae is not a dependency of the book: ``make bench``
installs it into the benchmark's own folder (``.bench-env``, from ``benchmarks/requirements.txt``) and puts that
folder on ``PYTHONPATH``; without it this contender is skipped and the benchmark says so.

The model is the same network as the Trainer's (the book's MLP encoder and decoder, same widths, same initial
weights), wrapped as pythae's ``BaseEncoder``/``BaseDecoder``; pythae's VAE loss is the summed binary cross-entropy on
``sigmoid(logits)`` plus the closed-form KL, averaged over the batch: the same objective as ``VAE(likelihood=
"bernoulli")``. The optimizer is Adam with the same rate and implementation.
"""

from __future__ import annotations

import logging
import tempfile
from importlib import metadata

import torch


def available() -> str | None:
    """pythae's version if it can be imported, else ``None``."""
    try:
        import pythae  # noqa: F401
    except ImportError:
        return None
    return metadata.version("pythae")


class PythaeLoop:
    """``BaseTrainer.train_step`` of pythae over ``steps`` batches of the benchmark's MNIST: one call = one epoch."""

    num_workers = 0

    def __init__(self, make_model, data_x: torch.Tensor, batch: int, steps: int, device: torch.device, lr: float,
                 adam: str) -> None:
        from pythae.data.datasets import BaseDataset
        from pythae.models import VAE as PythaeVAE
        from pythae.models import VAEConfig
        from pythae.models.base.base_utils import ModelOutput
        from pythae.models.nn import BaseDecoder, BaseEncoder
        from pythae.trainers import BaseTrainer, BaseTrainerConfig

        ours = make_model()  # the Trainer's VAE: its networks and initial weights

        class Encoder(BaseEncoder):
            def __init__(self) -> None:
                super().__init__()
                self.net = ours.encoder

            def forward(self, x):
                mean, log_var = self.net(x)
                return ModelOutput(embedding=mean, log_covariance=log_var)

        class Decoder(BaseDecoder):
            def __init__(self) -> None:
                super().__init__()
                self.net = ours.decoder

            def forward(self, z):
                return ModelOutput(reconstruction=torch.sigmoid(self.net(z)))

        self.batch, self.steps = batch, steps
        self.loader = f"pythae {available()} BaseTrainer"
        self.label = "pythae"
        shape = tuple(data_x.shape[1:])
        config = VAEConfig(input_dim=shape, latent_dim=ours.latent_dim, reconstruction_loss="bce")
        model = PythaeVAE(config, encoder=Encoder(), decoder=Decoder())
        options = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[adam]
        self._folder = tempfile.TemporaryDirectory()
        training = BaseTrainerConfig(output_dir=self._folder.name, per_device_train_batch_size=batch,
                                     num_epochs=1, learning_rate=lr, optimizer_cls="Adam", optimizer_params=options,
                                     no_cuda=device.type != "cuda", seed=0)
        dataset = BaseDataset(data_x[: steps * batch].clone(), torch.zeros(steps * batch))
        logging.disable(logging.INFO)  # pythae's set-up messages
        try:
            self.trainer = BaseTrainer(model, dataset, training_config=training)
            self.trainer.prepare_training()  # what BaseTrainer.train does first: seed, optimizer, output folder, callbacks
        finally:
            logging.disable(logging.NOTSET)
        self.trainer.callback_handler.callbacks = []  # no progress bar or console printer inside the timed loop
        self.epoch = 0

    def run(self, steps: int) -> int:
        """One epoch of pythae's training loop (``self.steps`` batches, whatever ``steps`` asks)."""
        self.epoch += 1
        self.trainer.train_step(self.epoch)
        return self.steps * self.batch

    def close(self) -> None:
        self._folder.cleanup()

