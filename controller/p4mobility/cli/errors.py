"""The command line's one error type.

Rule: a subcommand raises ``CliError`` for unusable input; ``main`` prints it
on stderr without a traceback and exits with status 2.
"""
from __future__ import annotations


class CliError(Exception):
    """A user-facing error: printed without a traceback, exit status 2."""
