"""Fuzz cases of gi_core.data (see tests.fuzz.harness): loaders, file checks, transforms, toy data and domains."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from gi_core.data.files import sha256
from gi_core.data.images import DATASETS, ImageData
from tests.fuzz.harness import Case, scratch
from tests.helpers import SHARED_DATA

D = "gi_core.data."
FREE_TEXT = "free text, shown in messages and records"
ANY_IMAGE_SIZE = "any image size: the images are resized (or measured) as they are"
SEED_ZERO = "0 is a valid seed"


def scratch_file(name: str = "f.npz", payload: bytes | None = None) -> Path:
    """A file in a fresh folder of the scratch directory: a small USPS-shaped archive, or ``payload``."""
    path = scratch() / name
    if payload is None:
        np.savez(path, x=np.zeros((4, 1, 16, 16), np.uint8), y=np.arange(4), info=np.array("{}"))
    else:
        path.write_bytes(payload)
    return path


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(0)


def usps_data() -> ImageData:
    return ImageData(torch.rand(4, 1, 16, 16, generator=gen()), torch.arange(4), "usps", "test", "toy")


def allow(reason: str, *labels: str) -> dict[str, str]:
    return dict.fromkeys(labels, reason)


def domain_tensors() -> dict:
    g = gen()
    return {f"{split}_{k}": v for split, n in (("source", 4), ("target", 3), ("source_test", 2), ("target_test", 2))
            for k, v in (("x", torch.rand(n, 1, 8, 8, generator=g)), ("y", torch.arange(n)))}


MNIST = DATASETS["mnist"]
CASES: list[Case] = [
    # images: datasets, records and loaders
    Case(D + "images.DatasetSpec", lambda: {
        "torchvision_class": "MNIST", "subfolder": "", "shape": (1, 28, 28), "num_classes": 10, "files": MNIST.files,
        "source": "s", "licence": "l", "citation": "c", "build_command": ""},
        allow=allow(FREE_TEXT, "subfolder:unknown", "source:unknown", "licence:unknown", "citation:unknown")),
    Case(D + "images.ImageData", lambda: {"x": torch.rand(4, 1, 16, 16), "y": torch.arange(4), "name": "usps",
                                          "split": "test", "source": "toy", "info": {}},
         allow={"name:unknown": "ImageData also holds toy data; a name of DATASETS fixes the image shape and classes",
                "source:unknown": FREE_TEXT}),
    Case(D + "images.ImageData.subset", lambda: {"n": 2, "generator": gen()}, instance=usps_data),
    Case(D + "images.ImageData.to", lambda: {"device": "cpu"}, instance=usps_data),
    Case(D + "images.data_root", lambda: {"root": scratch("data")}),
    Case(D + "images.built_data_root", lambda: {"root": scratch("data")}),
    Case(D + "images.load_images", lambda: {"name": "usps", "split": "test", "profile": "quick",
                                            "root": scratch("data"), "download": False, "substitute": False}),
    Case(D + "images.load_usps_esl_variant", lambda: {"split": "test", "folder": SHARED_DATA / "USPS-ESL-variant"},
         run_valid=(SHARED_DATA / "USPS-ESL-variant").exists()),
    # files: checksums and archives
    Case(D + "files.sha256", lambda: {"path": scratch_file()}),
    Case(D + "files.write_checksum", lambda: {"path": scratch_file()}),
    Case(D + "files.recorded_checksum", lambda: {"path": scratch_file()}),
    Case(D + "files.verify_checksum", lambda: {"path": (p := scratch_file()), "dataset": "toy", "rebuild": "run make.py",
                                               "expected": sha256(p), "required": True},
         allow=allow(FREE_TEXT, "dataset:unknown", "rebuild:unknown")),
    Case(D + "files.read_npz", lambda: {"path": scratch_file(), "dataset": "toy", "keys": ["x", "y"],
                                        "rebuild": "run make.py"},
         allow=allow(FREE_TEXT, "dataset:unknown", "rebuild:unknown")),
    Case(D + "files.read_info", lambda: {"info": np.array('{"seed": 0}'), "where": "f.npz"},
         allow=allow(FREE_TEXT, "where:unknown")),
    Case(D + "files.check_image_arrays", lambda: {"x": np.zeros((4, 1, 16, 16), np.uint8), "y": np.arange(4),
                                                  "shape": (1, 16, 16), "num_classes": 10, "where": "usps in f.npz"},
         allow=allow(FREE_TEXT, "where:unknown")),
    Case(D + "files.damage_report", lambda: {"paths": [scratch_file(payload=b"")]}),
    # transforms
    Case(D + "transforms.binarize", lambda: {"x": torch.rand(2, 1, 4, 4), "threshold": 0.5},
         allow=allow("elementwise: any shape is binarized", "x:rank", "x:size")),
    Case(D + "transforms.to_signed_images", lambda: {"x": torch.rand(2, 1, 4, 4), "size": 8},
         allow=allow(ANY_IMAGE_SIZE, "x:size")),
    Case(D + "transforms.prepare_digits", lambda: {"x": torch.rand(2, 1, 16, 16), "size": 28, "channels": 3},
         allow=allow(ANY_IMAGE_SIZE, "x:size")),
    Case(D + "transforms.ink_extent", lambda: {"x": torch.rand(2, 1, 8, 8), "threshold": 0.3},
         allow=allow(ANY_IMAGE_SIZE, "x:size")),
    Case(D + "transforms.frame_digits", lambda: {"x": torch.rand(2, 1, 16, 16), "box": 20, "size": 28},
         allow=allow(ANY_IMAGE_SIZE, "x:size")),
    # toy data
    Case(D + "toy.ring_means", lambda: {"modes": 3, "radius": 1.5}),
    Case(D + "toy.ring_of_gaussians", lambda: {"n": 4, "modes": 3, "radius": 1.0, "std": 0.1, "generator": gen()}),
    # domains
    Case(D + "domains.DATask", lambda: {"source": "mnist", "target": "usps", "channels": 1, "usps_box": 20,
                                        "balance_target": False}),
    Case(D + "domains.DomainData", lambda: {**domain_tensors(), "sources": {"source": "toy"}}),
    Case(D + "domains.load_domain_data", lambda: {"task": "mnist_usps", "device": torch.device("cpu"),
                                                  "profile": "quick", "image_size": 28}),
    Case(D + "domains.paired_domains", lambda: {"source": (torch.arange(5.0), torch.arange(5)),
                                                "target": (torch.arange(3.0),), "seed": 1},
         allow={"seed:zero": SEED_ZERO}),
    Case(D + "domains.proportional_subset", lambda: {"labels": torch.tensor([0, 1, 2, 0, 1, 2, 0]),
                                                     "proportions": torch.tensor([0.5, 0.3, 0.2]), "seed": 1},
         allow={"labels:size": "any number of labels: the subset is drawn from those given", "seed:zero": SEED_ZERO}),
    Case(D + "domains.task_images", lambda: {"task": "mnist_usps_framed", "data": usps_data(),
                                             "device": torch.device("cpu"), "image_size": 28}),
]
EXEMPT: dict[str, str] = {
    D + "images.DatasetUnavailableError": "an exception class: gi_core raises it with its message",
    D + "files.DatasetCorruptError": "an exception class: gi_core raises it with its message",
}
