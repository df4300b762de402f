"""How fast the CLI answers (run by hand; prints figures, asserts nothing).

    .venv/bin/python bench/cli_startup.py              # 10 runs each, a fresh demo database
    .venv/bin/python bench/cli_startup.py --runs 20

For `netkeep --help` and `netkeep inventory list --json` on the demo database it prints the
median wall-clock and CPU (user+sys) seconds of the runs, then the 10 slowest imports by
cumulative time from `python -X importtime`. The load average is printed too: on a shared
machine the wall clock grows with it while the CPU time does not. Bytecode caches are allowed
(PYTHONDONTWRITEBYTECODE is dropped), as on an installed system, and one warm-up run precedes
the measured ones.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NETKEEP = [sys.executable, "-c", "import sys; from netkeep.cli import main; sys.exit(main())"]
COMMANDS = {
    "netkeep --help": ["--help"],
    "netkeep inventory list --json": ["inventory", "list", "--json"],
}
_IMPORT_LINE = re.compile(r"import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s+)(\S+)")


def _env(database_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["NETKEEP_DATABASE_URL"] = database_url
    return env


def _run_once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of the CLI."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([*NETKEEP, *args], env=env, cwd=ROOT, check=True, capture_output=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def measure(args: list[str], env: dict[str, str], runs: int) -> tuple[float, float]:
    _run_once(args, env)  # warm-up: bytecode caches, the file system cache
    samples = [_run_once(args, env) for _ in range(runs)]
    return statistics.median(s[0] for s in samples), statistics.median(s[1] for s in samples)


def top_imports(args: list[str], env: dict[str, str], count: int = 10) -> list[tuple[int, str]]:
    """The `count` imports with the largest cumulative time (µs), top-level ones first."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *NETKEEP[1:], *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    rows = []
    for line in done.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            rows.append((int(match.group(2)), match.group(4)))
    return sorted(rows, reverse=True)[:count]


def _demo_database(directory: Path) -> str:
    url = f"sqlite:///{directory / 'netkeep.db'}"
    subprocess.run(
        [sys.executable, "-c", f"from netkeep.demo import load_demo; load_demo({url!r})"],
        env=_env(url),
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="netkeep-cli-bench-") as tmp:
        env = _env(_demo_database(Path(tmp)))
        print(f"load average before: {os.getloadavg()[0]:.2f} (cores: {os.cpu_count()})")
        for label, args in COMMANDS.items():
            wall, cpu = measure(args, env, options.runs)
            print(f"{label:32} median of {options.runs}: wall {wall:.3f} s   cpu {cpu:.3f} s")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        for label, args in COMMANDS.items():
            print(f"\ntop 10 imports (cumulative) for `{label}`:")
            for micros, module in top_imports(args, env):
                print(f"  {micros / 1e6:7.3f} s  {module}")


if __name__ == "__main__":
    main()
