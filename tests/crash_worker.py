"""A training run for the crash test (:mod:`tests.test_crash_resume`): resume from ``argv[1]``, train, write the result.

``python -m tests.crash_worker <checkpoint_dir> <result_file> <steps>`` trains a small VAE with a checkpoint after
every step, printing ``resumed <step>`` once it has resumed; at the end it writes the final model and optimizer
state, the history (without wall times) and the steps logged in ``metrics.jsonl`` to ``<result_file>``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from gi_core.checkpoints import write_text_atomically
from gi_core.models.vae import VAE
from gi_core.nets.encoders import encoder_decoder
from gi_core.optimizers import OptimizerSpec, make_optimizers
from gi_core.trainer import Trainer


def main(folder: str, result: str, steps: str) -> None:
    torch.set_num_threads(1)
    torch.manual_seed(0)
    model = VAE(*encoder_decoder("mlp", (1, 8, 8), 4, hidden=(32,)), likelihood="bernoulli")
    data = (torch.rand(96, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    trainer = Trainer(model, make_optimizers(model, OptimizerSpec("adam", 1e-2)), data, 16, seed=3,
                      checkpoint_dir=folder, checkpoint_every=1, log_every=10, progress=False)
    print("resumed", trainer.resume(), flush=True)
    trainer.fit(int(steps))
    weights = {k: v.flatten().tolist() for k, v in model.state_dict().items()}
    moments = {k: [t.flatten().tolist() for t in s.values() if isinstance(t, torch.Tensor)]
               for k, s in trainer.optimizers["loss"].state_dict()["state"].items()}
    history = [{k: v for k, v in r.items() if k != "seconds"} for r in trainer.history]
    logged = [json.loads(line)["step"] for line in (Path(folder) / "metrics.jsonl").read_text().splitlines()]
    write_text_atomically(Path(result), json.dumps({"weights": weights, "moments": moments, "history": history,
                                                    "logged_steps": logged}))


if __name__ == "__main__":
    main(*sys.argv[1:])
