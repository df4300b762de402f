"""The per-installation key and private files: nothing secret is readable by other local users.

The key is 32 random bytes generated at first start into a file of mode 0600 (in a 0700
directory), or given by the environment in production (`NETKEEP_INSTALLATION_KEY`). It is never
in the repository nor in the database. Two keys are derived from it: one encrypts netkeep's
named secrets (Fernet), the other fingerprints secrets (HMAC-SHA256).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import ValidationFailed

if TYPE_CHECKING:
    from cryptography.fernet import Fernet

    from core.settings import Settings

KEY_BYTES = 32
FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path, *, narrow: bool = False) -> Path:
    """Create `path` (and parents) as 0700; with `narrow`, an existing one is narrowed to 0700."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    if narrow:
        with contextlib.suppress(PermissionError):
            if path.stat().st_mode & 0o777 != DIR_MODE:
                path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make sure `path` exists with mode 0600 (created empty if absent, narrowed if wider)."""
    private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE)
    os.close(fd)
    with contextlib.suppress(PermissionError):
        if path.stat().st_mode & 0o777 != FILE_MODE:
            path.chmod(FILE_MODE)
    return path


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` atomically with `data`, never readable by others even for a moment."""
    private_dir(path.parent)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _decode(text: str, where: str) -> bytes:
    try:
        material = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (ValueError, UnicodeEncodeError):
        material = b""
    if len(material) != KEY_BYTES:
        raise ValidationFailed(
            [], f"{where} is not a netkeep installation key (32 bytes, URL-safe base64)"
        )
    return material


def new_key_text() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")


def load_or_create_key(path: Path) -> bytes:
    """The key in `path`, generated there (0600) the first time.

    The new key is written to a private temporary file and linked into place, so a process
    starting at the same moment reads either no file or the whole key, never half of it.
    """
    private_dir(path.parent)
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        fd = os.open(temporary, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write(new_key_text() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)  # atomic; another process's key wins if it was first
        finally:
            temporary.unlink()
    with contextlib.suppress(PermissionError):
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
    return _decode(path.read_text(encoding="ascii"), str(path))


@dataclass(frozen=True, slots=True)
class InstallationKey:
    """The installation's key material and the keys derived from it."""

    material: bytes

    def _derive(self, purpose: bytes) -> bytes:
        return hmac.new(self.material, purpose, hashlib.sha256).digest()

    @property
    def fingerprint_key(self) -> bytes:
        """HMAC key of secret fingerprints (plans, journals, the record of what netkeep set)."""
        return self._derive(b"netkeep/secret-fingerprint/v1")

    def fernet(self) -> Fernet:
        """The cipher of named secrets at rest."""
        from cryptography.fernet import Fernet

        return Fernet(base64.urlsafe_b64encode(self._derive(b"netkeep/named-secrets/v1")))

    def job_fernet(self) -> Fernet:
        """The cipher of what a background job carries (uploaded sheets) in the job queue."""
        from cryptography.fernet import Fernet

        return Fernet(base64.urlsafe_b64encode(self._derive(b"netkeep/job-payload/v1")))

    @classmethod
    def from_text(cls, text: str, where: str = "the installation key") -> InstallationKey:
        return cls(_decode(text, where))

    @classmethod
    def from_file(cls, path: Path) -> InstallationKey:
        return cls(load_or_create_key(path))


def installation_key(settings: Settings) -> InstallationKey:
    """The configured key (production), else the key file's, generated at first start."""
    if settings.installation_key is not None:
        return InstallationKey.from_text(
            settings.installation_key.get_secret_value(), "NETKEEP_INSTALLATION_KEY"
        )
    private_dir(settings.var_dir, narrow=True)
    return InstallationKey.from_file(settings.key_path)
