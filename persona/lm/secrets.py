"""API keys from the environment or a keyring-style command, never from files we write."""

from __future__ import annotations

import os
import shlex
import subprocess


class SecretError(ValueError):
    """A configured key source that yields no key; the message names the source, never a value."""


def resolve_key(env: str | None = None, command: str | None = None) -> str | None:
    """Read a key from ``env`` (a variable name) or ``command`` (its stdout, as `pass show ...` or a keyring CLI)."""
    if env:
        key = os.environ.get(env)
        if not key:
            raise SecretError(f"environment variable {env} is not set")
        return key
    if command:
        try:
            done = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=60, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SecretError(f"key command {command!r} could not run: {type(exc).__name__}") from None
        key = done.stdout.strip()
        if done.returncode != 0 or not key:
            raise SecretError(f"key command {command!r} exited {done.returncode} without printing a key")
        return key
    return None
