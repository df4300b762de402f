"""The CLI finds a running demo's sandbox and mail sink on whatever ports it took."""

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from core.demo_state import DemoState, live_state, remove_state, write_state
from core.settings import DEFAULT_SANDBOX_URL, Settings, following_demo, get_settings
from netkeep.cli import app


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], check=True,
                          capture_output=True, text=True)  # fmt: skip
    return int(done.stdout)


def _state(pid: int, db: str = "sqlite:///var/netkeep.db") -> DemoState:
    return DemoState(
        pid=pid,
        database_url=db,
        api_url="http://127.0.0.1:8123",
        sandbox_url="http://127.0.0.1:8799/api/v1",
        smtp_host="127.0.0.1",
        smtp_port=2526,
    )


def test_a_live_record_is_read_back_and_a_dead_or_missing_one_is_none(tmp_path: Path) -> None:
    assert live_state(tmp_path) is None
    write_state(tmp_path, _state(os.getpid()))
    assert live_state(tmp_path) == _state(os.getpid())
    write_state(tmp_path, _state(_dead_pid()))
    assert live_state(tmp_path) is None  # left behind by a killed demo
    (tmp_path / "demo.json").write_text("{not json", encoding="utf-8")
    assert live_state(tmp_path) is None


def test_only_the_demo_that_wrote_the_record_removes_it(tmp_path: Path) -> None:
    write_state(tmp_path, _state(os.getpid()))
    remove_state(tmp_path, os.getpid() + 1)
    assert (tmp_path / "demo.json").exists()
    remove_state(tmp_path, os.getpid())
    assert not (tmp_path / "demo.json").exists()


def _settings(tmp_path: Path, **explicit: object) -> Settings:
    return Settings(_env_file=None, var_dir=tmp_path, **explicit)  # type: ignore[call-arg, arg-type]


def test_settings_follow_a_live_demo_unless_something_explicit_says_otherwise(
    tmp_path: Path,
) -> None:
    write_state(tmp_path, _state(os.getpid()))
    followed = following_demo(_settings(tmp_path))
    assert followed.meraki_base_url == "http://127.0.0.1:8799/api/v1"
    assert (followed.smtp_host, followed.smtp_port) == ("127.0.0.1", 2526)
    chosen = following_demo(
        _settings(tmp_path, meraki_base_url="https://api.meraki.com/api/v1", smtp_port=587)
    )
    assert chosen.meraki_base_url == "https://api.meraki.com/api/v1"
    assert (chosen.smtp_host, chosen.smtp_port) == ("127.0.0.1", 587)
    other_db = following_demo(_settings(tmp_path, database_url="sqlite:///elsewhere.db"))
    assert other_db.meraki_base_url == DEFAULT_SANDBOX_URL and other_db.smtp_port == 25
    write_state(tmp_path, _state(_dead_pid()))
    assert following_demo(_settings(tmp_path)).meraki_base_url == DEFAULT_SANDBOX_URL


@pytest.fixture
def demo_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DemoState]:
    """A real `netkeep demo` on free ports, in its own directory, the CLI's environment clean."""
    for name in list(os.environ):
        if name.startswith("NETKEEP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    netkeep = Path(sys.executable).parent / "netkeep"
    process = subprocess.Popen(
        [str(netkeep), "demo", "--sandbox-port", "0", "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={k: v for k, v in os.environ.items() if not k.startswith("NETKEEP_")},
    )
    try:
        deadline = time.monotonic() + 60
        state = None
        while state is None:
            assert process.poll() is None, "the demo stopped before it was ready"
            assert time.monotonic() < deadline, "the demo did not write var/demo.json"
            time.sleep(0.2)
            state = live_state(tmp_path / "var")
        while True:  # the API is served once uvicorn has bound its port
            try:
                httpx.get(f"{state.api_url}/healthz", timeout=1).raise_for_status()
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the demo's API never answered"
                time.sleep(0.2)
        yield state
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        get_settings.cache_clear()


def test_the_cli_reaches_a_demo_on_other_ports_and_forgets_it_when_it_stops(
    demo_process: DemoState, tmp_path: Path
) -> None:
    state = demo_process
    assert state.sandbox_url is not None and not state.sandbox_url.startswith(
        "http://127.0.0.1:8787/"
    )
    assert not state.api_url.endswith(":8000")
    assert state.database_url == "sqlite:///var/netkeep.db"
    result = CliRunner().invoke(app, ["vpn", "check", "N_demo_tokyo", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["eligible"] is True  # read from the demo's sandbox
    os.kill(_pid_of(tmp_path), signal.SIGINT)
    deadline = time.monotonic() + 20
    while (tmp_path / "var" / "demo.json").exists():
        assert time.monotonic() < deadline, "var/demo.json outlived the demo"
        time.sleep(0.2)
    get_settings.cache_clear()
    assert following_demo(get_settings()).meraki_base_url == DEFAULT_SANDBOX_URL


def _pid_of(tmp_path: Path) -> int:
    return int(json.loads((tmp_path / "var" / "demo.json").read_text(encoding="utf-8"))["pid"])
