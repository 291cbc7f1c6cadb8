"""Every configuration knob of Storyloom, with a safe default, in one place."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.crypto import DEV_SECRETS_ENCRYPTION_KEYS, Keyring, KeyringError

ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "storyloom-development-secret-change-me-0123456789"
# The only environments that may run on a secret shipped in this file.
ENVS_WITH_DEVELOPMENT_SECRETS = ("development", "test")
# Defaults of secret settings that hold no secret (OIDC_PROVIDERS "{}": no providers at all).
_NOTHING_SECRET = ("", "{}")


class Settings(BaseSettings):
    """Read from the environment (and an optional `.env`); nothing else reads os.environ."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore", populate_by_name=True)

    env: Literal["development", "test", "production"] = Field("development", alias="STORYLOOM_ENV")
    database_url: str = Field(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/storyloom", alias="DATABASE_URL"
    )
    database_replica_urls: str = Field("", alias="DATABASE_REPLICA_URLS")
    replica_max_lag_seconds: float = Field(5.0, alias="REPLICA_MAX_LAG_SECONDS", gt=0)
    replica_health_interval_seconds: float = Field(
        1.0, alias="REPLICA_HEALTH_INTERVAL_SECONDS", gt=0
    )
    replica_timeout_seconds: float = Field(1.0, alias="REPLICA_TIMEOUT_SECONDS", gt=0)
    replica_lsn_cache_seconds: float = Field(0.1, alias="REPLICA_LSN_CACHE_SECONDS", ge=0)
    read_your_writes_ttl_seconds: int = Field(30, alias="READ_YOUR_WRITES_TTL_SECONDS", ge=1)
    db_pool_size: int = Field(20, alias="DB_POOL_SIZE", ge=1)
    db_max_overflow: int = Field(0, alias="DB_MAX_OVERFLOW", ge=0)
    # The polled reads' asyncpg pool per database (infra.driver_pool), beside DB_POOL_SIZE's:
    # opened as reads need connections, up to this many.
    db_read_pool_size: int = Field(10, alias="DB_READ_POOL_SIZE", ge=1)
    redis_url: str = Field("redis://127.0.0.1:6379/0", alias="REDIS_URL")
    queue_name: str = Field("storyloom:queue", alias="QUEUE_NAME")
    # Job event streams (GET /v1/jobs/{id}/events): an SSE comment after this much silence keeps
    # proxies from closing the stream; the LISTEN connection is re-opened after this delay.
    sse_heartbeat_seconds: float = Field(15.0, alias="SSE_HEARTBEAT_SECONDS", gt=0)
    sse_max_seconds: float = Field(3600.0, alias="SSE_MAX_SECONDS", gt=0)
    job_feed_reconnect_seconds: float = Field(0.5, alias="JOB_FEED_RECONNECT_SECONDS", gt=0)

    port: int = Field(8000, alias="PORT")
    public_base_url: str = Field("", alias="PUBLIC_BASE_URL")
    max_body_bytes: int = Field(1_048_576, alias="MAX_BODY_BYTES", ge=1024)

    jwt_secret: SecretStr = Field(SecretStr(DEV_JWT_SECRET), alias="JWT_SECRET")
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = Field("HS256", alias="JWT_ALGORITHM")
    jwt_issuer: str = Field("storyloom", alias="JWT_ISSUER")
    access_token_ttl_seconds: int = Field(900, alias="ACCESS_TOKEN_TTL_SECONDS", ge=30)
    refresh_token_ttl_seconds: int = Field(30 * 24 * 3600, alias="REFRESH_TOKEN_TTL_SECONDS", ge=60)

    # Failed sign-ins allowed per window; an address is generous because offices share one.
    login_failures_per_account: int = Field(10, alias="LOGIN_FAILURES_PER_ACCOUNT", ge=1)
    login_failures_per_address: int = Field(200, alias="LOGIN_FAILURES_PER_ADDRESS", ge=1)
    login_failure_window_seconds: int = Field(900, alias="LOGIN_FAILURE_WINDOW_SECONDS", ge=1)

    # `kid:base64key,...`: the first key encrypts, all decrypt (docs/SECURITY.md, key rotation).
    secrets_encryption_keys: SecretStr = Field(
        SecretStr(DEV_SECRETS_ENCRYPTION_KEYS), alias="SECRETS_ENCRYPTION_KEYS"
    )

    # Mail (infra/mail.py): over SMTP when SMTP_HOST is set, else written to MAIL_OUTBOX_DIR.
    smtp_host: str | None = Field(None, alias="SMTP_HOST")
    smtp_port: int = Field(587, alias="SMTP_PORT", ge=1, le=65535)
    smtp_username: str | None = Field(None, alias="SMTP_USERNAME")
    smtp_password: SecretStr | None = Field(None, alias="SMTP_PASSWORD")
    smtp_starttls: bool = Field(True, alias="SMTP_STARTTLS")
    smtp_timeout_seconds: float = Field(10.0, alias="SMTP_TIMEOUT_SECONDS", gt=0, le=120)
    mail_from: str = Field("Storyloom <no-reply@storyloom.local>", alias="MAIL_FROM")
    mail_outbox_dir: Path = Field(ROOT / ".run" / "outbox", alias="MAIL_OUTBOX_DIR")
    verify_email_token_ttl_seconds: int = Field(
        48 * 3600, alias="VERIFY_EMAIL_TOKEN_TTL_SECONDS", ge=60
    )
    password_reset_token_ttl_seconds: int = Field(
        3600, alias="PASSWORD_RESET_TOKEN_TTL_SECONDS", ge=60, le=24 * 3600
    )
    # Reset mails asked for per window: per address asked about, and per client.
    password_resets_per_account: int = Field(3, alias="PASSWORD_RESETS_PER_ACCOUNT", ge=1)
    password_resets_per_address: int = Field(30, alias="PASSWORD_RESETS_PER_ADDRESS", ge=1)
    password_reset_window_seconds: int = Field(3600, alias="PASSWORD_RESET_WINDOW_SECONDS", ge=1)
    # OpenID Connect providers, a JSON object: {"name": {"issuer": ..., "client_id": ...,
    # "client_secret": ..., "discovery_url"?: ..., "scope"?: ...}}; none by default.
    oidc_providers: SecretStr = Field(SecretStr("{}"), alias="OIDC_PROVIDERS")

    admin_email: str | None = Field(None, alias="STORYLOOM_ADMIN_EMAIL")
    admin_password: SecretStr | None = Field(None, alias="STORYLOOM_ADMIN_PASSWORD")
    admin_username: str = Field("admin", alias="STORYLOOM_ADMIN_USERNAME")

    media_dir: Path = Field(ROOT / ".run" / "media", alias="MEDIA_DIR")
    s3_bucket: str | None = Field(None, alias="S3_BUCKET")
    s3_endpoint_url: str | None = Field(None, alias="S3_ENDPOINT_URL")
    # S3: put the bucket's CORS rules (MEDIA_CORS_ORIGINS) at start-up; off when we don't own it.
    s3_manage_cors: bool = Field(True, alias="S3_MANAGE_CORS")
    # Media URLs: signed for this long when made (S3 without a public base URL).
    media_url_seconds: int = Field(3600, alias="MEDIA_URL_SECONDS", ge=60, le=7 * 24 * 3600)
    # A public bucket or CDN in front of it: permanent URLs under this base instead of signatures.
    media_public_base_url: str | None = Field(None, alias="MEDIA_PUBLIC_BASE_URL")
    # Objects nothing references are removed once untouched for this long.
    media_orphan_grace_seconds: int = Field(
        24 * 3600, alias="MEDIA_ORPHAN_GRACE_SECONDS", ge=0, le=90 * 24 * 3600
    )
    # Origins a browser may fetch media and playlists from ("*": any; the content is public
    # and no credentials are sent with it), comma-separated.
    media_cors_origins: str = Field("*", alias="MEDIA_CORS_ORIGINS")

    openai_api_key: SecretStr | None = Field(None, alias="OPENAI_API_KEY")
    openai_base_url: str | None = Field(None, alias="OPENAI_BASE_URL")
    openai_timeout_seconds: float = Field(60.0, alias="OPENAI_TIMEOUT_SECONDS", gt=0)
    openai_script_model: str = Field("gpt-4.1-mini", alias="OPENAI_SCRIPT_MODEL")
    openai_script_max_tokens: int = Field(4096, alias="OPENAI_SCRIPT_MAX_TOKENS", ge=256)
    # The second opinion on unsure continuity findings; unset, the script model answers.
    openai_continuity_model: str | None = Field(None, alias="OPENAI_CONTINUITY_MODEL")
    openai_video_model: str = Field("sora-2", alias="OPENAI_VIDEO_MODEL")
    openai_video_size: str = Field("1280x720", alias="OPENAI_VIDEO_SIZE")
    openai_video_seconds: str = Field("4,8,12", alias="OPENAI_VIDEO_SECONDS")
    openai_video_poll_seconds: float = Field(5.0, alias="OPENAI_VIDEO_POLL_SECONDS", gt=0)
    openai_video_max_wait_seconds: float = Field(
        1800.0, alias="OPENAI_VIDEO_MAX_WAIT_SECONDS", gt=0
    )
    openai_speech_model: str = Field("gpt-4o-mini-tts", alias="OPENAI_SPEECH_MODEL")
    openai_moderation_model: str = Field("omni-moderation-latest", alias="OPENAI_MODERATION_MODEL")
    openai_moderation_severe_score: float = Field(
        0.9, alias="OPENAI_MODERATION_SEVERE_SCORE", gt=0, le=1
    )

    max_jobs_in_flight: int = Field(3, alias="MAX_JOBS_IN_FLIGHT", ge=1)
    job_max_retries: int = Field(3, alias="JOB_MAX_RETRIES", ge=0, le=10)
    # Provider cost units one user may spend per UTC day (a script is 1, a video 1 per second
    # rendered); 0 turns the budget off.
    # Where pg_dump and pg_restore live when the ones on PATH are not the server's major version.
    pg_bin_dir: Path | None = Field(None, alias="PG_BIN_DIR")
    provider_daily_budget_units: int = Field(1000, alias="PROVIDER_DAILY_BUDGET_UNITS", ge=0)
    job_stuck_after_seconds: int = Field(120, alias="JOB_STUCK_AFTER_SECONDS", ge=1)
    # How often recovery looks for jobs to take over (worker/recovery.py): lapsed leases are
    # taken over at its next look, so a dead run costs JOB_LEASE_SECONDS plus this at most.
    recovery_every_seconds: int = Field(2, alias="RECOVERY_EVERY_SECONDS", ge=1, le=60)
    # A job's run renews its lease every JOB_LEASE_RENEW_SECONDS; one not renewed for
    # JOB_LEASE_SECONDS is a dead run's and its job is taken over.
    job_lease_seconds: float = Field(7.0, alias="JOB_LEASE_SECONDS", ge=2, le=300)
    job_lease_renew_seconds: float = Field(2.0, alias="JOB_LEASE_RENEW_SECONDS", gt=0, le=100)
    job_timeout_seconds: int = Field(1800, alias="JOB_TIMEOUT_SECONDS", ge=10)
    worker_max_jobs: int = Field(8, alias="WORKER_MAX_JOBS", ge=1)
    worker_poll_delay: float = Field(0.5, alias="WORKER_POLL_DELAY", gt=0, le=5)
    context_recent_segments: int = Field(3, alias="CONTEXT_RECENT_SEGMENTS", ge=0, le=20)
    summary_threshold: int = Field(20, alias="SUMMARY_THRESHOLD", ge=2)
    video_width: int = Field(1280, alias="VIDEO_WIDTH", ge=64, le=3840)
    video_height: int = Field(720, alias="VIDEO_HEIGHT", ge=64, le=2160)
    video_fps: int = Field(24, alias="VIDEO_FPS", ge=1, le=60)
    # ultrafast keeps the built-in renderer well past 3x real time on two cores (README).
    video_x264_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast"] = Field(
        "ultrafast", alias="VIDEO_X264_PRESET"
    )
    # Captions ship as WebVTT either way; burning them into the picture is opt-in.
    burn_in_captions: bool = Field(False, alias="BURN_IN_CAPTIONS")
    # The language the captions are written in, named in the master playlist's subtitles
    # rendition (a BCP 47 tag, and the name a player lists it by).
    captions_language: str = Field(
        "en", alias="CAPTIONS_LANGUAGE", pattern=r"^[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8})*$"
    )
    captions_language_name: str = Field(
        "English", alias="CAPTIONS_LANGUAGE_NAME", min_length=1, max_length=60, pattern=r'^[^"\n]+$'
    )
    # 0.5 puts the chord some 18 dB under the voices before ducking (about -36 dBFS).
    score_volume: float = Field(0.5, alias="SCORE_VOLUME", ge=0, le=1)
    # Bible portraits and style frames under this URL are read from this directory; other
    # http(s) URLs are fetched with the ASSET_FETCH_* limits below (infra/compose/assets.py).
    reference_assets_base_url: str = Field("", alias="REFERENCE_ASSETS_BASE_URL")
    reference_assets_dir: Path | None = Field(None, alias="REFERENCE_ASSETS_DIR")
    # Empty: imageio-ffmpeg's bundled static build (fast to start), else `ffmpeg` on PATH.
    ffmpeg_binary: str = Field("", alias="FFMPEG_BINARY")
    work_dir: Path = Field(ROOT / ".run" / "work", alias="WORK_DIR")
    # The built web app (`make web` / `npm run build` in web/); served at / when present.
    web_dist_dir: Path = Field(ROOT / "web" / "dist", alias="WEB_DIST_DIR")
    # Reference assets (a bible's portrait, voice anchor and style frame URLs), fetched by the
    # renderers into the job's directory: the video provider's input_reference, the built-in
    # renderer's portraits and style frames, the voice anchors. Over http(s) only, from public
    # addresses only; ASSET_FETCH_ALLOWED_NETWORKS (CIDRs) exempts networks from that rule, for
    # tests and trusted internal asset servers.
    asset_fetch_max_bytes: int = Field(20 * 1024 * 1024, alias="ASSET_FETCH_MAX_BYTES", ge=1024)
    asset_fetch_timeout_seconds: float = Field(
        15.0, alias="ASSET_FETCH_TIMEOUT_SECONDS", gt=0, le=300
    )
    asset_fetch_max_redirects: int = Field(3, alias="ASSET_FETCH_MAX_REDIRECTS", ge=0, le=10)
    asset_fetch_allowed_networks: str = Field("", alias="ASSET_FETCH_ALLOWED_NETWORKS")
    moderation_terms: str = Field("", alias="MODERATION_TERMS")
    partition_months_ahead: int = Field(3, alias="PARTITION_MONTHS_AHEAD", ge=1, le=24)
    archive_jobs_after_months: int = Field(6, alias="ARCHIVE_JOBS_AFTER_MONTHS", ge=1, le=120)
    # Trending (domain/engagement/trending.py): recent window against the baseline, hourly.
    trending_recent_hours: int = Field(24, alias="TRENDING_RECENT_HOURS", ge=1, le=72)
    trending_baseline_days: int = Field(7, alias="TRENDING_BASELINE_DAYS", ge=4, le=60)
    trending_half_life_hours: float = Field(6.0, alias="TRENDING_HALF_LIFE_HOURS", gt=0, le=168)
    trending_prior: float = Field(20.0, alias="TRENDING_PRIOR", gt=0)
    # Hours the stats cron recounts each run, for rows committed after their hour was counted.
    engagement_rollup_hours: int = Field(3, alias="ENGAGEMENT_ROLLUP_HOURS", ge=1, le=48)
    # Whole-scene exports (domain/scene_exports): the Retry-After of a 202 while one is made;
    # a build still "building" after the timeout is taken as dead (worker killed) and started
    # again; a failed one is retried on a request after the back-off, doubled per failure
    # (at most an hour).
    scene_export_poll_seconds: int = Field(3, alias="SCENE_EXPORT_POLL_SECONDS", ge=1, le=60)
    scene_export_build_timeout_seconds: int = Field(
        600, alias="SCENE_EXPORT_BUILD_TIMEOUT_SECONDS", ge=10
    )
    scene_export_retry_seconds: int = Field(30, alias="SCENE_EXPORT_RETRY_SECONDS", ge=1, le=3600)
    # Deleted scenes and ideas: a moderator may restore them this many days; then the purge
    # cron deletes a scene for good, with its segments, exports and media references.
    deleted_retention_days: int = Field(30, alias="DELETED_RETENTION_DAYS", ge=1, le=3650)
    # The daily retention cron deletes rows older than these many days (0 keeps them for ever).
    # The ledger keeps each day's budget and a crashed job's paid answers well within 180 days;
    # a delivery is retried for a day, so a month of the delivery log is history only.
    system_events_retention_days: int = Field(
        365, alias="SYSTEM_EVENTS_RETENTION_DAYS", ge=0, le=3650
    )
    provider_calls_retention_days: int = Field(
        180, alias="PROVIDER_CALLS_RETENTION_DAYS", ge=0, le=3650
    )
    notifications_retention_days: int = Field(
        180, alias="NOTIFICATIONS_RETENTION_DAYS", ge=0, le=3650
    )
    webhook_deliveries_retention_days: int = Field(
        30, alias="WEBHOOK_DELIVERIES_RETENTION_DAYS", ge=0, le=3650
    )
    log_level: str = Field("INFO", alias="LOG_LEVEL")
    log_json: bool = Field(True, alias="LOG_JSON")
    # A bearer token for the Prometheus scraper on GET /metrics; unset: only admins may scrape.
    metrics_token: SecretStr | None = Field(None, alias="METRICS_TOKEN", min_length=16)

    @field_validator("asset_fetch_allowed_networks")
    @classmethod
    def _networks(cls, value: str) -> str:
        # A typo must stop the start, not surface at the first fetch.
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip())
        return value

    # Webhooks (Standard Webhooks). Private, loopback and link-local targets are refused
    # unless this is set (tests, a receiver on the same host in development).
    webhook_allow_private_targets: bool = Field(False, alias="WEBHOOK_ALLOW_PRIVATE_TARGETS")
    webhook_timeout_seconds: float = Field(10.0, alias="WEBHOOK_TIMEOUT_SECONDS", gt=0, le=60)
    webhook_max_response_bytes: int = Field(
        64 * 1024, alias="WEBHOOK_MAX_RESPONSE_BYTES", ge=1024, le=10 * 1024 * 1024
    )
    # Retries back off exponentially from the base, capped, and stop after the window.
    webhook_retry_base_seconds: float = Field(5.0, alias="WEBHOOK_RETRY_BASE_SECONDS", gt=0)
    webhook_retry_max_interval_seconds: float = Field(
        2 * 3600.0, alias="WEBHOOK_RETRY_MAX_INTERVAL_SECONDS", gt=0
    )
    webhook_retry_window_seconds: float = Field(
        24 * 3600.0, alias="WEBHOOK_RETRY_WINDOW_SECONDS", gt=0
    )
    # An endpoint failing without a single success this long is disabled and its owner told.
    webhook_disable_after_seconds: float = Field(
        3 * 24 * 3600.0, alias="WEBHOOK_DISABLE_AFTER_SECONDS", gt=0
    )
    webhook_max_endpoints_per_user: int = Field(
        10, alias="WEBHOOK_MAX_ENDPOINTS_PER_USER", ge=1, le=1000
    )
    # The cron sweep that sends whatever is due when a queue entry was lost.
    webhook_sweep_every_seconds: int = Field(15, alias="WEBHOOK_SWEEP_EVERY_SECONDS", ge=1, le=60)
    webhook_concurrency: int = Field(8, alias="WEBHOOK_CONCURRENCY", ge=1, le=100)

    @classmethod
    def development_secrets(cls) -> dict[str, str]:
        """Every secret setting that ships with a value, by field name: its variable's name.

        Found from the fields themselves, so a secret added later with a default is refused
        outside development and test without anyone remembering to list it.
        """
        shipped = {}
        for name, field in cls.model_fields.items():
            default = field.default
            if isinstance(default, SecretStr) and default.get_secret_value() not in _NOTHING_SECRET:
                shipped[name] = field.alias or name.upper()
        return shipped

    @model_validator(mode="after")
    def _refuse_development_secrets(self) -> Settings:
        if self.env not in ENVS_WITH_DEVELOPMENT_SECRETS:
            for name, variable in self.development_secrets().items():
                value: SecretStr = getattr(self, name)
                shipped: SecretStr = type(self).model_fields[name].default
                if value.get_secret_value() == shipped.get_secret_value():
                    raise ValueError(f"{variable} must be set outside development and test")
        if len(self.jwt_secret.get_secret_value()) < 32:
            raise ValueError("JWT_SECRET must be at least 32 characters")
        keys = self.secrets_encryption_keys.get_secret_value()
        try:
            Keyring.parse(keys)
        except KeyringError as exc:
            raise ValueError(f"SECRETS_ENCRYPTION_KEYS: {exc}") from None
        return self

    @property
    def openai_key(self) -> str | None:
        """OPENAI_API_KEY, None when unset or empty: OpenAI's providers serve only with one."""
        key = self.openai_api_key
        return (key.get_secret_value() or None) if key is not None else None

    @property
    def links_base_url(self) -> str:
        """The public origin put in mailed links and OpenID redirects."""
        return self.public_base_url.rstrip("/") or f"http://localhost:{self.port}"

    @property
    def cors_origins(self) -> list[str]:
        return [o.strip() for o in self.media_cors_origins.split(",") if o.strip()]

    @property
    def replica_urls(self) -> list[str]:
        return [u.strip() for u in self.database_replica_urls.split(",") if u.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
