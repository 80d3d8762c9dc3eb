"""`python -m compliance <command>`: explain, verify, permissions."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

COMMANDS: dict[str, tuple[str, str]] = {
    "explain": ("compliance.iam.cli", "evaluate a request + policies case file and explain the decision"),
    "verify": ("compliance.evidence.verify", "re-hash a run directory against its MANIFEST.sha256"),
    "permissions": ("compliance.permissions", "print the least-privilege IAM read policy the live target needs"),
}

USAGE = "usage: python -m compliance {" + ",".join(COMMANDS) + "} [args...]\n" + "\n".join(
    f"  {name:12} {help_}" for name, (_, help_) in COMMANDS.items())


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        print(f"error: unknown command {command!r}\n{USAGE}", file=sys.stderr)
        return 2
    module = import_module(COMMANDS[command][0])
    entry: Callable[[list[str]], int] = module.main
    return entry(rest)


if __name__ == "__main__":
    sys.exit(main())
