"""Fixtures shared by the OpenADR tests."""

from __future__ import annotations

import pytest

from tests.adapters.openadr.certs import make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory):  # type: ignore[no-untyped-def]
    """A throwaway CA with VTN and VEN certificates, one per test module."""
    return make_pki(tmp_path_factory.mktemp("pki"))
