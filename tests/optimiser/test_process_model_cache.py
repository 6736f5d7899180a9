"""This process's model cache: its size set by the caller (the service's setting), 0 for
none, and its figures (the planner's health shows them per worker)."""

from __future__ import annotations

import pytest

from optimiser import ModelCache, process_cache_stats, process_model_cache


def test_the_process_cache_is_resized_on_demand_and_none_for_zero():
    cache = process_model_cache(3)
    assert cache is not None
    assert cache.max_models == 3
    assert process_model_cache(5) is cache  # the same cache: its models kept
    assert cache.max_models == 5
    assert process_model_cache(0) is None  # no model kept: each plan builds its own
    again = process_model_cache(2)
    assert again is cache
    stats = process_cache_stats()
    assert stats is not None
    assert (stats.max_models, stats.models) == (2, 0)
    with pytest.raises(ValueError, match="max_models"):
        process_model_cache(-1)


def test_a_smaller_cache_drops_the_least_recently_used_models():
    cache = ModelCache(max_models=3)
    models = [_Kept(key) for key in "abc"]
    for model in models:
        cache.release(model)  # type: ignore[arg-type]
    cache.resize(1)
    assert len(cache) == 1
    assert cache.stats().models == 1
    assert list(cache._models) == ["c"]
    with pytest.raises(ValueError, match="at least 1"):
        cache.resize(0)


class _Kept:
    """A kept model as the cache sees it (its key)."""

    def __init__(self, key: str) -> None:
        self.key = key
