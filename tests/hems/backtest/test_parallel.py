"""Many homes on a LocalCluster of two processes: the same figures as one run at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hems.backtest import run_backtest
from hems.backtest.config import BacktestConfig
from hems.backtest.parallel import run_many
from hems.planner_security import ClusterAccess
from hems.simulation.devices import Stay
from tests.hems.backtest.synthetic import START

LOOPBACK = "tcp://127.0.0.1:8786"


def _config(home_id: str, seed: int) -> BacktestConfig:
    stays = (Stay(START + timedelta(hours=17), START + timedelta(hours=30), 0.3 + seed / 10),)
    return BacktestConfig(start_utc=START, days=1, seed=seed, ev_stays=stays, home_id=home_id)


def test_two_homes_two_strategies_on_two_processes() -> None:
    configs = [_config("a", 1), _config("b", 2)]
    names = ["naive", "battery_self_consumption"]
    done: list[str] = []
    results = run_many(
        configs, names, workers=2, progress=False, on_done=lambda r: done.append(r.home)
    )
    assert sorted(done) == ["a", "a", "b", "b"]
    s = results.summary.reset_index()
    assert list(zip(s["home"], s["strategy"], strict=True)) == [
        ("a", "naive"),
        ("a", "battery_self_consumption"),
        ("b", "naive"),
        ("b", "battery_self_consumption"),
    ]
    assert set(results.slots["home"]) == {"a", "b"}
    # the same numbers as running home b in this process
    alone = run_backtest(configs[1], names).summary
    for name in names:
        row = s[(s["home"] == "b") & (s["strategy"] == name)].iloc[0]
        assert row["bill_gbp"] == pytest.approx(alone.loc[name, "bill_gbp"], rel=1e-9)
    # the two homes differ (different cars)
    a_bill = s[(s["home"] == "a") & (s["strategy"] == "naive")]["bill_gbp"].iloc[0]
    b_bill = s[(s["home"] == "b") & (s["strategy"] == "naive")]["bill_gbp"].iloc[0]
    assert a_bill != pytest.approx(b_bill)


def test_bad_requests_are_refused_before_starting_a_cluster() -> None:
    with pytest.raises(ValueError, match="differ"):
        run_many([_config("a", 1), _config("a", 2)], ["naive"])
    with pytest.raises(ValueError, match="unknown"):
        run_many([_config("a", 1)], ["magic"])
    with pytest.raises(ValueError, match="no home"):
        run_many([], ["naive"])
    with pytest.raises(ValueError, match="each strategy once"):  # same task key twice
        run_many([_config("a", 1)], ["naive", "naive"])


def test_a_scheduler_reached_unsafely_is_refused_before_connecting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As the service's planner: Dask's tcp:// carries pickles unauthenticated, so it reaches
    only loopback unless the network is declared private; tls:// needs its certificates."""
    import distributed

    reached: list[tuple[str, object]] = []

    class StopError(Exception):
        pass

    def client(address: str, security: object = None) -> None:
        reached.append((address, security))
        raise StopError

    monkeypatch.setattr(distributed, "Client", client)
    home = [_config("a", 1)]
    with pytest.raises(ValueError, match=r"tcp://10.1.2.3:8786: Dask's tcp:// .* unencrypted"):
        run_many(home, ["naive"], scheduler="tcp://10.1.2.3:8786")
    with pytest.raises(ValueError, match="not a tcp://host:port or tls://host:port"):
        run_many(home, ["naive"], scheduler="10.1.2.3:8786")
    with pytest.raises(ValueError, match="tls:// planner_scheduler needs planner_tls_ca_file"):
        run_many(home, ["naive"], scheduler="tls://10.1.2.3:8786")
    assert reached == []
    private = ClusterAccess("tcp://10.1.2.3:8786", planner_network_private=True)
    with pytest.raises(StopError):
        run_many(home, ["naive"], scheduler=private)
    assert reached == [("tcp://10.1.2.3:8786", None)]


def test_tasks_of_one_strategy_share_a_dask_task_group(monkeypatch: pytest.MonkeyPatch) -> None:
    """Dask learns a task's duration per task group (the key's prefix): every home's run of one
    strategy must fall in the strategy's group, each key must be unique, and two calls' keys
    must differ (a shared cluster would take them for the same task)."""
    import distributed
    from dask.utils import key_split

    submitted: list[object] = []

    class StopError(Exception):
        pass

    class RecordingClient:
        def __init__(self, address: str, security: object = None) -> None:
            assert (address, security) == (LOOPBACK, None)  # tcp:// to loopback: allowed

        def scatter(self, data: object, broadcast: bool = False) -> object:
            return data

        def submit(self, *args: object, key: object, **kwargs: object) -> None:
            submitted.append(key)

        def close(self) -> None:
            pass

    def stop(futures: object) -> None:
        raise StopError

    monkeypatch.setattr(distributed, "Client", RecordingClient)
    monkeypatch.setattr(distributed, "as_completed", stop)
    configs = [_config(home, 1) for home in ("home#0", "home#13", "a-b")]
    for _ in range(2):
        with pytest.raises(StopError):
            run_many(configs, ["planner", "naive"], scheduler=LOOPBACK, progress=False)
    first, second = submitted[:6], submitted[6:]
    assert sorted(key_split(k) for k in first) == ["naive"] * 3 + ["planner"] * 3
    assert len(set(first)) == 6
    assert not set(first) & set(second)


def test_the_local_cluster_spares_the_cpu_for_the_runs() -> None:
    """No statistical profiler in the workers and slow health ticks: Dask's defaults took
    ~7 % of a core per worker beside the task (docs/performance.md)."""
    import dask

    from hems.backtest.parallel import start_local_cluster

    before = dask.config.get("distributed.worker.profile.enabled")
    cluster, client = start_local_cluster(1)
    try:
        in_workers = client.run(
            lambda dask_worker: (
                "profile" in dask_worker.periodic_callbacks,
                dask.config.get("distributed.admin.tick.interval"),
            )
        )
        assert list(in_workers.values()) == [(False, "1s")]
    finally:
        client.close()
        cluster.close()
    # this process's own Dask settings are untouched
    assert dask.config.get("distributed.worker.profile.enabled") == before
