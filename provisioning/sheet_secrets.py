"""Sheet secrets: a PSK or RADIUS secret written in the sheet, held by netkeep, or (local) in env.

Where a secret may come from depends on where the sheet came from, given in the validation
context: ``allow_env`` (only a sheet a local operator runs from the CLI may read the
environment; a sheet sent over the network gets a refusal that says nothing about the server's
variables) and ``named_secret`` (``secret:NAME``: the sheet's customer's secret held by netkeep).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, Final

from pydantic import (
    BaseModel,
    ConfigDict,
    SecretStr,
    SerializationInfo,
    ValidationInfo,
    model_serializer,
    model_validator,
)

ENV_PREFIX: Final = "env:"
SECRET_PREFIX: Final = "secret:"
MASK: Final = "********"
ENV_REFUSED: Final = (
    "env: references are read only from sheets run locally with the CLI; in a sheet sent over "
    "the network write the secret itself or name a secret netkeep holds (secret:NAME, "
    "`netkeep secret set`)"
)

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SECRET_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
NamedSecretFinder = Callable[[str], str | None]
"""A secret name → its clear value for the sheet's customer, or None when not held."""


def _reference(data: Any) -> tuple[str, Any] | None:
    """(kind, name) of an ``env:``/``secret:`` reference, as text or a one-key mapping."""
    if isinstance(data, str):
        for kind, prefix in (("env", ENV_PREFIX), ("secret", SECRET_PREFIX)):
            if data.startswith(prefix):
                return kind, data.removeprefix(prefix).strip()
        return None
    if isinstance(data, dict) and len(data) == 1 and set(data) <= {"env", "secret"}:
        kind = next(iter(data))
        return kind, data[kind]
    return None


def _from_env(name: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    if not context.get("allow_env", True):
        raise ValueError(ENV_REFUSED)
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise ValueError(f"names {name!r}, which is not an environment variable name")
    given: Mapping[str, str] | None = context.get("environ")
    environ = os.environ if given is None else given
    if name not in environ:
        raise ValueError(f"refers to environment variable {name}, which is not set")
    return {"value": environ[name], "env": name}


def _from_store(name: Any, context: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(name, str) or not _SECRET_NAME.match(name):
        raise ValueError(f"names {name!r}, which is not a secret name (A-Z a-z 0-9 _ . -)")
    finder: NamedSecretFinder | None = context.get("named_secret")
    customer = context.get("customer")
    if finder is None:
        raise ValueError(f"secret:{name} cannot be read here (netkeep's secret store is not open)")
    if not customer:
        raise ValueError(f"secret:{name} needs site.customer (or request.customer): whose secret?")
    value = finder(name)
    if value is None:
        raise ValueError(f"netkeep holds no secret {name!r} for customer {customer!r}")
    return {"value": value, "secret": name}


class SheetSecret(BaseModel):
    """A PSK or RADIUS secret: written in the sheet, or resolved at load time from a reference."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: SecretStr
    env: str | None = None
    secret: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any, info: ValidationInfo) -> Any:
        """Turn ``env:NAME`` / ``secret:NAME`` into the value, or fail at this key."""
        if isinstance(data, SheetSecret):
            return data
        if isinstance(data, SecretStr):
            data = data.get_secret_value()
        context = info.context if isinstance(info.context, dict) else {}
        reference = _reference(data)
        if reference is not None:
            kind, name = reference
            return _from_env(name, context) if kind == "env" else _from_store(name, context)
        if isinstance(data, str):
            if data == MASK:
                raise ValueError(f"is masked ({MASK}); write the secret or a secret:NAME")
            return {"value": data}
        if isinstance(data, dict) and "value" in data and set(data) <= {"value", "env", "secret"}:
            return data
        raise ValueError("must be a string, secret:NAME or env:NAME")

    @model_serializer(mode="plain")
    def _masked(self, info: SerializationInfo) -> str:
        """Dumps never carry the secret unless the caller asks for the sheet text back."""
        if self.env:
            return f"{ENV_PREFIX}{self.env}"
        if self.secret:
            return f"{SECRET_PREFIX}{self.secret}"
        context = info.context if isinstance(info.context, dict) else {}
        return self.reveal() if context.get("reveal_secrets") else MASK

    def reveal(self) -> str:
        """The secret itself, for the adapter that sends it to the dashboard."""
        return self.value.get_secret_value()


def secret_fingerprint(value: SheetSecret | SecretStr | str, key: bytes) -> str:
    """A keyed short hash, so a diff tells changed from unchanged without holding the secret."""
    if isinstance(value, SheetSecret):
        text = value.reveal()
    elif isinstance(value, SecretStr):
        text = value.get_secret_value()
    else:
        text = value
    digest = hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"hmac-sha256:{digest[:16]}"
