"""Planning on a Dask cluster over mutual TLS (hems.planner_security): a real LocalCluster on
127.0.0.1 whose scheduler and worker show certificates of a throwaway CA (the conformance
kit's builder); the service with a client certificate of that CA plans on it, a client whose
certificate another CA signed is refused (planned here, flagged); tls:// without certificates
and tcp:// off this machine are refused at start-up, naming the settings."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dask
import pytest
from distributed import LocalCluster
from distributed.security import Security
from pydantic import ValidationError

from adapters.openadr.conformance.pki import Authority, issue, make_authority
from hems.backtest.parallel import LOCAL_CLUSTER_CONFIG
from hems.planner_dask import DaskPlanner
from hems.planner_security import ClusterAccess, dask_security
from hems.settings import Settings

from .dask_fleet import fleet_runtime

HOMES = 2


@dataclass(frozen=True)
class Pki:
    ca: Path
    cluster: tuple[Path, Path]  # the scheduler's and worker's certificate and key
    service: tuple[Path, Path]
    rogue_ca: Path
    rogue: tuple[Path, Path]  # a client certificate another CA signed


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("dask-pki")
    ca = make_authority(directory / "ca", "dask-ca")
    rogue_ca = make_authority(directory / "rogue", "rogue-ca")

    def pair(where: Path, authority: Authority, name: str) -> tuple[Path, Path]:
        party = issue(where, authority, name)
        return party.cert_file, party.key_file

    return Pki(
        ca=ca.file,
        cluster=pair(directory / "ca", ca, "cluster"),
        service=pair(directory / "ca", ca, "service"),
        rogue_ca=rogue_ca.file,
        rogue=pair(directory / "rogue", rogue_ca, "intruder"),
    )


@pytest.fixture(scope="module")
def tls_cluster(pki: Pki) -> Iterator[LocalCluster]:
    cert, key = pki.cluster
    security = Security(
        require_encryption=True,
        tls_ca_file=str(pki.ca),
        tls_scheduler_cert=str(cert),
        tls_scheduler_key=str(key),
        tls_worker_cert=str(cert),
        tls_worker_key=str(key),
        tls_client_cert=str(cert),
        tls_client_key=str(key),
    )
    with (
        dask.config.set(LOCAL_CLUSTER_CONFIG),
        LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            protocol="tls",
            security=security,
            scheduler_port=0,
            dashboard_address=":0",
        ) as cluster,
    ):
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        yield cluster


def _tls_settings(pki: Pki, client: tuple[Path, Path] | None = None) -> dict[str, object]:
    cert, key = client or pki.service
    return {
        "planner_tls_ca_file": pki.ca,
        "planner_tls_cert_file": cert,
        "planner_tls_key_file": key,
    }


def test_plans_arrive_from_a_cluster_reached_over_mutual_tls(tmp_path, pki, tls_cluster):
    runtime = fleet_runtime(
        tmp_path, HOMES, "TLS", tls_cluster.scheduler_address, **_tls_settings(pki)
    )
    try:
        asyncio.run(runtime.service.cycle_all())
        planner = runtime.service.planner
        assert isinstance(planner, DaskPlanner)
        assert planner.security is not None
        assert planner.security.require_encryption
        assert (planner.plans_on_cluster, planner.plans_local) == (HOMES, 0)
        assert planner.health().fallback == ""
        assert all(runtime.store.latest_plan(h) is not None for h in runtime.store.home_ids())
    finally:
        runtime.service.close()


@pytest.mark.parametrize("client", ["another CA's certificate", "no certificate (tcp)"])
def test_a_client_without_the_clusters_certificate_is_refused(tmp_path, pki, tls_cluster, client):
    address = tls_cluster.scheduler_address
    if client == "no certificate (tcp)":
        address = address.replace("tls://", "tcp://")
        security = None
    else:
        settings = Settings(
            state_dir=tmp_path,
            planner_scheduler=address,
            **_tls_settings(pki, pki.rogue),  # type: ignore[arg-type]
        )
        security = dask_security(settings)
    planner = DaskPlanner(address, None, connect_timeout_s=3.0, security=security)
    try:
        assert asyncio.run(planner.run(sum, [1, 2])) == 3  # planned here instead
        assert (planner.plans_on_cluster, planner.plans_local) == (0, 1)
        assert "cannot be reached" in planner.health().fallback
    finally:
        planner.close()


def test_tls_without_certificates_or_tcp_off_this_machine_is_refused(tmp_path, pki):
    with pytest.raises(ValidationError, match="a tls:// planner_scheduler needs planner_tls_ca"):
        Settings(state_dir=tmp_path, planner_scheduler="tls://10.0.0.2:8786")
    with pytest.raises(ValidationError, match="unencrypted and unauthenticated"):
        Settings(state_dir=tmp_path, planner_scheduler="tcp://10.0.0.2:8786")
    with pytest.raises(ValidationError, match="unencrypted and unauthenticated"):
        Settings(state_dir=tmp_path, planner_scheduler="tcp://dask.example:8786")
    with pytest.raises(ValidationError, match="not a tls:// address"):
        Settings(state_dir=tmp_path, planner_scheduler="tcp://127.0.0.1:8786", **_tls_settings(pki))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="planner_tls_cert_file, planner_tls_key_file"):
        Settings(
            state_dir=tmp_path,
            planner_scheduler="tls://10.0.0.2:8786",
            **_tls_settings(pki, (pki.service[0], pki.rogue[1])),  # type: ignore[arg-type]
        )
    with pytest.raises(ValidationError, match=r"planner_tls_ca_file: .* holds no PEM"):
        Settings(
            state_dir=tmp_path,
            planner_scheduler="tls://10.0.0.2:8786",
            **{**_tls_settings(pki), "planner_tls_ca_file": pki.service[1]},  # type: ignore[arg-type]
        )
    for allowed in ("tcp://127.0.0.1:8786", "tcp://[::1]:8786", "tcp://localhost:8786"):
        assert Settings(state_dir=tmp_path, planner_scheduler=allowed).planner_scheduler
    private = Settings(
        state_dir=tmp_path, planner_scheduler="tcp://10.0.0.2:8786", planner_network_private=True
    )
    assert dask_security(private) is None
    tls = Settings(
        state_dir=tmp_path, planner_scheduler="tls://10.0.0.2:8786", **_tls_settings(pki)
    )  # type: ignore[arg-type]
    security = dask_security(tls)
    assert security is not None
    assert security.require_encryption
    assert security.tls_client_cert == str(pki.service[0])


def test_a_backtest_runs_on_the_cluster_over_mutual_tls(pki, tls_cluster):
    """``hems backtest --scheduler tls://...`` with the service's certificate options."""
    from hems.backtest.config import BacktestConfig
    from hems.backtest.parallel import run_many

    cert, key = pki.service
    access = ClusterAccess(tls_cluster.scheduler_address, pki.ca, cert, key)
    results = run_many([BacktestConfig(days=1)], ["naive"], scheduler=access, progress=False)
    assert list(results.summary.reset_index()["strategy"]) == ["naive"]
