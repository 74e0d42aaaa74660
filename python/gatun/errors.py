"""Exceptions raised by the Gatun client."""
from __future__ import annotations

from typing import Any


class GatunError(Exception):
    """Base class of every error the Gatun client raises."""


class GatunConnectionError(GatunError):
    """The server could not be reached, refused the hand-shake, or went away."""


class GatunProtocolError(GatunError):
    """The server answered with bytes that do not follow the protocol."""


class GatunRequestError(GatunError):
    """The server refused or could not carry out a request (spec §3.3 ERROR)."""

    def __init__(self, code: int, name: str, message: str):
        super().__init__(f"{name}: {message}")
        self.code = code
        self.name = name
        self.message = message


class NotAllowedError(GatunRequestError):
    """The server's allowlist refuses the class or member."""


class LimitError(GatunRequestError):
    """A message is larger than the configured maximum (ERROR code 7, LIMIT).

    Raised both when the server refuses a message or an answer over its limit and when the client
    refuses to send one (spec/protocol.md §4.3).
    """

    def __init__(self, message: str):
        super().__init__(7, "LIMIT", message)


class JavaException(GatunError):
    """A Java exception thrown by the called code.

    `java_exception` is a live proxy of the real Throwable in the JVM; `class_name`, `message` and
    `stack_trace` are copies taken when it was thrown, so they stay readable after the session ends.
    """

    def __init__(self, java_exception: Any, class_name: str, message: str, stack_trace: str):
        super().__init__(class_name, message)
        self.java_exception = java_exception
        self.class_name = class_name
        self.message = message
        self.stack_trace = stack_trace

    def __str__(self) -> str:
        return self.stack_trace.rstrip() or f"{self.class_name}: {self.message}"
