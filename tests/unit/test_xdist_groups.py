"""`--dist loadgroup` sends the tests of one `xdist_group` to one worker (tests/xdist_groups.py)."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_AUTOLOAD = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def test_a_group_runs_on_one_worker_and_the_others_are_spread(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from tests import xdist_groups

            @pytest.hookimpl(trylast=True)
            def pytest_collection_modifyitems(config, items):
                xdist_groups.apply(config, items)
            """
        ),
        encoding="utf-8",
    )
    tests = ["import pytest, time"]
    for n in range(12):  # grouped and free tests interleaved, each long enough to be spread
        mark = '@pytest.mark.xdist_group("g")\n' if n % 2 else ""
        tests.append(f"{mark}def test_{n}():\n    time.sleep(0.05)\n")
    (tmp_path / "test_spread.py").write_text("\n".join(tests), encoding="utf-8")
    # xdist alone: the suite's other plugins (hypothesis, playwright...) would only cost start-up
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "xdist.plugin", "-n", "2", "--dist", "loadgroup",
         "-v", "-p", "no:cacheprovider", "--rootdir", str(tmp_path), str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", **NO_AUTOLOAD},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    ran = {test: worker for worker, test in re.findall(r"\[(gw\d)\].*?::test_(\d+)", done.stdout)}
    assert len(ran) == 12, done.stdout
    grouped = {ran[str(n)] for n in range(1, 12, 2)}
    assert len(grouped) == 1, done.stdout
    assert "@g" in done.stdout
