"""How the service reaches a Dask scheduler (setting ``planner_scheduler``) safely.

Dask's messages carry pickles: code the workers run and results the service unpickles. Over
``tcp://`` they are neither encrypted nor authenticated, so anyone on the path can read a
home's data or run code on the workers and the service. So ``tcp://`` is accepted only to a
loopback address, or when ``planner_network_private`` says the scheduler and workers sit on a
network the service alone reaches; elsewhere the scheduler is reached over ``tls://`` with
mutual TLS: the service shows its client certificate (``planner_tls_cert_file`` and
``planner_tls_key_file``) and trusts the cluster's certificates that chain to
``planner_tls_ca_file`` (Dask's :class:`~distributed.security.Security`, encryption required).
The files are loaded once at start-up, as Dask will load them, so a wrong one stops the
service naming the setting instead of each plan falling back to this machine.

The backtest's cluster runs (``hems backtest --scheduler``) go through the same checks with a
:class:`ClusterAccess` of the same names.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from distributed.security import Security

TLS_FILES = ("planner_tls_ca_file", "planner_tls_cert_file", "planner_tls_key_file")
SCHEDULER_ADDRESS = re.compile(r"^$|^(tcp|tls)://[^/\s]+:\d+$")
"""An empty address (no cluster) or ``tcp://`` / ``tls://`` host and port."""


class SchedulerAccess(Protocol):
    """How to reach a scheduler: the service's :class:`~hems.settings.Settings`, or a
    :class:`ClusterAccess`."""

    @property
    def planner_scheduler(self) -> str: ...
    @property
    def planner_tls_ca_file(self) -> Path | None: ...
    @property
    def planner_tls_cert_file(self) -> Path | None: ...
    @property
    def planner_tls_key_file(self) -> Path | None: ...
    @property
    def planner_network_private(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class ClusterAccess:
    """A scheduler to reach outside the service's settings (the backtest's cluster runs), with
    the settings' names so that :func:`scheduler_problem` names them alike."""

    planner_scheduler: str
    planner_tls_ca_file: Path | None = None
    planner_tls_cert_file: Path | None = None
    planner_tls_key_file: Path | None = None
    planner_network_private: bool = False


def access_problem(a: SchedulerAccess) -> str | None:
    """:func:`scheduler_problem`, after checking the address's form (which
    :class:`~hems.settings.Settings` checks as a field)."""
    if not SCHEDULER_ADDRESS.fullmatch(a.planner_scheduler):
        return (
            f"planner_scheduler {a.planner_scheduler!r}: not a tcp://host:port or "
            "tls://host:port address"
        )
    return scheduler_problem(a)


def scheduler_problem(s: SchedulerAccess) -> str | None:
    """Why the service must not reach ``s.planner_scheduler`` as configured; None when it may
    (or plans here)."""
    given = [name for name in TLS_FILES if getattr(s, name) is not None]
    tls = s.planner_scheduler.startswith("tls://")
    if given and not tls:
        return (
            f"{', '.join(given)} set but planner_scheduler is not a tls:// address: use tls:// "
            "or remove them"
        )
    if tls and len(given) < len(TLS_FILES):
        return (
            "a tls:// planner_scheduler needs planner_tls_ca_file (the CA the cluster's "
            "certificates chain to), planner_tls_cert_file and planner_tls_key_file (the "
            "service's client certificate and key)"
        )
    if tls:
        return _files_problem(s)
    if s.planner_scheduler and not s.planner_network_private:
        host = urlsplit(s.planner_scheduler).hostname or ""
        if not _loopback(host):
            return (
                f"planner_scheduler {s.planner_scheduler}: Dask's tcp:// carries pickles "
                "unencrypted and unauthenticated; use tls:// with planner_tls_ca_file, "
                "planner_tls_cert_file and planner_tls_key_file, or set "
                "planner_network_private = true if the cluster's network is reachable by the "
                "service alone"
            )
    return None


def dask_security(s: SchedulerAccess) -> Security | None:
    """The client's security for a ``tls://`` scheduler (mutual TLS, encryption required);
    None for ``tcp://``."""
    if not s.planner_scheduler.startswith("tls://"):
        return None
    from distributed.security import Security

    return Security(  # type: ignore[no-untyped-call]
        require_encryption=True,
        tls_ca_file=str(s.planner_tls_ca_file),
        tls_client_cert=str(s.planner_tls_cert_file),
        tls_client_key=str(s.planner_tls_key_file),
    )


def _files_problem(s: SchedulerAccess) -> str | None:
    """Why the TLS files cannot be loaded (as Dask loads them), or None."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    try:
        context.load_verify_locations(cafile=s.planner_tls_ca_file)
    except (OSError, ssl.SSLError):
        return f"planner_tls_ca_file: {s.planner_tls_ca_file} holds no PEM certificate"
    try:
        # an encrypted key gets an empty password (an error), never a prompt on the terminal
        context.load_cert_chain(
            s.planner_tls_cert_file,  # type: ignore[arg-type]
            s.planner_tls_key_file,
            password=b"",
        )
    except (OSError, ssl.SSLError) as exc:
        return (
            f"planner_tls_cert_file, planner_tls_key_file: {s.planner_tls_cert_file} and "
            f"{s.planner_tls_key_file} are not a PEM certificate and its unencrypted key ({exc})"
        )
    return None


def _loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return host == "localhost"
