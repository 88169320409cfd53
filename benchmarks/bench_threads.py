"""How many CPU threads should a small model train with? 1 against 2, on an idle and on a busy machine.

For each model of the book's quick profile (from the smallest to the chapter-1 VAE) this times the same training
steps of :class:`gi_core.trainer.Trainer` with ``torch.set_num_threads(1)`` and ``(2)``, first on an otherwise idle
machine and then while a busy loop holds every core (one spinning process per core, as a second test run or a
notebook server would). Rounds are interleaved (1 thread, 2 threads, 1 thread, ...) and each setting's median round
is reported, with the work per step (parameters × batch size, the matrix work a step does up to a constant).

The rule the trainer follows (:func:`gi_core.training_step.default_threads`) is read off these numbers; the output ends
with the ratio of 2-thread to 1-thread time for each model and load. Results go to ``results/benchmark_threads.json``.

    python benchmarks/bench_threads.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from gi_core.experiments.joint_kl import RingConfig, ring_data, ring_trainers  # noqa: E402
from gi_core.models.vae import VAE  # noqa: E402
from gi_core.nets.encoders import encoder_decoder  # noqa: E402
from gi_core.results import provenance, write_result  # noqa: E402
from gi_core.optimizers import OptimizerSpec, make_optimizers  # noqa: E402
from gi_core.trainer import Trainer  # noqa: E402


def spin() -> None:
    while True:
        pass


def trainers() -> dict[str, tuple]:
    """``name -> (make_trainer, steps)`` for each size the quick profile trains, smallest first."""
    ring = RingConfig()
    x, _ = ring_data(ring, torch.device("cpu"))
    digits = (torch.rand(4096, 1, 28, 28, generator=torch.Generator().manual_seed(0)) > 0.5).float()

    def ring_model(name):
        return lambda: ring_trainers(ring, x, torch.device("cpu"), progress=False)[name]

    def vae(hidden):
        def make():
            torch.manual_seed(0)
            model = VAE(*encoder_decoder("mlp", (1, 28, 28), 20, hidden=hidden), likelihood="bernoulli")
            return Trainer(model, make_optimizers(model, OptimizerSpec("adam", 1e-3)), digits, 128, progress=False)
        return make

    return {"ring ALI 2-64-64": (ring_model("ALI/BiGAN"), 300), "ring VAE 2-64-64": (ring_model("VAE"), 300),
            "MNIST VAE 784-64-20": (vae((64,)), 200), "MNIST VAE 784-512-256-20": (vae((512, 256)), 60)}


def steps_per_second(make, steps: int, threads: int) -> float:
    trainer = make()
    trainer.threads = threads
    trainer.fit(5)
    start = time.perf_counter()
    trainer.fit(5 + steps)
    return steps / (time.perf_counter() - start)


def measure(rounds: int) -> dict:
    table = {}
    for load in ("idle", "busy"):
        spinners = []
        if load == "busy":
            spinners = [multiprocessing.Process(target=spin, daemon=True) for _ in range(os.cpu_count() or 2)]
            for p in spinners:
                p.start()
        try:
            for name, (make, steps) in trainers().items():
                probe = make()
                params, batch = sum(p.numel() for p in probe.model.parameters()), probe.batch_size
                times = {1: [], 2: []}
                for _ in range(rounds):
                    for threads in (1, 2):
                        times[threads].append(steps_per_second(make, steps, threads))
                one, two = statistics.median(times[1]), statistics.median(times[2])
                table.setdefault(name, {"parameters": params, "batch": batch, "work_per_step": params * batch})
                table[name][load] = {"steps_per_s_1_thread": one, "steps_per_s_2_threads": two, "two_over_one": two / one,
                                     "rounds_1": times[1], "rounds_2": times[2]}
                print(f"{load:5s} {name:26s} work/step {params * batch:.2e}: 1 thread {one:7.1f} steps/s, "
                      f"2 threads {two:7.1f} steps/s (x{two / one:.2f})", flush=True)
        finally:
            for p in spinners:
                p.terminate()
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    table = measure(args.rounds)
    meta = provenance({"rounds": args.rounds}, [0], torch.device("cpu"), time.perf_counter() - start)
    print(f"wrote {write_result('benchmark_threads', table, meta)}")


if __name__ == "__main__":
    main()
