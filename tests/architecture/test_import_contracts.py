"""The import contracts hold on the tree, and a wrong import breaks them (docs/architecture.md).

`scripts/typecheck` runs `lint-imports` in CI; these tests run it on a copy of the package with one
import planted, to show that the contracts catch what they promise to catch.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

WRONG_IMPORTS = {  # id: (module file, planted line, contract that must break)
    "a web view importing storage models": (
        "web/public/batch.py", "from farmtrace.storage.models import Batch", "web reads and writes through services"),
    "the ledger importing a service": (
        "ledger/merkle.py", "from farmtrace.services import verify", "ledger and rules are pure"),
    "a family rule importing SQLAlchemy": (
        "rules/families/produce.py", "import sqlalchemy", "ledger and rules are pure"),
    "two services importing each other": (
        "services/log.py", "from farmtrace.services.ledger import Ledger as _L", "no import cycles"),
}


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    return subprocess.run([str(LINT_IMPORTS), "--config", str(ROOT / "setup.cfg"), "--no-cache"], cwd=tree,
                          env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the package, importable as farmtrace ahead of the installed one."""
    shutil.copytree(ROOT / "trace", tmp_path / "farmtrace", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path


def test_the_tree_keeps_every_contract(tree: Path) -> None:
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), list(WRONG_IMPORTS.values()), ids=list(WRONG_IMPORTS))
def test_a_wrong_import_breaks_its_contract(tree: Path, module: str, line: str, contract: str) -> None:
    path = tree / "farmtrace" / module
    path.write_text(path.read_text() + f"\n{line}  # noqa: E402,F401  (planted by the test)\n")
    result = _lint(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
