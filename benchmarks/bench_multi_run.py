"""Throughput of S runs trained as one batched model (:class:`gi_core.multi_run.MultiRunTrainer`) against the same S
runs trained one after another (:class:`gi_core.trainer.Trainer`), for S in {1, 3, 8}.

The model is the zoo's VAE (β = 1, squared-error likelihood; :class:`gi_core.models.zoo.ZooModel`) on the benchmark
MLP, 784-512-256-20 with the mirrored decoder, on MNIST in [-1, 1] at batch 128 with Adam (the chosen implementation in
both loops). Both loops train the same S models (seeds 0..S-1) for the same number of steps per round; the rounds are
interleaved (every loop once per round, the matmul peak sampled once per round) and each loop's best round is
reported, with the per-round ratios beside it, as in ``bench_trainer.py``.

It also times chapter 3's use: Table 6.4's autoencoders (32×32 images, J = 10, batch 64) in the plan's groups of
nine against the same nine runs one after another. The output ends with ``multi_run_speedup=<x>`` (batched / sequential samples/s at S = 8) and
``multi_run_fraction_of_matmul_peak=<y>`` (the batched loop at S = 8). Results go to
``results/benchmark_multi_run_<device>.json``.

    GI_DATA_ROOT=/work/shared/data python benchmarks/bench_multi_run.py [--quick] [--device cpu]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from bench_trainer import (CONTENDED_CORES, LoadMeter, MatmulPeak, load_bench_data, other_load, sync,  # noqa: E402
                           wait_until_quiet)
from gi_core.models.zoo import GroupedZooAutoencoders, ZooEntry, ZooModel, zoo_networks  # noqa: E402
from gi_core.multi_run import MultiRunTrainer  # noqa: E402
from gi_core.optimizers import OptimizerSpec, make_optimizers  # noqa: E402
from gi_core.results import provenance, write_result  # noqa: E402
from gi_core.runtime import cpu_model  # noqa: E402
from gi_core.trainer import Trainer  # noqa: E402

SHAPE, LATENT, HIDDEN, BATCH, LR = (1, 28, 28), 20, (512, 256), 128, 1e-3
GROUPS = (1, 3, 8)
HEADLINE = 8
ENTRY = ZooEntry("VAE β=1", "vae")
TABLE_6_4 = {"shape": (1, 32, 32), "latent": 10, "batch": 64, "lr": 2e-4, "groups": 9}
"""The autoencoders of Table 6.4 (chapter 3): 32×32 images, J = 10, batch 64, in the plan's groups of nine."""


def plain(seed: int, shape: tuple[int, ...] = SHAPE, latent: int = LATENT) -> ZooModel:
    torch.manual_seed(seed)
    return ZooModel.build(ENTRY, zoo_networks("mlp", shape, latent, hidden=HIDDEN))


class Sequential:
    """S Trainers, each trained ``steps`` steps in turn."""

    def __init__(self, runs: int, x: torch.Tensor, spec: OptimizerSpec, device: torch.device, batch: int = BATCH,
                 latent: int = LATENT) -> None:
        self.runs, self.batch, self.label = runs, batch, f"sequential S={runs}"
        self.trainers = []
        for seed in range(runs):
            model = plain(seed, tuple(x.shape[1:]), latent).to(device)
            self.trainers.append(Trainer(model, make_optimizers(model, spec), x, batch, seed=seed, progress=False))

    def run(self, steps: int) -> int:
        for trainer in self.trainers:
            trainer.fit(trainer.step + steps)
        return self.runs * steps * self.batch


class Batched:
    """The same S runs as one grouped model."""

    def __init__(self, runs: int, x: torch.Tensor, spec: OptimizerSpec, device: torch.device, batch: int = BATCH,
                 latent: int = LATENT) -> None:
        self.runs, self.batch, self.label = runs, batch, f"batched S={runs}"
        models = [plain(seed, tuple(x.shape[1:]), latent) for seed in range(runs)]
        group = GroupedZooAutoencoders.stack(models).to(device)
        self.trainer = MultiRunTrainer(group, make_optimizers(group, spec), x, batch, list(range(runs)), progress=False)

    def run(self, steps: int) -> int:
        self.trainer.fit(self.trainer.step + steps)
        return self.runs * steps * self.batch


def flops_per_run_step(x: torch.Tensor, device: torch.device) -> int:
    """FLOPs of one forward + backward of one run (the batched step does S times this)."""
    model = plain(0).to(device)
    with FlopCounterMode(display=False) as counter:
        model.training_loss(x[:BATCH].to(device))["loss"].backward()
    return int(counter.get_total_flops())


def table_6_4_speedup(x: torch.Tensor, device: torch.device, args) -> dict:
    """Batched / sequential samples/s for chapter 3's groups of nine autoencoders, interleaved rounds."""
    images = torch.nn.functional.interpolate(x, size=TABLE_6_4["shape"][1:], mode="bilinear", align_corners=False)
    spec = OptimizerSpec("adam", TABLE_6_4["lr"], betas=(0.0, 0.999))
    loops = [kind(TABLE_6_4["groups"], images, spec, device, TABLE_6_4["batch"], TABLE_6_4["latent"])
             for kind in (Sequential, Batched)]
    for loop in loops:
        loop.run(5)
    rounds = []
    for _ in range(args.rounds):
        rates = []
        for loop in loops:
            sync(device)
            with LoadMeter() as meter:
                samples = loop.run(2 * args.steps)
                sync(device)
            rates.append(samples / meter.seconds)
        rounds.append(rates)
    best = [max(r[i] for r in rounds) for i in range(2)]
    return {"speedup": best[1] / best[0], "per_round": [b / a for a, b in rounds],
            "sequential_samples_per_s": best[0], "batched_samples_per_s": best[1], "groups": TABLE_6_4["groups"],
            "batch": TABLE_6_4["batch"], "image_shape": list(TABLE_6_4["shape"]), "latent_dim": TABLE_6_4["latent"]}


def bench(device: torch.device, x: torch.Tensor, source: str, args) -> dict:
    wall_start = time.perf_counter()
    cuda = device.type == "cuda"
    load_before = wait_until_quiet(args.wait_quiet) if not cuda else other_load()
    peak = MatmulPeak(device, (8192, 16384) if cuda else ((1024, 2048) if args.quick else (2048, 4096)))
    peak.sample(2 if args.quick else 4)
    x = x.to(device)
    flops = flops_per_run_step(x, device)
    spec = OptimizerSpec("adam", LR, fused=args.adam == "fused", foreach=args.adam == "foreach")
    loops = {(kind.__name__, s): kind(s, x, spec, device) for s in GROUPS for kind in (Sequential, Batched)}
    steps = args.steps * (4 if cuda else 1)
    for loop in loops.values():  # warm-up: allocation, first calls
        start = time.perf_counter()
        while time.perf_counter() - start < args.warmup_seconds:
            loop.run(max(2, steps // 10))
    rounds: dict[tuple[str, int], list[dict]] = {key: [] for key in loops}
    round_peaks = []
    for r in range(args.rounds):
        round_peaks.append(peak.sample())
        for s in GROUPS:
            order = ("Sequential", "Batched") if r % 2 == 0 else ("Batched", "Sequential")
            for kind in order:
                sync(device)
                with LoadMeter() as meter:
                    samples = loops[kind, s].run(steps)
                    sync(device)
                rounds[kind, s].append({"samples_per_s": samples / meter.seconds, "seconds": meter.seconds,
                                        "other_cores": meter.other_cores})
    table = table_6_4_speedup(x, device, args)
    peak.close()
    load_after = other_load() if not cuda else None

    best = {key: max(r["samples_per_s"] for r in values) for key, values in rounds.items()}
    speedups = {s: best["Batched", s] / best["Sequential", s] for s in GROUPS}
    per_round = {s: [b["samples_per_s"] / q["samples_per_s"] for b, q in zip(rounds["Batched", s], rounds["Sequential", s])]
                 for s in GROUPS}
    flops_per_sample = flops / BATCH
    fraction = best["Batched", HEADLINE] * flops_per_sample / peak.flops_per_s
    contended = any(r["other_cores"] is not None and r["other_cores"] >= CONTENDED_CORES
                    for values in rounds.values() for r in values)

    print(f"\n=== {device.type}: {torch.cuda.get_device_name(device) if cuda else cpu_model()}, "
          f"torch.get_num_threads()={torch.get_num_threads()}, torch {torch.__version__} ===")
    print(f"data: {source}; model: zoo VAE β=1, MLP 784-{'-'.join(map(str, HIDDEN))}-{LATENT}, batch {BATCH}, "
          f"Adam({LR}, {args.adam}); {steps} steps per run per round, best of {args.rounds} interleaved rounds")
    print(f"FLOPs per run and step: {flops / 1e9:.3f} GFLOP; matmul peak {peak.flops_per_s / 1e9:.1f} GFLOP/s\n")
    header = f"{'S':>2}  {'sequential samples/s':>21} {'batched samples/s':>18} {'speedup':>8} {'per round':>14} {'GFLOP/s':>8}"
    print(header)
    print("-" * len(header))
    for s in GROUPS:
        print(f"{s:>2}  {best['Sequential', s]:>21.0f} {best['Batched', s]:>18.0f} {speedups[s]:>8.2f} "
              f"{min(per_round[s]):>6.2f}-{max(per_round[s]):<7.2f} {best['Batched', s] * flops_per_sample / 1e9:>8.1f}")
    print(f"\nbatched S={HEADLINE}: {fraction:.2f} of the matmul peak; the per-round speedups have median "
          f"{statistics.median(per_round[HEADLINE]):.2f}")
    print(f"Table 6.4's autoencoders (32x32, J=10, batch 64, S={TABLE_6_4['groups']}): batched / sequential "
          f"{table['speedup']:.2f} (single rounds {min(table['per_round']):.2f}-{max(table['per_round']):.2f})")
    if contended or (load_after is not None and load_after >= CONTENDED_CORES):
        print("WARNING: other processes were busy during the measurements; rerun on a quiet machine")

    metrics = {"multi_run_speedup": speedups[HEADLINE], "multi_run_fraction_of_matmul_peak": fraction,
               "speedup": {str(s): speedups[s] for s in GROUPS},
               "speedup_per_round": {str(s): per_round[s] for s in GROUPS},
               "samples_per_s": {f"{kind.lower()}_{s}": best[kind, s] for kind, s in best},
               "rounds": {f"{kind.lower()}_{s}": values for (kind, s), values in rounds.items()},
               "table_6_4_autoencoders": table,
               "flops_per_run_step": flops, "matmul_peak": peak.record(), "matmul_peak_per_round": round_peaks,
               "machine": {"cpu": cpu_model(), "torch_threads": torch.get_num_threads(),
                           "gpu": torch.cuda.get_device_name(device) if cuda else None},
               "data": source, "other_cores_before": load_before, "other_cores_after": load_after}
    config = {"model": "zoo VAE beta=1", "hidden": list(HIDDEN), "latent_dim": LATENT, "batch": BATCH,
              "optimizer": f"Adam(lr={LR}, {args.adam})", "groups": list(GROUPS), "steps_per_round": steps,
              "rounds": args.rounds, "warmup_seconds": args.warmup_seconds, "quick": args.quick}
    path = write_result(f"benchmark_multi_run_{device.type}", metrics,
                        provenance(config, list(range(HEADLINE)), device, time.perf_counter() - wall_start))
    print(f"{device.type}: wrote {path}", flush=True)
    return metrics


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    parser.add_argument("--steps", type=int, default=40, help="steps per run per round (4x on a GPU)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--warmup-seconds", type=float, default=1.0)
    parser.add_argument("--adam", choices=("default", "foreach", "fused"), default="fused")
    parser.add_argument("--wait-quiet", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="a smoke test: fewer steps and rounds")
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.rounds, args.warmup_seconds = 8, 2, 0.2
    devices = [torch.device("cpu")] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            sys.exit("--device cuda: torch.cuda.is_available() is False")
        devices.append(torch.device("cuda"))
    data = load_bench_data()
    x = data.x * 2.0 - 1.0  # the zoo's images live in [-1, 1]
    results = {device.type: bench(device, x, data.source, args) for device in devices}
    final = results["cuda" if "cuda" in results else "cpu"]
    print(f"multi_run_speedup={final['multi_run_speedup']:.3f}")
    print(f"multi_run_fraction_of_matmul_peak={final['multi_run_fraction_of_matmul_peak']:.3f}", flush=True)


if __name__ == "__main__":
    main()
