"""The service's settings: defaults, then a TOML file, then ``HEMS_*`` environment variables.

Validated once at start-up (:func:`load_settings`); a bad value stops the service with a message
naming the setting. Secrets (tokens, keys) are never settings: tokens live hashed in the
database, and key files are referred to by path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)


class SettingsError(ValueError):
    """Settings that cannot start the service; the message names each bad setting."""


class Settings(BaseSettings):
    """Service settings.

    Attributes:
        data_dir: where the SQLite database and the service's files live.
        database_url: SQLAlchemy URL; empty = SQLite ``hems.sqlite3`` under ``data_dir``.
            PostgreSQL: ``postgresql+psycopg://user@host/db``.
        api_host, api_port: where the HTTP API listens.
        slot_minutes: planning and dispatch slot [min].
        horizon_hours: planning horizon [h].
        solver_time_limit_s: HiGHS time limit per plan [s].
        ev_random_delay_max_s: upper bound of the randomised delay on EV charge starts and rate
            changes [s] (Smart Charge Points Regulations: default 600, at most 1,800).
        ev_ramp_kw_per_min, battery_ramp_kw_per_min, heat_pump_ramp_kw_per_min: how fast a
            setpoint may *raise* the device's power [kW/min], walked at each apply job; a
            lowering applies at once (see :mod:`hems.dispatch`). 0 = no limit; otherwise at
            least 0.1 kW/min, so a device reaches a few kW within a slot.
        apply_interval_s: period of the job that sends due setpoints and ramp steps [s].
        device_timeout_s: how long a device may take to answer a read or a setpoint [s].
        device_retry_max: setpoint attempts before a device is reported offline.
        drift_threshold_kw: a device this far off its planned power triggers a re-plan [kW].
        telemetry_retention_days: device telemetry older than this is deleted daily [days]
            (plans, setpoints, events and the audit log are kept until the home is deleted).
        replan_delay_s: how long a change (new preferences, an override cancelled) waits for
            others before the home re-plans [s]; DSR events and overrides re-plan at once.
        planner_processes: worker processes for the optimiser, so a plan never holds the API's
            interpreter (0 = plan in a thread of the service process, as the tests do).
        live_market: fetch prices (Octopus Agile), carbon intensity (NESO) and weather
            (Open-Meteo) for each home; otherwise the bundled sample is replayed onto today.
        agile_import_product, agile_export_product: Octopus product codes for live prices.
        vtn_url: the DSRSP's OpenADR 2.0b VTN (``.../OpenADR2/Simple/2.0b``); empty = no VEN.
        ven_cert_file, ven_key_file: the CEM's client certificate and key (PEM) for mutual TLS.
        vtn_ca_file: CA bundle the VTN's certificate must chain to.
        vtn_fingerprint: the VTN's pinned OpenADR fingerprint (needs ``vtn_ca_file`` too: the
            pin alone is not yet checked on each connection).
        demo: run the bundled demo home with simulated devices.
    """

    model_config = SettingsConfigDict(env_prefix="HEMS_", extra="forbid", validate_default=True)

    data_dir: Path = Path("var")
    database_url: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    slot_minutes: Literal[5, 15, 30, 60] = 30
    horizon_hours: int = Field(default=48, ge=1, le=168)
    solver_time_limit_s: float = Field(default=10.0, gt=0, le=300)
    ev_random_delay_max_s: int = Field(default=600, ge=0, le=1800)
    ev_ramp_kw_per_min: float = Field(default=2.0, ge=0, le=1000)
    battery_ramp_kw_per_min: float = Field(default=5.0, ge=0, le=1000)
    heat_pump_ramp_kw_per_min: float = Field(default=1.0, ge=0, le=1000)
    apply_interval_s: float = Field(default=15.0, ge=1, le=60)
    device_timeout_s: float = Field(default=5.0, gt=0, le=120)
    device_retry_max: int = Field(default=3, ge=1, le=20)
    drift_threshold_kw: float = Field(default=1.0, gt=0)
    telemetry_retention_days: int = Field(default=90, ge=1, le=3660)
    replan_delay_s: float = Field(default=1.0, ge=0, le=60)
    planner_processes: int = Field(default=1, ge=0, le=64)
    live_market: bool = False
    agile_import_product: str = Field(default="AGILE-24-10-01", pattern=r"^[A-Z0-9\-]+$")
    agile_export_product: str = Field(default="AGILE-OUTGOING-19-05-13", pattern=r"^[A-Z0-9\-]+$")
    vtn_url: str = ""
    ven_cert_file: Path | None = None
    ven_key_file: Path | None = None
    vtn_ca_file: Path | None = None
    vtn_fingerprint: str = ""
    demo: bool = False

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if url and not url.startswith(("sqlite", "postgresql")):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return url

    @field_validator("ev_ramp_kw_per_min", "battery_ramp_kw_per_min", "heat_pump_ramp_kw_per_min")
    @classmethod
    def _usable_ramp(cls, kw_per_min: float) -> float:
        if 0 < kw_per_min < 0.1:
            raise ValueError("must be 0 (no limit) or at least 0.1 kW/min")
        return kw_per_min

    @model_validator(mode="after")
    def _tls_complete(self) -> Settings:
        if self.vtn_url.startswith("https") and not (self.ven_cert_file and self.ven_key_file):
            raise ValueError("an https vtn_url needs ven_cert_file and ven_key_file (mutual TLS)")
        if self.vtn_fingerprint and not self.vtn_ca_file:
            raise ValueError("vtn_fingerprint needs vtn_ca_file (the pin alone is not enforced)")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use (SQLite under ``data_dir`` when none is given)."""
        return self.database_url or f"sqlite:///{self.data_dir / 'hems.sqlite3'}"

    @property
    def horizon_steps(self) -> int:
        return self.horizon_hours * 60 // self.slot_minutes


def load_settings(config_file: Path | None = None, **overrides: object) -> Settings:
    """Settings from ``config_file`` (TOML, optional), the environment and ``overrides``
    (highest priority). Raises :class:`SettingsError` listing every bad setting."""
    if config_file is not None and not config_file.is_file():
        raise SettingsError(f"settings file {config_file} does not exist")

    class _FromFile(Settings):
        model_config = SettingsConfigDict(toml_file=config_file)

        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: tuple[PydanticBaseSettingsSource, ...] = (init_settings, env_settings)
            if config_file is not None:
                sources += (TomlConfigSettingsSource(settings_cls),)
            return sources

    try:
        loaded = _FromFile(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
    return Settings.model_validate(loaded.model_dump())
