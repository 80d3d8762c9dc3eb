"""`python -m compliance <command>`: explain, verify, keygen, sign, permissions, merge."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib import import_module

COMMANDS: dict[str, tuple[str, str]] = {
    "explain": ("compliance.iam.cli", "evaluate a request + policies case file and explain the decision"),
    "verify": ("compliance.evidence.verify", "check a run directory's files and signatures (--public-key PUB.pem)"),
    "keygen": ("compliance.evidence.sign_cli:keygen_main", "write a new Ed25519 key pair: PRIVATE.pem PUBLIC.pem"),
    "sign": ("compliance.evidence.sign_cli:sign_main",
             "countersign a run: RUN_DIR --sign-key KEY.pem --signer NAME --meaning reviewed|approved"),
    "permissions": ("compliance.permissions", "print the least-privilege IAM read policy the live target needs"),
    "merge": ("compliance.evidence.merge",
              "verify the shards of one audit and merge them: OUT_DIR RUN_DIR... [--public-key PUB.pem]"),
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
    module_name, _, function = COMMANDS[command][0].partition(":")
    entry: Callable[[list[str]], int] = getattr(import_module(module_name), function or "main")
    return entry(rest)


if __name__ == "__main__":
    sys.exit(main())
