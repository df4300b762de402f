"""Fault injection: a share of 5xx, added latency, forced 429 bursts and dropped connections.

Run-wide faults come from `FaultConfig` (CLI `--faults`, admin PUT /_sandbox/faults); a single
request can force one with the header `X-Sandbox-Fault` using the same syntax, where a bare
status code ("503", "429") or "drop" applies with certainty.
"""

from __future__ import annotations

import random
import re
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

FAULT_HEADER = "x-sandbox-fault"
SERVER_ERRORS = (500, 502, 503)


class FaultKind(StrEnum):
    """What the sandbox does to a request instead of (or before) answering it."""

    NONE = "none"
    STATUS = "status"
    DROP = "drop"


@dataclass
class FaultConfig:
    """Run-wide faults; all zero means a well-behaved dashboard."""

    error_rate: float = 0.0
    error_statuses: tuple[int, ...] = SERVER_ERRORS
    latency_ms: float = 0.0
    burst_429: int = 0
    retry_after_429: float = 1.0
    """The Retry-After (seconds, fractions allowed) an injected 429 carries."""
    burst_5xx: int = 0
    drop_rate: float = 0.0
    seed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON form for the admin API."""
        data = asdict(self)
        data["error_statuses"] = list(self.error_statuses)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        """Build from the admin API's JSON (unknown keys are an error)."""
        known = set(cls.__dataclass_fields__)
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault setting(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "error_statuses" in values:
            values["error_statuses"] = tuple(int(s) for s in values["error_statuses"])
        return cls(**values)


def _latency_ms(text: str) -> float:
    found = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", text.strip())
    if not found:
        raise ValueError(f"bad latency {text!r}; use e.g. 50ms or 0.2s")
    value = float(found.group(1))
    return value * 1000 if found.group(2) == "s" else value


def _rate(text: str, key: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{key} must be a share between 0 and 1, got {text}")
    return value


def parse_faults(spec: str | None) -> FaultConfig:
    """Parse "5xx=0.1,latency=50ms,429burst=5,drop=0.01" (also 503=0.2, 5xxburst=2, seed=7,
    429after=0.05: the injected 429s' Retry-After in seconds)."""
    config = FaultConfig()
    if not spec:
        return config
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, _, value = part.partition("=")
        key = key.strip().lower()
        if key == "5xx":
            config.error_rate = _rate(value, key)
        elif key in {"500", "502", "503", "504"}:
            config.error_rate = _rate(value, key)
            config.error_statuses = (int(key),)
        elif key == "latency":
            config.latency_ms = _latency_ms(value)
        elif key == "429burst":
            config.burst_429 = int(value)
        elif key == "429after":
            config.retry_after_429 = float(value)
        elif key == "5xxburst":
            config.burst_5xx = int(value)
        elif key == "drop":
            config.drop_rate = _rate(value, key)
        elif key == "seed":
            config.seed = int(value)
        else:
            raise ValueError(
                f"unknown fault {key!r}; known: 5xx, 500/502/503/504, latency, "
                "429burst, 429after, 5xxburst, drop, seed"
            )
    return config


@dataclass(frozen=True)
class FaultDecision:
    """The fault to apply to one request."""

    kind: FaultKind = FaultKind.NONE
    status: int = 0
    delay_s: float = 0.0


@dataclass
class FaultInjector:
    """Applies a FaultConfig; a 429 burst is consumed by the next N API requests."""

    config: FaultConfig = field(default_factory=FaultConfig)
    _rng: random.Random = field(default_factory=random.Random)
    _burst_left: int = 0
    _errors_left: int = 0

    def __post_init__(self) -> None:
        self.configure(self.config)

    def configure(self, config: FaultConfig) -> None:
        """Install new faults (re-arming the 429 burst)."""
        self.config = config
        self._rng = random.Random(config.seed)
        self._burst_left = config.burst_429
        self._errors_left = config.burst_5xx

    @property
    def active(self) -> bool:
        """Whether any run-wide fault is set (lets the fast path skip the dice)."""
        c = self.config
        return bool(
            c.error_rate or c.latency_ms or self._burst_left or self._errors_left or c.drop_rate
        )

    def decide(self, header: str | None) -> FaultDecision:
        """The fault for this request: the header's forced one, else the run-wide dice."""
        if header:
            return self._forced(header)
        if not self.active:
            return FaultDecision()
        c = self.config
        delay = c.latency_ms / 1000
        if self._burst_left > 0:
            self._burst_left -= 1
            return FaultDecision(FaultKind.STATUS, 429, delay)
        if self._errors_left > 0:
            self._errors_left -= 1
            return FaultDecision(FaultKind.STATUS, c.error_statuses[-1], delay)
        if c.drop_rate and self._rng.random() < c.drop_rate:
            return FaultDecision(FaultKind.DROP, 0, delay)
        if c.error_rate and self._rng.random() < c.error_rate:
            return FaultDecision(FaultKind.STATUS, self._rng.choice(c.error_statuses), delay)
        return FaultDecision(FaultKind.NONE, 0, delay)

    def _forced(self, header: str) -> FaultDecision:
        kind, status, delay = FaultKind.NONE, 0, 0.0
        for part in filter(None, (p.strip().lower() for p in header.split(","))):
            if part.isdigit():
                kind, status = FaultKind.STATUS, int(part)
            elif part == "drop":
                kind = FaultKind.DROP
            elif part.startswith("latency="):
                delay = _latency_ms(part.partition("=")[2]) / 1000
        return FaultDecision(kind, status, delay)
