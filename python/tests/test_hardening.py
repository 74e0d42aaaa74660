"""Holes of issue 13 that show from Python: against real server JVMs."""
from __future__ import annotations

from gatun import GatunClient


def test_another_client_cannot_stop_a_launched_server(own_client):
    assert "--allow-shutdown" not in own_client._launcher.command("info", "dir")
    other = GatunClient(own_client._socket_path, token=own_client._token)
    other.jvm.java.lang.Math.max(1, 2)
    other.shutdown()  # refused by the server: it runs without --allow-shutdown
    assert own_client.jvm.java.lang.Math.max(3, 4) == 4
    assert own_client._launcher.exit_code() is None
