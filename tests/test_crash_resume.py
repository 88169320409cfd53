"""A run killed with SIGKILL at random instants, also inside checkpoint writes, resumes and ends bitwise equal."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time

import pytest

from tests.helpers import REPO

STEPS = 1500
KILLS = 24


def start(folder, result):
    return subprocess.Popen([sys.executable, "-m", "tests.crash_worker", str(folder), str(result), str(STEPS)],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_killed_runs_resume_bitwise(tmp_path):
    reference = tmp_path / "reference.json"
    straight = start(tmp_path / "straight", reference)
    assert straight.wait(timeout=300) == 0, straight.stderr.read()

    folder, result = tmp_path / "killed", tmp_path / "killed.json"
    rng = random.Random(0)
    resumed_at, inside_a_write = [], 0
    while len(resumed_at) < KILLS:
        run = start(folder, result)
        line = run.stdout.readline()
        assert line.startswith("resumed"), run.stderr.read()
        resumed_at.append(int(line.split()[1]))
        time.sleep(rng.uniform(0.0, 0.25))
        run.send_signal(signal.SIGKILL)
        run.wait(timeout=60)
        inside_a_write += any(p.suffix == ".tmp" or p.name.endswith(".tmp") for p in folder.iterdir())
        if result.exists():  # the kill came after the run had finished
            break
    final = start(folder, result)
    assert final.wait(timeout=300) == 0, final.stderr.read()

    assert json.loads(result.read_text()) == json.loads(reference.read_text())
    assert resumed_at == sorted(resumed_at), f"the step reached never goes back: {resumed_at}"
    assert len([s for s in resumed_at if 0 < s < STEPS]) >= KILLS // 2, f"kills must land mid-run: {resumed_at}"
    print(f"{len(resumed_at)} kills, resumed at steps {resumed_at}; {inside_a_write} left a write half-done")
