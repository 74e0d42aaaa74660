"""Starting a Gatun server JVM for this Python process."""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from . import waiting
from .errors import GatunConnectionError, GatunError

SERVER_MAIN = "dev.gatun.server.GatunServerMain"
# Arrow Java reads java.nio.Buffer's address field reflectively (as Spark's driver also allows).
ARROW_JVM_ARGS = ("--add-opens=java.base/java.nio=ALL-UNNAMED",)
START_TIMEOUT_S = 60.0


def server_jar() -> Path:
    """The server jar bundled with this package."""
    jar = Path(__file__).with_name("jars") / "gatun-server.jar"
    if not jar.is_file():
        raise GatunError(
            f"the Gatun server jar is missing at {jar}; reinstall the package "
            "(`pip install -e python` builds it with Maven)"
        )
    return jar


def arrow_jar() -> Path | None:
    """The Arrow data plane with Arrow itself (spec/arrow.md), if this package bundles it."""
    jar = Path(__file__).with_name("jars") / "gatun-arrow.jar"
    return jar if jar.is_file() else None


def java_executable() -> str:
    home = os.environ.get("JAVA_HOME")
    if home:
        candidate = Path(home) / "bin" / "java"
        if candidate.is_file():
            return str(candidate)
        raise GatunError(f"JAVA_HOME is {home}, but {candidate} does not exist")
    found = shutil.which("java")
    if found is None:
        raise GatunError("no `java` on PATH and JAVA_HOME is not set: install Java 17 or later")
    return found


_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?)?\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from an int or a string such as "16MB" / "64MiB" / "1g" (powers of 1024)."""
    if isinstance(value, int):
        return value
    m = _SIZE.match(value)
    if not m:
        raise ValueError(f"not a size: {value!r} (expected e.g. 4194304, '16MB', '1GiB')")
    n = int(m.group(1))
    unit = (m.group(2) or "").lower()[:1]
    return n * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[unit]


def wait_for_file(path: str, proc: "subprocess.Popen[bytes]", timeout_s: float | None) -> int | None:
    """Wait until a starting process writes `path`: None once it exists, or the process's exit
    code if it ended first. TimeoutError past `timeout_s` (None: no limit but the process's life)."""
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    while not os.path.isfile(path):
        code = proc.poll()
        if code is not None:
            return code
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError(path)
        time.sleep(0.01)
    return None


@dataclass(frozen=True)
class ConnectionInfo:
    """Where a server listens and the token it wants (spec §1)."""

    socket_path: str
    token: bytes
    pid: int

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> "ConnectionInfo":
        try:
            raw = json.loads(Path(path).read_text())
            return cls(raw["socket"], bytes.fromhex(raw["token"]), int(raw.get("pid", 0)))
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise GatunConnectionError(f"cannot read Gatun connection info from {path}: {e}") from e


class GatunLauncher:
    """Starts a server JVM that dies with this process (its stdin is our pipe).

    `socket_path` picks where the socket goes: `<dir>/gatun.sock`, where `<dir>` must not exist yet
    or be private to this user (mode 0700); by default a fresh private temporary directory. `memory` is the size of each
    channel's shared-memory region. `jvm_args` go to `java` before the main class; `classpath` adds
    jars or directories the server can reach (subject to `allowlist`). `warm_up` is how many requests
    the server makes to itself at start so that its request path is compiled before ours arrive
    (default: the server's, 30,000; 0 turns it off). `wait_policy` is how the server's channel
    threads wait for requests (spec/protocol.md §2.2.1; default $GATUN_WAIT_POLICY, else adaptive).
    `allow_shutdown` lets any client that holds the token stop the server (control SHUTDOWN); it is
    off by default, because the launcher needs no such power: `stop()` (and `GatunClient.close()`)
    end the JVM by closing its stdin.
    """

    def __init__(
        self,
        socket_path: str | None = None,
        memory: int | str | None = None,
        jvm_args: Sequence[str] = (),
        classpath: Sequence[str] = (),
        allowlist: str | Sequence[str] | None = None,
        max_message_bytes: int | str | None = None,
        allow_shutdown: bool = False,
        warm_up: int | None = None,
        wait_policy: str | None = None,
    ):
        if socket_path is not None and os.path.basename(socket_path) != "gatun.sock":
            raise ValueError(f"socket_path must end in /gatun.sock (the server's socket name), got {socket_path!r}")
        self.socket_path = socket_path
        self.memory = parse_size(memory) if memory is not None else None
        self.jvm_args = list(jvm_args)
        self.classpath = [str(c) for c in classpath]
        if allowlist is not None and not isinstance(allowlist, str):
            allowlist = ",".join(allowlist)
        self.allowlist = allowlist
        self.max_message_bytes = parse_size(max_message_bytes) if max_message_bytes is not None else None
        self.allow_shutdown = allow_shutdown
        if warm_up is not None and (not isinstance(warm_up, int) or warm_up < 0):
            raise ValueError(f"warm_up must be a number of requests >= 0, got {warm_up!r}")
        self.warm_up = warm_up
        self.wait_policy = waiting.resolve(wait_policy)
        self.process: subprocess.Popen[bytes] | None = None
        self.info: ConnectionInfo | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    def command(self, info_file: str, socket_dir: str) -> list[str]:
        arrow = arrow_jar()
        extra = [] if arrow is None else [str(arrow)]
        cp = os.pathsep.join([str(server_jar()), *extra, *self.classpath])
        opens = list(ARROW_JVM_ARGS) if arrow is not None else []
        cmd = [java_executable(), *opens, *self.jvm_args, "-cp", cp, SERVER_MAIN,
               "--socket-dir", socket_dir, "--info-file", info_file, "--exit-on-stdin-eof"]
        if self.memory is not None:
            cmd += ["--region-bytes", str(self.memory)]
        if self.max_message_bytes is not None:
            cmd += ["--max-message-bytes", str(self.max_message_bytes)]
        if self.allowlist is not None:
            cmd += ["--allowlist", self.allowlist]
        if self.allow_shutdown:
            cmd.append("--allow-shutdown")
        if self.warm_up is not None:
            cmd += ["--warm-up", str(self.warm_up)]
        cmd += ["--wait-policy", self.wait_policy]
        return cmd

    def start(self) -> ConnectionInfo:
        """Start the JVM and wait until it accepts connections."""
        if self.process is not None:
            raise GatunError("this launcher already started a server")
        self._dir = tempfile.TemporaryDirectory(prefix="gatun-")
        os.chmod(self._dir.name, 0o700)
        if self.socket_path is None:
            socket_dir = os.path.join(self._dir.name, "s")
        else:
            socket_dir = os.path.dirname(os.path.abspath(self.socket_path))
        info_file = os.path.join(self._dir.name, "connection.json")
        log_path = os.path.join(self._dir.name, "server.log")
        cmd = self.command(info_file, socket_dir)
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                cmd, stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            )
        self._log_path = log_path
        try:
            code = wait_for_file(info_file, self.process, START_TIMEOUT_S)
        except TimeoutError:
            self.stop()
            raise GatunConnectionError(
                f"the Gatun server did not start within {START_TIMEOUT_S:.0f}s.\n{self.log_tail()}"
            ) from None
        if code is not None:
            raise GatunConnectionError(
                f"the Gatun server exited with code {code} before it was ready.\n"
                f"command: {' '.join(cmd)}\n{self.log_tail()}"
            )
        self.info = ConnectionInfo.read(info_file)
        return self.info

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = Path(self._log_path).read_text(errors="replace")
        except (OSError, AttributeError):
            return ""
        tail = "\n".join(text.splitlines()[-lines:])
        return f"server output:\n{tail}" if tail else ""

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the JVM: close its stdin, then terminate, then kill."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None
