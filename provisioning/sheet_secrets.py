"""Sheet secrets: a PSK or RADIUS secret written in the sheet or read from the environment."""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Mapping
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
MASK: Final = "********"

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class SheetSecret(BaseModel):
    """A PSK or RADIUS secret: written in the sheet or read from the environment at load time."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: SecretStr
    env: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _resolve(cls, data: Any, info: ValidationInfo) -> Any:
        """Turn ``env:NAME`` / ``{"env": NAME}`` into the variable's value, or fail at this key."""
        if isinstance(data, SheetSecret):
            return data
        if isinstance(data, SecretStr):
            data = data.get_secret_value()
        env_name: object = None
        if isinstance(data, str):
            if not data.startswith(ENV_PREFIX):
                if data == MASK:
                    raise ValueError(f"is masked ({MASK}); write the secret or an env: reference")
                return {"value": data}
            env_name = data.removeprefix(ENV_PREFIX).strip()
        elif isinstance(data, dict) and set(data) == {"env"}:
            env_name = data["env"]
        elif isinstance(data, dict) and "value" in data and set(data) <= {"value", "env"}:
            return data
        else:
            raise ValueError("must be a string or a mapping {env: VARIABLE_NAME}")
        if not isinstance(env_name, str) or not _ENV_NAME.match(env_name):
            raise ValueError(f"names {env_name!r}, which is not an environment variable name")
        context = info.context if isinstance(info.context, dict) else {}
        environ: Mapping[str, str] = context.get("environ", os.environ)
        if env_name not in environ:
            raise ValueError(f"refers to environment variable {env_name}, which is not set")
        return {"value": environ[env_name], "env": env_name}

    @model_serializer(mode="plain")
    def _masked(self, info: SerializationInfo) -> str:
        """Dumps never carry the secret unless the caller asks for the sheet text back."""
        if self.env:
            return f"{ENV_PREFIX}{self.env}"
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
