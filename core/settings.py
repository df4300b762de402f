"""Settings from the environment (NETKEEP_ prefix) and .env; nothing is built at import time."""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.calendar import BusinessCalendar, parse_year_end_days

DEFAULT_SANDBOX_URL = "http://127.0.0.1:8787/api/v1"
DEFAULT_SANDBOX_KEY = "sandbox-api-key"
MIB = 1024 * 1024


class Settings(BaseSettings):
    """Everything netkeep reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="NETKEEP_", env_file=".env", extra="ignore")

    database_url: str = Field(
        default="sqlite:///var/netkeep.db",
        description="SQLAlchemy URL; SQLite file under ./var by default, or postgresql+psycopg://...",
    )
    meraki_api_key: SecretStr = SecretStr(DEFAULT_SANDBOX_KEY)
    meraki_base_url: str = DEFAULT_SANDBOX_URL
    meraki_org_id: str = "537758"
    meraki_max_retries: int = 4
    year_end_days: str = Field(
        default="12-29..01-03", description="provider's closed days MM-DD..MM-DD"
    )
    extra_closed_days: list[str] = Field(default_factory=list, description="ISO dates")
    due_date_shift: bool = True
    tax_rate_percent: int = 10
    rma_reminder_days: list[int] = Field(
        default_factory=lambda: [7, 3, 1], description="RMA reminders, days before the due date"
    )
    rma_late_arrival_policy: str = Field(
        default="keep", description="a failed unit arriving after its damage charge: keep|credit"
    )
    provisioning_rate_per_org: float = Field(
        default=8.0,
        description="requests/s per organization all netkeep processes together allow "
        "themselves (the dashboard's limit is 10; the rest is left to other tools)",
    )
    redis_url: str | None = Field(
        default=None,
        description="redis://host:6379/0: the dashboard budget lives there (else in "
        "PostgreSQL, or in-process on SQLite)",
    )
    provisioning_max_retries: int = Field(
        default=10,
        description="SDK retries of a 4xx 'busy' answer (batch or network delete running)",
    )
    dashboard_patience_seconds: float = Field(
        default=300.0,
        description="how long one dashboard call waits out 429s (Retry-After), 5xx and dropped "
        "connections before it fails; a refused connection fails at once",
    )
    provisioning_batch_poll_seconds: float = Field(
        default=0.5, description="first wait before an action batch's status is read again"
    )
    provisioning_batch_poll_backoff: float = Field(
        default=1.5, description="each further wait for an action batch is this many times longer"
    )
    provisioning_batch_poll_max_seconds: float = Field(
        default=5.0, description="the longest wait between two reads of an action batch's status"
    )
    provisioning_batch_deadline_seconds: float = Field(
        default=600.0, description="an action batch not finished after this long fails its step"
    )
    provisioning_network_settle_seconds: float = Field(
        default=300.0,
        description="how long a newly created network may answer 404 (the dashboard's eventual "
        "consistency); requests and batches about it are waited and sent again until then",
    )
    provisioning_claim_limit: int = Field(
        default=10,
        description="claim requests a rollout sends per organization within the claim window "
        "(the dashboard allows 10 in 5 minutes); 0: no limit",
    )
    provisioning_claim_window_seconds: float = Field(
        default=300.0, description="seconds the claim limit counts over (the dashboard: 300)"
    )
    provisioning_require_survey: bool = Field(
        default=True,
        description="refuse wireless settings sheets until the site's survey version is approved",
    )
    provisioning_full_verify: bool = Field(
        default=False,
        description="read every collection back after an apply, direct writes' answers included",
    )
    vpn_accept_documentation_ips: bool = Field(
        default=False,
        description="treat RFC 5737 documentation IPs (e.g. 203.0.113.0/24) as global",
    )
    vpn_status_per_page: int = Field(default=300, description="perPage for VPN/uplink statuses")
    smtp_host: str = Field(default="127.0.0.1", description="SMTP server for customer notices")
    smtp_port: int = 25
    smtp_from: str = "noc@netkeep.invalid"
    smtp_from_name: str = "netkeep NOC"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = False
    smtp_timeout: float = 10.0
    change_acceptance_days: int = Field(
        default=7, description="days after the completion notice to report a defect (seed 001)"
    )
    change_notice_address_source: str = Field(
        default="request",
        description="where a completion notice goes: 'request' = the address given on submission",
    )
    monitor_debounce_polls: int = Field(
        default=2, ge=1, description="polls a device must be seen down before it is an outage"
    )
    monitor_debounce_minutes: int = Field(
        default=0, ge=0, description="minutes a device must be down before it is an outage"
    )
    web_session_idle_minutes: int = Field(
        default=480, ge=1, description="a /ui sign-in ends after this many minutes unused"
    )
    web_session_absolute_hours: int = Field(
        default=24, ge=1, description="a /ui sign-in ends this many hours after it began"
    )
    web_sign_in_account_failures: int = Field(
        default=5, ge=1, description="failed /ui sign-ins of one account, in a window, that lock it"
    )
    web_sign_in_address_failures: int = Field(
        default=30,
        ge=1,
        description="failed /ui sign-ins from one client address, in a window, that lock it",
    )
    web_sign_in_window_minutes: int = Field(
        default=15, ge=1, description="the window in which failed /ui sign-ins are counted"
    )
    web_sign_in_lockout_minutes: int = Field(
        default=5, ge=1, description="the first lock-out; each next one (within a day) doubles"
    )
    web_sign_in_lockout_max_minutes: int = Field(
        default=240, ge=1, description="the longest lock-out a /ui sign-in can get"
    )
    monitor_org_ids: str = Field(
        default="",
        description="the other organizations netkeep manages (sheets may name them in "
        "site.organizationId) and liveness polls cover, comma-separated ids; "
        "empty: meraki_org_id alone",
    )
    monitor_change_history: bool = Field(
        default=True,
        description="poll the availabilities change history where the dashboard offers it",
    )
    monitor_webhook_secret: SecretStr | None = Field(
        default=None, description="the sharedSecret Meraki puts in each webhook (unset: refused)"
    )
    monitor_webhook_allow_without_secret: bool = Field(
        default=False, description="accept webhooks while no secret is set (a lab only)"
    )
    monitor_webhook_max_age_seconds: int = Field(
        default=300, ge=1, description="a webhook sent longer ago than this is refused (stale)"
    )
    monitor_webhook_max_bytes: int = Field(
        default=256 * 1024, ge=1024, description="largest webhook body accepted"
    )
    job_schedule: dict[str, str] = Field(
        default_factory=dict,
        description='cron lines (UTC) per job, e.g. {"doctor.check": "0 3 * * *"} (README "Jobs")',
    )
    job_heartbeat_seconds: float = Field(
        default=10.0, description="how often a worker (netkeep worker) records that it is alive"
    )
    job_stalled_after_seconds: float = Field(
        default=60.0, description="a worker silent this long is dead; its jobs run again elsewhere"
    )
    job_keep_finished_days: float = Field(
        default=7.0, description="succeeded jobs are removed from the job queue after this long"
    )
    jobs_in_process: bool = Field(
        default=False,
        description="run the periodic jobs on a thread of this API process (SQLite serve)",
    )
    token_cache_seconds: float = 30.0
    opentelemetry: bool = Field(
        default=False, description="FastAPI's native OpenTelemetry (global providers)"
    )
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    var_dir: Path = Field(default=Path("var"), description="private state (0700): key, records")
    installation_key: SecretStr | None = Field(
        default=None,
        description="32-byte URL-safe base64 key for named secrets and fingerprints (production); "
        "default: generated at first start into key_file",
    )
    key_file: Path | None = Field(default=None, description="default: var_dir/secret.key (0600)")
    secret_record_file: Path | None = Field(
        default=None,
        description="fingerprints of the secrets netkeep set (0600); default: "
        "var_dir/secret-record.json",
    )
    survey_dir: Path = Field(
        default=Path("var/survey"), description="survey layout images and issued sheet PDFs"
    )
    # What one request may cost: refused with 413/422 before any work starts.
    max_body_bytes: int = Field(
        default=10 * MIB, description="largest request body in bytes, whatever the route"
    )
    max_json_depth: int = Field(default=32, description="deepest nesting of a JSON body")
    sheet_max_bytes: int = Field(default=2 * MIB, description="an uploaded settings sheet")
    sheet_max_nodes: int = Field(
        default=100_000, description="values in an uploaded YAML sheet, aliases expanded"
    )
    import_max_bytes: int = Field(default=4 * MIB, description="an uploaded inventory/points file")
    import_max_rows: int = Field(default=20_000, description="rows of an uploaded import file")
    layout_max_bytes: int = Field(default=8 * MIB, description="an uploaded floor layout image")
    layout_max_pixels: int = Field(
        default=25_000_000, description="width × height of a floor layout (25 Mpx ≈ 6000×4000)"
    )
    render_concurrency: int = Field(
        default=2, description="coverage pictures and PDFs rendered at once in one process"
    )
    render_wait_seconds: float = Field(
        default=20.0, description="how long a render waits for a free slot before a 503"
    )
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the API answers besides localhost, 127.0.0.1, [::1] and api_host",
    )

    @property
    def key_path(self) -> Path:
        return self.key_file or self.var_dir / "secret.key"

    @property
    def secret_record_path(self) -> Path:
        return self.secret_record_file or self.var_dir / "secret-record.json"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def business_calendar(settings: Settings) -> BusinessCalendar:
    """The provider's calendar as configured (year-end days, extra closed days)."""
    return BusinessCalendar(
        year_end_days=parse_year_end_days(settings.year_end_days),
        extra_closed_days=frozenset(date.fromisoformat(d) for d in settings.extra_closed_days),
    )


def monitor_organizations(settings: Settings) -> list[str]:
    """The organizations liveness polls cover: NETKEEP_MONITOR_ORG_IDS (comma- or space-separated,
    each once, in order), else the one organization netkeep manages (`meraki_org_id`)."""
    listed = [o for o in re.split(r"[\s,]+", settings.monitor_org_ids) if o]
    return list(dict.fromkeys(listed)) or [settings.meraki_org_id]


def managed_organizations(settings: Settings) -> list[str]:
    """The organizations netkeep may provision: `meraki_org_id` first, then those of
    NETKEEP_MONITOR_ORG_IDS, each once. A sheet naming any other is refused."""
    return list(dict.fromkeys([settings.meraki_org_id, *monitor_organizations(settings)]))


def following_demo(settings: Settings) -> Settings:
    """The settings with a running demo's sandbox and mail sink where nothing explicit says else.

    Only for the demo's own database; a value from the environment or `.env` always wins.
    """
    from core.demo_state import live_state

    state = live_state(settings.var_dir)
    if state is None or state.database_url != settings.database_url:
        return settings
    explicit = settings.model_fields_set
    update: dict[str, object] = {}
    if state.sandbox_url and "meraki_base_url" not in explicit:
        update["meraki_base_url"] = state.sandbox_url
    if state.smtp_host and state.smtp_port and not {"smtp_host", "smtp_port"} & explicit:
        update.update(smtp_host=state.smtp_host, smtp_port=state.smtp_port)
    return settings.model_copy(update=update) if update else settings


@lru_cache
def get_settings() -> Settings:
    """The process's settings, read once."""
    return Settings()
