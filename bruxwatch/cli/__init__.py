"""The `bruxwatch` command: one thin module per command group, each parsing its arguments,
calling the library and printing (see docs/architecture.md).

Every user error (missing file, bad option, impossible range) prints one line on stderr and
exits with status 2; no tracebacks.
"""

from bruxwatch.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
