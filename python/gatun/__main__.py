"""`python -m gatun doctor`: checks this installation (see gatun.doctor)."""
from __future__ import annotations

import sys

USAGE = """usage: python -m gatun COMMAND

commands:
  doctor    what is installed, which versions were found, what is missing and how to fix it
  version   print the Gatun version
"""


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="", file=sys.stdout if argv else sys.stderr)
        return 0 if argv else 2
    if argv[0] == "doctor":
        from .doctor import main as doctor
        return doctor(argv[1:])
    if argv[0] in ("version", "--version"):
        import gatun
        print(gatun.__version__)
        return 0
    print(f"python -m gatun: unknown command {argv[0]!r}\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
