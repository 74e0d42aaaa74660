"""Coverage-guided fuzzing (atheris) of the Python client's decoders of server → client payloads.

    python python/tests/fuzz_decoders.py [CORPUS_DIR ...] -runs=N

Without a corpus directory it seeds ./corpus (crash files also land in the working directory).

The first byte of an input picks the decoder (a value, a THROW, an ERROR, a CALLBACK), the rest is
the payload. Bad input must end in one of the errors listed in ALLOWED, never anything else, and
never hang or take memory beyond what the input describes. `seed_corpus(dir)` writes the golden
vectors of spec/vectors as seeds. test_hardening.py runs a short run; `make fuzz` a long one.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from gatun import protocol as p

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors" / "frames.json"
# What a decoder may raise for bytes that do not follow the protocol: only GatunProtocolError
# (struct.error, IndexError, UnicodeDecodeError or InvalidOperation escaping is a finding).
ALLOWED = (p.ProtocolError,)


class _Context:
    """Objects and classes become tuples: the decoders are under test, not the proxies."""

    def wrap_object(self, handle, shape):
        return ("object", handle, shape)

    def wrap_class(self, class_id, name):
        return ("class", class_id, name)


CTX = _Context()


def decode(data: bytes) -> None:
    if not data:
        return
    kind, buf = data[0] % 4, data[1:]
    try:
        if kind == 0:
            p.decode_value(buf, 0, CTX)
        elif kind == 1:  # THROW: handle, class name, message, stack
            p.decode_throw(buf, 0, len(buf))
        elif kind == 2:  # ERROR: code, message
            p.decode_error(buf, 0, len(buf))
        else:  # CALLBACK: id, method, argc, values (the header as client.py reads it)
            if len(buf) < 8:
                return
            _, pos = p.decode_str(buf, 8)
            if len(buf) < pos + 2:
                return
            (argc,) = p.U16.unpack_from(buf, pos)
            pos += 2
            for _ in range(argc):
                _, pos = p.decode_value(buf, pos, CTX)
    except ALLOWED:
        pass


def seed_corpus(directory: str) -> int:
    """Writes the server → client vectors (type byte + payload) into `directory`; returns how many."""
    names = {0x40: 0, 0x41: 1, 0x42: 2, 0x50: 3}
    n = 0
    for frame in json.loads(VECTORS.read_text())["frames"]:
        raw = bytes.fromhex(frame["hex"])
        if frame["direction"] == "server_to_client" and raw[4] in names:
            Path(directory, frame["name"]).write_bytes(bytes([names[raw[4]]]) + raw[16:])
            n += 1
    return n


if __name__ == "__main__":
    sys.setrecursionlimit(10_000)
    args = sys.argv
    if all(a.startswith("-") for a in args[1:]):  # no corpus given: seed one in the working directory
        os.makedirs("corpus", exist_ok=True)
        seed_corpus("corpus")
        args = [*args, "corpus"]
    atheris.Setup(args, decode)
    atheris.Fuzz()
