"""The package's layout rule (ARCHITECTURE.md), checked on the source: imports only downward, no model importing another
model, no private name imported across modules, no module past 400 lines."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gi_core"
FLOORS = {"data": 1, "maths": 2, "nets": 3, "models": 4, "metrics": 5, "experiments": 6}
"""The floor of each subpackage; the modules directly in gi_core (validation, runtime, batching, results, trainer,
runs) are floor 0, the infrastructure every floor may use."""
MAX_LINES = 400


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def floor(module: str) -> int:
    parts = module.split(".")
    return FLOORS[parts[1]] if len(parts) > 1 and parts[1] in FLOORS else 0


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """``(line, imported gi_core module, imported names)`` of every gi_core import in ``path`` (also inside functions)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "gi_core":
            found.append((node.lineno, node.module, [alias.name for alias in node.names]))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, []) for alias in node.names if alias.name.split(".")[0] == "gi_core"]
    return found


def violations(path: Path, package: Path = PACKAGE) -> list[str]:
    """Every breach of the layout rule in one module of ``package``, as readable lines."""
    importer, problems = module_name(path, package), []
    for line, module, names in imports(path):
        where = f"{path.relative_to(package.parent)}:{line}"
        target = module
        if module in ("gi_core", *(f"gi_core.{sub}" for sub in FLOORS)):  # `from gi_core.maths import x` imports x
            target = f"{module}.{names[0]}" if names else module
        if floor(target) > floor(importer):
            problems.append(f"{where}: {importer} (floor {floor(importer)}) imports upward from {target} (floor {floor(target)})")
        if importer.startswith("gi_core.models.") and target.startswith("gi_core.models.") and target != importer:
            problems.append(f"{where}: the model {importer} imports another model, {target}")
        private = [name for name in names if name.startswith("_")]
        if private:
            problems.append(f"{where}: {importer} imports private names {private} from {module}")
    lines = len(path.read_text().splitlines())
    if lines > MAX_LINES:
        problems.append(f"{path.relative_to(package.parent)}: {lines} lines, past {MAX_LINES}: split it along its second 'and'")
    return problems


def test_every_module_follows_the_layout_rule() -> None:
    modules = sorted(PACKAGE.rglob("*.py"))
    assert len(modules) > 40
    problems = [problem for path in modules for problem in violations(path)]
    assert not problems, "\n".join(problems)


def test_every_subpackage_has_a_floor() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert folders == set(FLOORS)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from gi_core.experiments.zoo import PLANS\n", "imports upward"),
        ("from gi_core.models.vae import VAE\n", "imports upward"),
        ("from gi_core.maths.gaussians import _LOG_2PI\n", "private names"),
        ("def f():\n    from gi_core.metrics.latent import log_mse\n", "imports upward"),
        ("from gi_core import experiments\n", "imports upward"),
    ],
)
def test_the_check_finds_a_breach(tmp_path: Path, source: str, expected: str) -> None:
    """A maths module that imports upward or imports a private name is reported (the test can fail)."""
    fake = tmp_path / "gi_core" / "maths" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(source)
    assert any(expected in problem for problem in violations(fake, tmp_path / "gi_core"))


def test_a_model_importing_another_model_is_reported(tmp_path: Path) -> None:
    fake = tmp_path / "gi_core" / "models" / "avb.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from gi_core.models.vae import VAE\n" + "x = 1\n" * (MAX_LINES + 1))
    problems = violations(fake, tmp_path / "gi_core")
    assert any("imports another model" in p for p in problems) and any("past 400" in p for p in problems)


def test_the_tests_mirror_the_package() -> None:
    """Every module ``gi_core/<folder>/<module>.py`` has its tests in ``tests/<folder>/test_<module>.py``."""
    tests = PACKAGE.parent / "tests"
    missing = [str(path.relative_to(PACKAGE.parent)) for path in sorted(PACKAGE.rglob("*.py")) if path.name != "__init__.py"
               and not (tests / path.parent.relative_to(PACKAGE) / f"test_{path.name}").exists()]
    assert not missing, f"modules without a mirrored test file: {missing}"
