"""Objects dropped in Python are released in the JVM; handles belong to their session.

That a session's end frees its registry is tested on the Java side (CoreEndToEndTest).
"""
from __future__ import annotations

import gc
import os

import pytest

from gatun import GatunClient, GatunError


def test_dropped_proxies_are_released_in_batches(own_client):
    jvm = own_client.jvm
    ArrayList = jvm.java.util.ArrayList
    start = own_client.session_info()["objects"]
    n = int(os.environ.get("GATUN_RELEASE_LOOP", "1000000"))
    for _ in range(n):
        ArrayList()
    gc.collect()
    after = own_client.session_info()["objects"]
    assert after - start < 300, f"{after - start} objects left in the registry after {n} create/drop"


def test_kept_proxies_stay_alive(own_client):
    keep = [own_client.jvm.java.lang.StringBuilder(str(i)) for i in range(1000)]
    for _ in range(2000):
        own_client.jvm.java.util.ArrayList()
    assert [k.toString() for k in keep[:5]] == ["0", "1", "2", "3", "4"]
    assert own_client.session_info()["objects"] >= 1000


def test_handles_do_not_cross_sessions():
    with GatunClient() as a:
        b = GatunClient(a._socket_path, token=a._token).connect()
        try:
            obj = a.jvm.java.util.ArrayList()
            with pytest.raises(GatunError):
                b.jvm.java.util.Objects.hashCode(obj)
        finally:
            b.close()
