"""The service's settings: defaults, then a TOML file, then ``HEMS_*`` environment variables.

Validated once at start-up (:func:`load_settings`); a bad value stops the service with a message
naming the setting. Secrets (tokens, keys) are not settings: tokens live hashed in the
database, and key files are referred to by path; the one exception is the devices' credentials
(``[devices]``: charger and broker passwords), held as ``SecretStr`` so they are never logged or
shown: keep a settings file that has them readable by the service's user only.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import tomllib
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, FilePath, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from hems.account_secrets import FernetKeyFile, OctopusUrl
from hems.domain.connections import DeviceSettings
from hems.planner_security import scheduler_problem
from hems.signing_settings import signing_problem
from hems.ven_transport_settings import push_base_url, push_problem, vtn_tls_problem

log = logging.getLogger(__name__)

RENAMED = {"data_dir": "state_dir"}
"""Settings that were renamed: old name -> new name (the old one is refused, naming the new)."""

BACKTEST_DATA_ENV = "HEMS_DATA_DIR"
"""The backtests' data folder (``hems.backtest.data``); the service never reads it."""

LOAD_SPREAD_COVER = 0.5
"""Default share of the load's spread to its P90 a plan keeps in dear slots; chosen from 0.5 and
1 on January 2020, checked on October 2020 (docs/optimiser.md, "Planning on the load's spread")."""

FINGERPRINT = re.compile(r"([0-9A-Fa-f]{2}[:-]){9}[0-9A-Fa-f]{2}")
"""An OpenADR fingerprint: the last 10 bytes of the certificate's SHA-256 as hex pairs."""


class SettingsError(ValueError):
    """Settings that cannot start the service; the message names each bad setting."""


class Settings(BaseSettings):
    """Service settings.

    Attributes:
        state_dir: where the SQLite database and the service's files live (env
            ``HEMS_STATE_DIR``; created at start-up; was ``data_dir`` / ``HEMS_DATA_DIR``, a name
            now left to the backtests' data folder).
        database_url: SQLAlchemy URL; empty = SQLite ``hems.sqlite3`` under ``state_dir``.
            PostgreSQL: ``postgresql+psycopg://user@host/db``. A SQLite file's folder must exist
            (only ``state_dir`` is created by the service), so a typo makes no directories.
        api_host, api_port: where the HTTP API listens.
        api_tls_cert_file, api_tls_key_file: the API's own server certificate and key (PEM),
            both or neither: with them the API and the web app are served over https (with
            HSTS); without them over http, which is allowed only on a loopback ``api_host`` or
            behind ``trusted_proxies`` that terminate TLS (tokens must not cross a network in
            clear).
        trusted_proxies: addresses of reverse proxies whose ``X-Forwarded-For`` and
            ``X-Forwarded-Proto`` are believed (empty: none; the socket's peer is the client).
        auth_failures_per_client, auth_failures_overall, auth_failure_window_s: after this many
            failed token checks from one address, or from all together, within the window [s],
            sign-in and bearer authentication answer 429 (docs/service.md, Security).
        api_requests_per_minute: each API token's request rate, with a minute's burst (0 = no
            limit); beyond it 429 with ``Retry-After``.
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
        drift_threshold_kw: a device this far off its planned power triggers a re-plan [kW]
            (0-100; every float setting must be finite).
        telemetry_retention_days: device telemetry older than this is deleted daily [days]
            (plans, setpoints, events and the audit log are kept until the home is deleted).
        replan_delay_s: how long a change (new preferences, an override cancelled) waits for
            others before the home re-plans [s]; DSR events and overrides re-plan at once.
        planner_processes: worker processes for the optimiser, so a plan never holds the API's
            interpreter (0 = plan in a thread of the service process, as the tests do).
        planner_scheduler: a Dask scheduler's address (``tls://host:8786``, or ``tcp://`` to a
            loopback host or a private network) to plan on; empty = this machine. Unreachable:
            planned here, flagged (:mod:`hems.planner_dask`, :mod:`hems.planner_security`).
        planner_tls_ca_file, planner_tls_cert_file, planner_tls_key_file: for ``tls://``: the
            CA the cluster's certificates chain to, the service's client certificate and key.
        planner_network_private: allows ``tcp://`` to a host that is not loopback.
        planner_load_spread_cover: plans are made on the expected base load plus this share
            (0-1) of its spread up to the P90, where the home's measured load gives one
            (``optimiser.Problem.load_spread_cover``); 0 = the expected load.
        planner_model_cache_shapes: home shapes each planner worker keeps a built model for
            (:mod:`optimiser.model_cache`); a fleet of many shapes wants more, 0 = none.
        plan_deadline_s: how long after its slot's start a slot's batch of re-plans may take
            [s] (at least half of it from the batch's start), less than a slot; a plan later is
            flagged and its home keeps its last plan.
        live_market: fetch prices (Octopus Agile), carbon intensity (NESO) and weather
            (Open-Meteo) for each home; otherwise the bundled sample is replayed onto today.
        agile_import_product, agile_export_product: Octopus product codes for live prices.
        vtn_url: the DSRSP's OpenADR 2.0b VTN (``http(s)://host/.../OpenADR2/Simple/2.0b``);
            empty = no VEN. https needs ``ven_cert_file`` and ``ven_key_file``, and
            ``vtn_ca_file``, ``vtn_fingerprint`` or both (what :class:`TlsSettings` trusts).
        ven_cert_file, ven_key_file: the CEM's client certificate and key (PEM) for mutual TLS;
            the files must exist.
        vtn_ca_file: CA bundle the VTN's certificate must chain to.
        vtn_fingerprint: the VTN's pinned OpenADR fingerprint (``AB:CD:...``, 10 bytes), checked
            on every TLS handshake (``adapters/openadr/tls.py``); alone it trusts exactly that
            certificate.
        ven_sign_messages: sign every message to the VTN (the OpenADR security profile, rule
            514) with ``ven_signing_cert_file`` and ``ven_signing_key_file``, or, without them,
            with the mutual-TLS ``ven_cert_file`` and ``ven_key_file`` (openleadr's VTN wants
            the signing certificate to be the TLS one).
        ven_signing_cert_file, ven_signing_key_file: the CEM's signing certificate and key
            (PEM, an unencrypted RSA or EC key), both or neither; only with
            ``ven_sign_messages``.
        vtn_signing_cert_file, vtn_signing_fingerprint, vtn_signing_ca_file: what the VTN's
            signatures are verified with: its signing certificate (pinned by fingerprint), that
            fingerprint itself, and/or the CA its signing certificate chains to. With any of
            them every signed message from the VTN is verified (wrong key, tampered, stale or
            replayed: refused).
        vtn_signatures_required: refuse every unsigned message from the VTN too (rule 514);
            needs one of the three above.
        ven_push_port: the port of the VENs' push endpoint, served by the service on its own
            TLS listener for the homes whose VEN mode is push (0 = no push listener, pull
            only). Needs ``ven_push_cert_file``, ``ven_push_key_file``, ``vtn_url``,
            ``vtn_ca_file`` (the VTN's client certificate must chain to it) and
            ``vtn_fingerprint`` (the VTN's certificate, compared on each push).
        ven_push_host: the address it listens on.
        ven_push_cert_file, ven_push_key_file: its server certificate and key (PEM).
        ven_push_url: the endpoint's address as the VTN reaches it, advertised at registration
            (oadrTransportAddress, ``<ven_push_url>/homes/<id>``); empty =
            ``https://<ven_push_host>:<ven_push_port>`` (a wildcard host needs it given).
        demo: run the bundled demo home with simulated devices.
        demo_devices: with ``demo``, ``simulated`` (in the service's process) or ``protocols``
            (the EV, battery and PV behind OCPP and Modbus/SunSpec simulators started as child
            processes: :mod:`hems.demo_protocols`).
        devices: how the CEM reaches each home's real devices (OCPP chargers, Modbus/SunSpec
            inverters and meters, MQTT devices), by the home's CEM serial
            (:class:`hems.domain.connections.DeviceSettings`, docs/devices.md).
        replica_id, lease_time_s, lease_renew_s: with PostgreSQL, this replica's name (empty:
            ``<hostname>-<pid>``), how long a home's lease lasts [s] and how often the replica
            renews its leases and claims its share [s] (:mod:`hems.ownership`).
        ven_max_polls_per_s: the cap on the VENs' polls and registrations, all homes together
            (:mod:`adapters.openadr.pacing`).
        account_secrets_key_file: a file holding a Fernet key (44 characters of url-safe base64,
            ``Fernet.generate_key()``) the consumers' Octopus API keys are encrypted with at rest
            (:mod:`hems.account_secrets`); none = linking an account is refused. Keep it
            readable by the service's user only, and apart from the database's backups.
        octopus_api_url: Octopus's REST API (https; http only to a loopback host, for tests).
        octopus_backend_api_url: the host Octopus moved Saving Sessions' GraphQL to (the same
            rules).
    """

    model_config = SettingsConfigDict(
        env_prefix="HEMS_", extra="forbid", validate_default=True, allow_inf_nan=False
    )

    state_dir: Path = Path("var")
    database_url: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    api_tls_cert_file: FilePath | None = None
    api_tls_key_file: FilePath | None = None
    trusted_proxies: list[str] = Field(default_factory=list)
    auth_failures_per_client: int = Field(default=10, ge=1, le=100_000)
    auth_failures_overall: int = Field(default=200, ge=1, le=10_000_000)
    auth_failure_window_s: float = Field(default=300.0, gt=0, le=86_400)
    api_requests_per_minute: int = Field(default=1200, ge=0, le=10_000_000)
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
    drift_threshold_kw: float = Field(default=1.0, gt=0, le=100)
    telemetry_retention_days: int = Field(default=90, ge=1, le=3660)
    replan_delay_s: float = Field(default=1.0, ge=0, le=60)
    planner_processes: int = Field(default=1, ge=0, le=64)
    planner_scheduler: str = Field(default="", pattern=r"^$|^(tcp|tls)://[^/\s]+:\d+$")
    planner_tls_ca_file: FilePath | None = None
    planner_tls_cert_file: FilePath | None = None
    planner_tls_key_file: FilePath | None = None
    planner_network_private: bool = False
    planner_model_cache_shapes: int = Field(default=32, ge=0, le=10_000)
    planner_load_spread_cover: float = Field(default=LOAD_SPREAD_COVER, ge=0, le=1)
    plan_deadline_s: float = Field(default=120.0, gt=0, le=3600)
    live_market: bool = False
    agile_import_product: str = Field(default="AGILE-24-10-01", pattern=r"^[A-Z0-9\-]+$")
    agile_export_product: str = Field(default="AGILE-OUTGOING-19-05-13", pattern=r"^[A-Z0-9\-]+$")
    vtn_url: str = ""
    ven_cert_file: FilePath | None = None
    ven_key_file: FilePath | None = None
    vtn_ca_file: FilePath | None = None
    vtn_fingerprint: str = ""
    ven_sign_messages: bool = False
    ven_signing_cert_file: FilePath | None = None
    ven_signing_key_file: FilePath | None = None
    vtn_signing_cert_file: FilePath | None = None
    vtn_signing_fingerprint: str = ""
    vtn_signing_ca_file: FilePath | None = None
    vtn_signatures_required: bool = False
    ven_push_port: int = Field(default=0, ge=0, le=65535)
    ven_push_host: str = "127.0.0.1"
    ven_push_cert_file: FilePath | None = None
    ven_push_key_file: FilePath | None = None
    ven_push_url: str = ""
    demo: bool = False
    demo_devices: Literal["simulated", "protocols"] = "simulated"
    devices: DeviceSettings = Field(default_factory=DeviceSettings)
    replica_id: str = Field(default="", max_length=200)
    lease_time_s: float = Field(default=30.0, ge=1, le=600)
    lease_renew_s: float = Field(default=10.0, ge=0.2, le=300)
    ven_max_polls_per_s: float = Field(default=20.0, gt=0, le=10_000)
    account_secrets_key_file: FernetKeyFile | None = None
    octopus_api_url: OctopusUrl = "https://api.octopus.energy/v1"
    octopus_backend_api_url: OctopusUrl = "https://api.backend.octopus.energy/v1"

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_addresses(cls, proxies: list[str]) -> list[str]:
        for proxy in proxies:
            if proxy != "*":
                ipaddress.ip_network(proxy, strict=False)  # its ValueError names the value
        return proxies

    @field_validator("state_dir")
    @classmethod
    def _a_directory(cls, path: Path) -> Path:
        if path.exists() and not path.is_dir():
            raise ValueError(f"{path} exists and is not a directory")
        return path

    @field_validator("database_url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not url:
            return url
        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            backend = ""
        if backend not in ("sqlite", "postgresql"):
            raise ValueError("must be a sqlite:// or postgresql:// URL")
        return url

    @field_validator("vtn_url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError("must be an http:// or https:// URL with a host")
        return url

    @field_validator("ven_push_url")
    @classmethod
    def _https_url(cls, url: str) -> str:
        if url:
            parts = urlsplit(url)
            if parts.scheme != "https" or not parts.hostname:
                raise ValueError("must be an https:// URL with a host (the VTN pushes over TLS)")
        return url

    @field_validator("ev_ramp_kw_per_min", "battery_ramp_kw_per_min", "heat_pump_ramp_kw_per_min")
    @classmethod
    def _usable_ramp(cls, kw_per_min: float) -> float:
        if 0 < kw_per_min < 0.1:
            raise ValueError("must be 0 (no limit) or at least 0.1 kW/min")
        return kw_per_min

    @field_validator("vtn_fingerprint", "vtn_signing_fingerprint")
    @classmethod
    def _fingerprint(cls, fingerprint: str) -> str:
        if fingerprint and not FINGERPRINT.fullmatch(fingerprint.strip()):
            raise ValueError("must be an OpenADR fingerprint: 10 hex pairs, AB:CD:...")
        return fingerprint

    @model_validator(mode="after")
    def _sqlite_folder_exists(self) -> Settings:
        """A SQLite URL names an existing folder (or ``state_dir``, which the service makes):
        a typo in a path would otherwise create directories anywhere."""
        if not self.database_url:
            return self
        url = make_url(self.database_url)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            folder = Path(url.database).parent
            if not folder.is_dir() and folder.resolve() != self.state_dir.resolve():
                raise ValueError(
                    f"database_url: the folder {folder} does not exist (create it first; only "
                    "state_dir is created by the service)"
                )
        return self

    @model_validator(mode="after")
    def _deadline_within_slot(self) -> Settings:
        if self.plan_deadline_s >= self.slot_minutes * 60:
            raise ValueError("plan_deadline_s must be shorter than a slot (slot_minutes)")
        return self

    @model_validator(mode="after")
    def _api_transport(self) -> Settings:
        """The API's tokens never cross a network in clear: https of its own, a loopback
        address, or a trusted proxy in front that terminates TLS."""
        if (self.api_tls_cert_file is None) != (self.api_tls_key_file is None):
            raise ValueError("api_tls_cert_file and api_tls_key_file go together (both or none)")
        if self.api_tls_cert_file is None and not self.trusted_proxies:
            try:
                loopback = ipaddress.ip_address(self.api_host).is_loopback
            except ValueError:
                loopback = self.api_host == "localhost"
            if not loopback:
                raise ValueError(
                    f"api_host {self.api_host} is reachable from the network: serve it over "
                    "https (api_tls_cert_file, api_tls_key_file) or behind trusted_proxies "
                    "that terminate TLS"
                )
        return self

    @model_validator(mode="after")
    def _lease_renewed_in_time(self) -> Settings:
        if self.lease_renew_s * 2 > self.lease_time_s:  # one lost renewal must not cost a home
            raise ValueError("lease_renew_s must be at most half of lease_time_s")
        return self

    @property
    def api_scheme(self) -> str:
        """``https`` when the API serves TLS itself, else ``http``."""
        return "https" if self.api_tls_cert_file else "http"

    @model_validator(mode="after")
    def _tls_complete(self) -> Settings:
        problem = vtn_tls_problem(self)  # hems.ven_transport_settings
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _scheduler_secure(self) -> Settings:
        problem = scheduler_problem(self)  # hems.planner_security
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _signing_complete(self) -> Settings:
        """A half-configured security profile is refused, naming what is missing
        (:func:`hems.signing_settings.signing_problem`)."""
        problem = signing_problem(self)
        if problem:
            raise ValueError(problem)
        return self

    @model_validator(mode="after")
    def _push_complete(self) -> Settings:
        problem = push_problem(self)  # hems.ven_transport_settings
        if problem:
            raise ValueError(problem)
        return self

    @property
    def ven_push_base_url(self) -> str:
        """The push endpoint's address as the VTN reaches it (empty: no push listener)."""
        return push_base_url(self)

    @property
    def ven_signing_files(self) -> tuple[Path, Path] | None:
        """(certificate, key) the VEN signs with: its own signing pair, else the TLS pair."""
        if self.ven_signing_cert_file is not None and self.ven_signing_key_file is not None:
            return self.ven_signing_cert_file, self.ven_signing_key_file
        if self.ven_cert_file is not None and self.ven_key_file is not None:
            return self.ven_cert_file, self.ven_key_file
        return None

    @property
    def verifies_vtn_signatures(self) -> bool:
        """Whether there is something to verify the VTN's signatures with."""
        return bool(
            self.vtn_signing_cert_file or self.vtn_signing_fingerprint or self.vtn_signing_ca_file
        )

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use (SQLite under ``state_dir`` when none is given)."""
        return self.database_url or f"sqlite:///{self.state_dir / 'hems.sqlite3'}"

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
        raise SettingsError(f"invalid settings: {_problems(exc)}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SettingsError(f"settings file {config_file} is not valid TOML: {exc}") from None
    settings = Settings.model_validate(loaded.model_dump())
    if os.environ.get(BACKTEST_DATA_ENV) and "state_dir" not in loaded.model_fields_set:
        log.warning(
            "%s is set but names the backtests' data folder, not the service's state: the "
            "database and files go to %s (set HEMS_STATE_DIR or state_dir to choose)",
            BACKTEST_DATA_ENV,
            settings.state_dir,
        )
    return settings


def _problems(exc: ValidationError) -> str:
    """Each bad setting by name; a renamed one names its new name."""
    problems = []
    for e in exc.errors():
        name = ".".join(str(p) for p in e["loc"])
        message = e["msg"].removeprefix("Value error, ")
        if name in RENAMED and e["type"] == "extra_forbidden":
            message = f"renamed {RENAMED[name]}"
        problems.append(f"{name}: {message}" if name else message)
    return "; ".join(problems)
