"""The per-installation key: generated once, private, never the same on two installations."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from core.db import make_engine
from core.errors import ValidationFailed
from core.keys import InstallationKey, installation_key, new_key_text
from core.settings import Settings


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(var_dir=tmp_path / "var", _env_file=None, **extra)  # type: ignore[arg-type]


def test_first_start_generates_a_private_key_that_is_kept(tmp_path: Path) -> None:
    first = installation_key(_settings(tmp_path))
    key_file = tmp_path / "var" / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert installation_key(_settings(tmp_path)) == first
    assert installation_key(_settings(tmp_path / "other")) != first


def test_an_existing_wider_var_dir_and_key_file_are_narrowed(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    (var / "secret.key").write_text(new_key_text())
    (var / "secret.key").chmod(0o644)
    installation_key(_settings(tmp_path))
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    assert stat.S_IMODE((var / "secret.key").stat().st_mode) == 0o600


def test_the_environment_key_wins_and_a_bad_one_is_refused(tmp_path: Path) -> None:
    text_key = new_key_text()
    given = installation_key(_settings(tmp_path, installation_key=text_key))
    assert given == InstallationKey.from_text(text_key)
    assert not (tmp_path / "var" / "secret.key").exists()
    with pytest.raises(ValidationFailed):
        installation_key(_settings(tmp_path, installation_key="too-short"))


def test_derived_keys_differ_and_the_cipher_round_trips(tmp_path: Path) -> None:
    key = installation_key(_settings(tmp_path))
    assert key.fingerprint_key != key.material
    token = key.fernet().encrypt(b"psk-value")
    assert b"psk-value" not in token
    assert key.fernet().decrypt(token) == b"psk-value"


def test_the_sqlite_database_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "netkeep.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
    for name in ("netkeep.db", "netkeep.db-wal", "netkeep.db-shm"):
        if (path.parent / name).exists():
            assert stat.S_IMODE((path.parent / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    engine.dispose()


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    settings = _settings(tmp_path)
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: installation_key(settings), range(32)))
    assert len(keys) == 1
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["secret.key"]
