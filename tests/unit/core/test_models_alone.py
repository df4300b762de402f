"""Each models module can be imported alone: its foreign keys find their tables.

The CLI loads only the tables a command uses (`core.db.get_engine` no longer imports them all),
so a models module must bring the modules its foreign keys point to.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
MODULES = [
    "core.models",
    "inventory.models",
    "rma.models",
    "provisioning.models",
    "survey.models",
    "vpn.models",
    "changes.models",
]
PROBE = """
import importlib, sys
from sqlalchemy.orm import configure_mappers
from sqlmodel import SQLModel
importlib.import_module(sys.argv[1])
configure_mappers()
for table in SQLModel.metadata.sorted_tables:
    for fk in table.foreign_keys:
        fk.column  # raises NoReferencedTableError when the target table is not loaded
print(len(SQLModel.metadata.tables))
"""


@pytest.mark.parametrize("module", MODULES)
def test_a_models_module_alone_resolves_its_foreign_keys(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, module], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert int(done.stdout) >= 1
