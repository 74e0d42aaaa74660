"""Fixtures: real server JVMs started through the public API."""
from __future__ import annotations

from typing import Iterator

import pytest

from gatun import GatunClient


@pytest.fixture(scope="session")
def client() -> Iterator[GatunClient]:
    """One server JVM shared by the tests that do not need their own."""
    c = GatunClient()
    yield c
    c.close()


@pytest.fixture
def jvm(client: GatunClient):
    return client.jvm


@pytest.fixture
def own_client() -> Iterator[GatunClient]:
    """A private server JVM for tests that kill, limit or otherwise spoil it."""
    c = GatunClient()
    yield c
    c.close()
