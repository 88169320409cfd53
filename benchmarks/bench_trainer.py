"""Throughput of gi_core's Trainer against the DataLoader loop most tutorials write, and against pythae's trainer.

One run measures, on the CPU and (when present) on a CUDA GPU:

1. training throughput (samples/s) of :class:`gi_core.trainer.Trainer` (MNIST resident on the
   device as one tensor, batches gathered with a per-epoch index permutation) and of the
   tutorial loop ``torchvision.datasets.MNIST(..., transform=ToTensor())`` ->
   ``DataLoader(batch_size=B, shuffle=True)`` -> ``x.to(device)`` -> the same
   ``model.training_loss(x)`` / ``zero_grad`` / ``backward`` / ``step``; same VAE, same data,
   same optimizer, same batch size;
2. the model's FLOPs per training step (forward + backward), counted with ``FlopCounterMode``;
3. the machine's float32 matrix-multiply peak (best of several large square matmuls);
4. ``fraction_of_matmul_peak`` = FLOPs/step x steps/s / peak for the Trainer at batch 512;
5. when pythae is importable (``make bench`` installs it into the benchmark's own ``.bench-env``), pythae's
   ``BaseTrainer`` on the same network, objective and optimizer (``pythae_loop.py``), at batch 128.

The measurements of one device are interleaved (every loop is timed once per round, and the
matmul peak sampled once per round, for several rounds) and each loop's best round is reported,
so a burst of load, or a slow phase of a shared virtual machine, hits all of them alike; the
ratios within single rounds are printed too. The CPU time other processes used during each
timed block is printed beside it ("other CPU"), with a warning when it was not negligible.

The output ends with ``speedup_vs_dataloader=<x>`` (Trainer / DataLoader samples/s at batch 128),
``speedup_vs_pythae=<z>`` (Trainer / pythae at batch 128, when pythae is there) and
``fraction_of_matmul_peak=<y>`` (Trainer at batch 512), for the GPU when there is one, else for the
CPU. Results go to ``results/benchmark_<device>.json``.

    GI_DATA_ROOT=/work/shared/data python benchmarks/bench_trainer.py [--quick] [--device cpu]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from gi_core.data.images import DatasetUnavailableError, data_root, load_images  # noqa: E402
from gi_core.models.vae import VAE  # noqa: E402
from gi_core.nets.encoders import encoder_decoder  # noqa: E402
from gi_core.results import provenance, write_result  # noqa: E402
from gi_core.runtime import cpu_model  # noqa: E402
from gi_core.optimizers import OptimizerSpec, make_optimizers  # noqa: E402
from gi_core.trainer import Trainer  # noqa: E402
import pythae_loop  # noqa: E402  (benchmarks/, on sys.path as the script's folder)

IMAGE_SHAPE = (1, 28, 28)
HEADLINE_BATCH = 128  # speedup_vs_dataloader is measured here
PEAK_BATCH = 512  # fraction_of_matmul_peak is measured here
CONTENDED_CORES = 0.15  # other processes using more than this many cores during a block get a warning


# --------------------------------------------------------------------------------------------
# machine and load
# --------------------------------------------------------------------------------------------


def _system_busy_seconds() -> float | None:
    """CPU seconds the whole machine has been busy (all cores, steal included), from /proc/stat."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds used by this process and its reaped children."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


class LoadMeter:
    """Wall time of a block and the CPU cores that *other* processes kept busy during it."""

    def __enter__(self) -> LoadMeter:
        self.system0, self.own0 = _system_busy_seconds(), _own_cpu_seconds()
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.start
        system1, own1 = _system_busy_seconds(), _own_cpu_seconds()
        if self.system0 is None or system1 is None or self.seconds <= 0:
            self.other_cores = None
        else:  # clock ticks are 10 ms: short blocks are coarse, hence the clamp at 0
            self.other_cores = max(0.0, (system1 - self.system0) - (own1 - self.own0)) / self.seconds


def other_load(seconds: float = 1.0) -> float | None:
    """Cores kept busy by other processes while this one sleeps for ``seconds``."""
    with LoadMeter() as meter:
        time.sleep(seconds)
    return meter.other_cores


def wait_until_quiet(max_wait: float) -> float | None:
    """Poll (1 s at a time, up to ``max_wait`` s) until other processes use < CONTENDED_CORES cores."""
    load = other_load()
    waited = 1.0
    while load is not None and load >= CONTENDED_CORES and waited < max_wait:
        load = other_load()
        waited += 1.0
    return load


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


class PILImageDataset(Dataset):
    """uint8 images served the way ``torchvision.datasets.MNIST`` serves them: one PIL image per
    item, then ``transform``. Used for the DataLoader loop only when the full MNIST is absent."""

    def __init__(self, images: Tensor, targets: Tensor, transform) -> None:
        self.images, self.targets, self.transform = images, targets, transform

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, index: int):
        from PIL import Image

        img, target = self.images[index], int(self.targets[index])
        return self.transform(Image.fromarray(img.numpy())), target


@dataclass
class BenchData:
    x: Tensor  # (N, 1, 28, 28) float32 in [0, 1], for the Trainer
    dataset: Dataset  # yields (ToTensor image, label) for the DataLoader loop
    source: str


def load_bench_data() -> BenchData:
    """The real MNIST training set under $GI_DATA_ROOT, else the shipped quick subset (said so)."""
    import torchvision
    from torchvision import transforms

    root = data_root()
    try:
        images = load_images("mnist", "train", profile="full", root=root, download=False)
        dataset = torchvision.datasets.MNIST(str(root), train=True, transform=transforms.ToTensor())
        return BenchData(images.x, dataset, f"full MNIST train set ({len(images)} images) under {root}")
    except (DatasetUnavailableError, RuntimeError) as error:
        print(f"WARNING: the full MNIST is not available under {root} ({str(error).splitlines()[0]}); "
              "falling back to the shipped quick subset for both loops", file=sys.stderr)
    images = load_images("mnist", "train", profile="quick")
    raw = images.x.mul(255.0).round().to(torch.uint8)[:, 0]
    dataset = PILImageDataset(raw, images.y, transforms.ToTensor())
    return BenchData(images.x, dataset, f"quick MNIST subset ({len(images)} images; DataLoader path serves them "
                                        "as PIL images + ToTensor, like torchvision's MNIST)")


# --------------------------------------------------------------------------------------------
# model, optimizer, FLOPs, peak
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelConfig:
    latent_dim: int = 20
    hidden: tuple[int, ...] = (512, 256)
    lr: float = 1e-3
    seed: int = 0


def make_model(cfg: ModelConfig, device: torch.device) -> VAE:
    torch.manual_seed(cfg.seed)
    encoder, decoder = encoder_decoder("mlp", IMAGE_SHAPE, cfg.latent_dim, hidden=cfg.hidden)
    return VAE(encoder, decoder, likelihood="bernoulli").to(device)


def make_optimizer(model: VAE, cfg: ModelConfig, adam: str) -> torch.optim.Optimizer:
    """Adam(lr) with the default implementation, or ``foreach=True``, or ``fused=True``."""
    options = {"default": {}, "foreach": {"foreach": True}, "fused": {"fused": True}}[adam]
    return make_optimizers(model, OptimizerSpec("adam", cfg.lr, **options))["loss"]


def flops_per_step(cfg: ModelConfig, x: Tensor, batch: int, device: torch.device) -> int:
    """FLOPs of one forward + backward of ``training_loss`` on a batch (matmuls, as FlopCounterMode counts)."""
    model = make_model(cfg, device)
    batch_x = x[:batch].to(device)
    with FlopCounterMode(display=False) as counter:
        model.training_loss(batch_x)["loss"].backward()
    return int(counter.get_total_flops())


class MatmulPeak:
    """Float32 FLOP/s of ``n x n @ n x n`` for each ``n``, the best seen over every :meth:`sample`.

    Sampled before the training loops and again in every timing round, so that a slow phase of
    the machine while the peak is taken cannot make the training loops look closer to it.
    """

    def __init__(self, device: torch.device, sizes: tuple[int, ...]) -> None:
        self.device = device
        self.operands = {n: (torch.randn(n, n, device=device), torch.randn(n, n, device=device),
                             torch.empty(n, n, device=device)) for n in sizes}
        self.best_seconds = {n: math.inf for n in sizes}
        self.samples = 0
        for a, b, out in self.operands.values():
            torch.mm(a, b, out=out)  # warm-up (library initialisation, page faults)
        sync(device)

    def sample(self, repeats: int = 1) -> float:
        """Time ``repeats`` matmuls of every size; return the best FLOP/s of this sample."""
        best = 0.0
        for n, (a, b, out) in self.operands.items():
            for _ in range(repeats):
                sync(self.device)
                start = time.perf_counter()
                torch.mm(a, b, out=out)
                sync(self.device)
                seconds = time.perf_counter() - start
                self.best_seconds[n] = min(self.best_seconds[n], seconds)
                self.samples += 1
                best = max(best, 2.0 * n**3 / seconds)
        return best

    def per_size(self) -> dict[int, float]:
        return {n: 2.0 * n**3 / t for n, t in self.best_seconds.items()}

    @property
    def flops_per_s(self) -> float:
        return max(self.per_size().values())

    def close(self) -> None:
        self.operands.clear()

    def record(self) -> dict:
        return {"flops_per_s": self.flops_per_s, "per_size": {str(n): v for n, v in self.per_size().items()},
                "timed_matmuls": self.samples, "dtype": "float32",
                "float32_matmul_precision": torch.get_float32_matmul_precision()}


# --------------------------------------------------------------------------------------------
# the loops under test
# --------------------------------------------------------------------------------------------


class Contender:
    """A training loop that can run ``n`` more steps and says how many samples it used."""

    label: str
    loader: str
    batch: int
    num_workers: int = 0  # loader processes besides this one (their CPU time is not "other" load)

    def run(self, steps: int) -> int:
        raise NotImplementedError

    def close(self) -> None:
        pass


class TrainerLoop(Contender):
    """gi_core's Trainer (``fit``), data resident on the device."""

    def __init__(self, cfg, data: BenchData, batch, device, adam="fused", amp=False, compile=False, label=None):
        self.batch, self.loader = batch, "resident (Trainer)"
        self.label = label or "trainer"
        model = make_model(cfg, device)
        self.trainer = Trainer(model, make_optimizer(model, cfg, adam), data.x, batch, seed=cfg.seed,
                               device=device, amp=amp, compile=compile, progress=False)

    def run(self, steps: int) -> int:
        self.trainer.fit(self.trainer.step + steps)
        return steps * self.batch


class BareResidentLoop(Contender):
    """Diagnostic: the same resident-tensor gather, without the Trainer (no guard, no bookkeeping)."""

    def __init__(self, cfg, data: BenchData, batch, device, adam="fused"):
        self.batch, self.loader, self.label = batch, "resident (bare loop, diagnostic)", "bare"
        self.device = device
        self.model = make_model(cfg, device)
        self.optimizer = make_optimizer(self.model, cfg, adam)
        self.x = data.x.to(device)
        self.generator = torch.Generator().manual_seed(cfg.seed)
        self.steps_per_epoch = self.x.shape[0] // batch
        self.position = self.steps_per_epoch

    def run(self, steps: int) -> int:
        for _ in range(steps):
            if self.position == self.steps_per_epoch:
                self.order = torch.randperm(self.x.shape[0], generator=self.generator).to(self.device)
                self.position = 0
            idx = self.order[self.position * self.batch : (self.position + 1) * self.batch]
            self.position += 1
            loss = self.model.training_loss(self.x[idx])["loss"]
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
        return steps * self.batch


class DataLoaderLoop(Contender):
    """The tutorial loop: ``for epoch: for x, _ in DataLoader(MNIST(ToTensor()), B, shuffle=True)``."""

    def __init__(self, cfg, data: BenchData, batch, device, adam="fused", num_workers=0):
        self.batch, self.device, self.num_workers = batch, device, num_workers
        self.loader = f"DataLoader num_workers={num_workers}"
        self.label = f"dataloader_w{num_workers}"
        self.model = make_model(cfg, device)
        self.optimizer = make_optimizer(self.model, cfg, adam)
        self.data_loader = DataLoader(data.dataset, batch_size=batch, shuffle=True, num_workers=num_workers)
        self.batches = self._epochs()

    def _epochs(self) -> Iterator[Tensor]:
        while True:  # one pass of the outer `for epoch in range(epochs)` per iteration
            for x, _ in self.data_loader:
                yield x

    def run(self, steps: int) -> int:
        samples = 0
        for _ in range(steps):
            x = next(self.batches).to(self.device)
            loss = self.model.training_loss(x)["loss"]
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            samples += x.shape[0]  # the last batch of an epoch is smaller
        return samples

    def close(self) -> None:
        self.batches.close()  # shuts the worker processes down


# --------------------------------------------------------------------------------------------
# timing
# --------------------------------------------------------------------------------------------


@dataclass
class Row:
    contender: Contender
    steps: int
    flops_per_sample: float
    rounds: list[dict] = field(default_factory=list)

    @property
    def best(self) -> dict:
        return max(self.rounds, key=lambda r: r["samples_per_s"])

    @property
    def samples_per_s(self) -> float:
        return self.best["samples_per_s"]


def time_rows(rows: list[Row], device: torch.device, warmup_s: float, rounds: int, peak: MatmulPeak) -> list[float]:
    """Warm every loop up, then time each once per round, interleaved (and sample the matmul
    peak once per round); keep every round and return the peak FLOP/s sampled in each."""
    for row in rows:
        start = time.perf_counter()
        row.contender.run(max(3, row.steps // 10))  # first calls: allocation, compilation
        while time.perf_counter() - start < warmup_s:
            row.contender.run(max(1, row.steps // 10))
        sync(device)
    round_peaks = []
    for _ in range(rounds):
        round_peaks.append(peak.sample())
        for row in rows:
            sync(device)
            with LoadMeter() as meter:
                samples = row.contender.run(row.steps)
                sync(device)
            row.rounds.append({"samples": samples, "seconds": meter.seconds, "samples_per_s": samples / meter.seconds,
                               "other_cores": None if row.contender.num_workers else meter.other_cores})
    return round_peaks


# --------------------------------------------------------------------------------------------
# one device
# --------------------------------------------------------------------------------------------


def bench_device(device: torch.device, data: BenchData, cfg: ModelConfig, args) -> dict:
    wall_start = time.perf_counter()
    cuda = device.type == "cuda"
    print(f"\n=== {device.type}: {torch.cuda.get_device_name(device) if cuda else cpu_model()} ===", flush=True)
    load_before = wait_until_quiet(args.wait_quiet) if not cuda else other_load()
    if load_before is not None and load_before >= CONTENDED_CORES:
        print(f"WARNING: other processes keep {load_before:.2f} CPU cores busy before the run; "
              "the numbers below are affected", flush=True)

    sizes = tuple(args.peak_sizes_gpu if cuda else args.peak_sizes_cpu)
    peak = MatmulPeak(device, sizes)
    peak.sample(args.peak_repeats)
    print(f"matmul peak (float32, best of {args.peak_repeats}; sampled again in every round): "
          + ", ".join(f"n={n}: {v / 1e9:.1f}" for n, v in peak.per_size().items()) + " GFLOP/s", flush=True)

    batches = sorted({HEADLINE_BATCH, PEAK_BATCH, *args.batches})
    flops = {b: flops_per_step(cfg, data.x, b, device) for b in batches}
    for b in batches:
        print(f"FLOPs per training step (forward + backward), batch {b}: {flops[b] / 1e9:.3f} GFLOP", flush=True)

    scale = args.gpu_step_factor if cuda else 1
    steps_for = lambda b: max(10, int(args.steps * scale * HEADLINE_BATCH / b))  # noqa: E731
    rows: list[Row] = []

    def add(contender: Contender) -> None:
        rows.append(Row(contender, steps_for(contender.batch), flops[contender.batch] / contender.batch))

    for b in batches:
        add(TrainerLoop(cfg, data, b, device, adam=args.adam, amp=args.amp, compile=args.compile))
        add(DataLoaderLoop(cfg, data, b, device, adam=args.adam, num_workers=0))
    add(DataLoaderLoop(cfg, data, HEADLINE_BATCH, device, adam=args.adam, num_workers=2))
    add(BareResidentLoop(cfg, data, HEADLINE_BATCH, device, adam=args.adam))
    if pythae_loop.available():
        add(pythae_loop.PythaeLoop(lambda: make_model(cfg, device), data.x, HEADLINE_BATCH, steps_for(HEADLINE_BATCH),
                                   device, cfg.lr, args.adam))
    else:
        print("WARNING: pythae is not importable: no pythae comparison (`make bench` installs it into .bench-env)",
              flush=True)
    if args.variants:
        for b in (HEADLINE_BATCH, PEAK_BATCH):
            for adam in ("default", "foreach", "fused"):
                if adam != args.adam:
                    add(TrainerLoop(cfg, data, b, device, adam=adam, label=f"trainer adam={adam}"))
            if not args.amp:
                add(TrainerLoop(cfg, data, b, device, adam=args.adam, amp=True, label="trainer amp=bf16"))
            if not args.compile:
                add(TrainerLoop(cfg, data, b, device, adam=args.adam, compile=True, label="trainer compile"))
        add(DataLoaderLoop(cfg, data, HEADLINE_BATCH, device, adam="default", num_workers=0))
        rows[-1].contender.label = "dataloader_w0 adam=default"

    try:
        round_peaks = time_rows(rows, device, args.warmup_seconds, args.rounds, peak)
    finally:
        for row in rows:
            row.contender.close()
        peak.close()
    load_after = other_load() if not cuda else None

    def find(label: str, batch: int) -> Row:
        return next(r for r in rows if r.contender.label == label and r.contender.batch == batch)

    headline_trainer, headline_loader = find("trainer", HEADLINE_BATCH), find("dataloader_w0", HEADLINE_BATCH)
    pythae = next((r for r in rows if r.contender.label == "pythae"), None)
    vs_pythae = None if pythae is None else headline_trainer.samples_per_s / pythae.samples_per_s
    vs_pythae_rounds = None if pythae is None else [
        t["samples_per_s"] / p["samples_per_s"] for t, p in zip(headline_trainer.rounds, pythae.rounds)]
    peak_trainer = find("trainer", PEAK_BATCH)
    speedup = headline_trainer.samples_per_s / headline_loader.samples_per_s
    fraction = peak_trainer.samples_per_s * peak_trainer.flops_per_sample / peak.flops_per_s
    # the same two ratios within each round (the machine's speed can drift between rounds)
    round_speedups = [t["samples_per_s"] / d["samples_per_s"]
                      for t, d in zip(headline_trainer.rounds, headline_loader.rounds)]
    round_fractions = [t["samples_per_s"] * peak_trainer.flops_per_sample / p
                       for t, p in zip(peak_trainer.rounds, round_peaks)]

    # table
    machine = (f"{cpu_model()}, {os.cpu_count()} logical CPUs, torch.get_num_threads()={torch.get_num_threads()}"
               + (f"; GPU {torch.cuda.get_device_name(device)}" if cuda else ""))
    print(f"\nmachine: {machine}; torch {torch.__version__}")
    print(f"data: {data.source}")
    print(f"model: MLP VAE hidden={cfg.hidden} latent_dim={cfg.latent_dim}, Bernoulli likelihood on grey levels; "
          f"Adam(lr={cfg.lr}, {args.adam}); Trainer amp={args.amp} compile={args.compile}")
    print(f"best of {args.rounds} interleaved rounds; 'other CPU' = cores busy with other processes in that round\n")
    header = f"{'device':<6} {'batch':>5}  {'loader':<40} {'samples/s':>10} {'GFLOP/s':>8} {'ms/step':>8} {'other CPU':>9}"
    print(header)
    print("-" * len(header))
    contended = False
    for row in rows:
        best = row.best
        gflops = row.samples_per_s * row.flops_per_sample / 1e9
        loader = row.contender.loader
        if row.contender.label not in ("trainer", "bare", "dataloader_w0", "dataloader_w2"):
            loader += f" [{row.contender.label.split(' ', 1)[-1]}]"
        other = "n/a" if best["other_cores"] is None else f"{best['other_cores']:.2f}"
        contended |= best["other_cores"] is not None and best["other_cores"] >= CONTENDED_CORES
        print(f"{device.type:<6} {row.contender.batch:>5}  {loader:<40} {row.samples_per_s:>10.0f} {gflops:>8.1f} "
              f"{1e3 * row.contender.batch / row.samples_per_s:>8.2f} {other:>9}")
    print(f"\n{device.type}: matmul peak {peak.flops_per_s / 1e9:.1f} GFLOP/s ("
          + ", ".join(f"n={n}: {v / 1e9:.1f}" for n, v in peak.per_size().items())
          + f"; best of {peak.samples} timed matmuls); Trainer at batch {PEAK_BATCH}: "
          f"{peak_trainer.samples_per_s * peak_trainer.flops_per_sample / 1e9:.1f} GFLOP/s")
    print(f"{device.type}: within single rounds, speedup_vs_dataloader ranged {min(round_speedups):.2f}-"
          f"{max(round_speedups):.2f} (median {statistics.median(round_speedups):.2f}) and fraction_of_matmul_peak "
          f"{min(round_fractions):.2f}-{max(round_fractions):.2f} (median {statistics.median(round_fractions):.2f}); "
          "the headline uses the best round of each loop")
    if vs_pythae is not None:
        print(f"{device.type}: Trainer / pythae (batch {HEADLINE_BATCH}) {vs_pythae:.2f}, within single rounds "
              f"{min(vs_pythae_rounds):.2f}-{max(vs_pythae_rounds):.2f}")
    if contended or (load_after is not None and load_after >= CONTENDED_CORES):
        print(f"WARNING: other processes were busy during the measurements (after the run: "
              f"{load_after if load_after is not None else float('nan'):.2f} cores); rerun on a quiet machine")

    wall = time.perf_counter() - wall_start
    metrics = {
        "speedup_vs_dataloader": speedup,
        "fraction_of_matmul_peak": fraction,
        "speedup_vs_dataloader_per_round": round_speedups,
        "speedup_vs_pythae": vs_pythae,
        "speedup_vs_pythae_per_round": vs_pythae_rounds,
        "pythae_version": pythae_loop.available(),
        "fraction_of_matmul_peak_per_round": round_fractions,
        "matmul_peak_per_round": round_peaks,
        "headline_batch": HEADLINE_BATCH,
        "peak_batch": PEAK_BATCH,
        "matmul_peak": peak.record(),
        "flops_per_step": {str(b): f for b, f in flops.items()},
        "rows": [{"label": r.contender.label, "loader": r.contender.loader, "batch": r.contender.batch,
                  "steps_per_round": r.steps, "samples_per_s": r.samples_per_s,
                  "gflops_per_s": r.samples_per_s * r.flops_per_sample / 1e9, "rounds": r.rounds} for r in rows],
        "machine": {"cpu": cpu_model(), "logical_cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "gpu": torch.cuda.get_device_name(device) if cuda else None},
        "data": data.source,
        "other_cores_before": load_before,
        "other_cores_after": load_after,
    }
    config = {"model": "MLP VAE", "likelihood": "bernoulli", "hidden": list(cfg.hidden), "latent_dim": cfg.latent_dim,
              "optimizer": f"Adam(lr={cfg.lr}, {args.adam})", "amp": args.amp, "compile": args.compile,
              "batches": batches, "steps_at_batch_128": int(args.steps * scale), "rounds": args.rounds,
              "warmup_seconds": args.warmup_seconds, "variants": args.variants, "quick": args.quick}
    path = write_result(f"benchmark_{device.type}", metrics, provenance(config, [cfg.seed], device, wall))
    print(f"{device.type}: wrote {path} ({wall:.0f} s)", flush=True)
    return metrics


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="auto: the CPU, and also CUDA when available")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per round at batch 128 (scaled by 128/B)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved timing rounds; the best is reported")
    parser.add_argument("--warmup-seconds", type=float, default=1.0, help="warm-up per loop before timing")
    parser.add_argument("--batches", type=int, nargs="*", default=[], help="batch sizes besides 128 and 512")
    parser.add_argument("--hidden", type=int, nargs="+", default=[512, 256], help="encoder widths (decoder mirrors)")
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument("--adam", choices=("default", "foreach", "fused"), default="fused")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast in the Trainer")
    parser.add_argument("--compile", action="store_true", help="torch.compile the Trainer's loss")
    parser.add_argument("--variants", action="store_true",
                        help="also time the Trainer with the other Adam implementations, amp and compile")
    parser.add_argument("--quick", action="store_true", help="fewer steps and smaller peak matmuls (a smoke test)")
    parser.add_argument("--wait-quiet", type=float, default=30.0,
                        help="wait up to this many seconds for other processes to leave the CPU idle")
    parser.add_argument("--gpu-step-factor", type=int, default=4, help="GPU rounds run this many times more steps")
    parser.add_argument("--peak-repeats", type=int, default=4, help="timed matmuls per size before the rounds")
    args = parser.parse_args(argv)
    args.peak_sizes_cpu, args.peak_sizes_gpu = (2048, 4096), (8192, 16384)
    if args.quick:
        args.steps, args.rounds, args.warmup_seconds = 20, 2, 0.2
        args.peak_sizes_cpu, args.peak_sizes_gpu, args.peak_repeats = (1024, 2048), (4096, 8192), 2
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    warnings.filterwarnings("ignore", message=".*TF32.*")
    if args.variants or args.compile:  # the loss has data-dependent input checks: dynamo reports each graph break
        torch._logging.set_logs(dynamo=logging.ERROR, inductor=logging.ERROR)
    devices = [torch.device("cpu")] if args.device in ("auto", "cpu") else []
    if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            sys.exit("--device cuda: torch.cuda.is_available() is False")
        devices.append(torch.device("cuda"))
    cfg = ModelConfig(latent_dim=args.latent_dim, hidden=tuple(args.hidden))
    data = load_bench_data()
    print(f"data: {data.source}", flush=True)
    results = {device.type: bench_device(device, data, cfg, args) for device in devices}

    final = "cuda" if "cuda" in results else "cpu"
    print()
    for name, metrics in results.items():
        if name != final:
            print(f"{name}: speedup_vs_dataloader={metrics['speedup_vs_dataloader']:.3f} "
                  f"fraction_of_matmul_peak={metrics['fraction_of_matmul_peak']:.3f}")
    print(f"speedup_vs_dataloader={results[final]['speedup_vs_dataloader']:.3f}")
    if results[final]["speedup_vs_pythae"] is not None:
        print(f"speedup_vs_pythae={results[final]['speedup_vs_pythae']:.3f}")
    print(f"fraction_of_matmul_peak={results[final]['fraction_of_matmul_peak']:.3f}", flush=True)


if __name__ == "__main__":
    main()
