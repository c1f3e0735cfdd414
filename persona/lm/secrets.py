"""API keys from the environment or a keyring-style command, never from files we write."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from typing import Any

from persona.errors import InputError


class SecretError(InputError):
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


REDACTED = "***"
# Argument and header names whose values are credentials, whatever the provider calls them.
CREDENTIAL_NAME = re.compile(r"api[-_]?key|secret|passw(or)?d|token|auth|cookie|credential|signature", re.IGNORECASE)
# Values shaped like a key: a scheme prefix, a vendor prefix, or a long run of key characters with digits in it.
KEY_SHAPED = re.compile(
    r"^(?:(?:Bearer|Basic|Token)\s+\S{6,}"
    r"|(?:sk|pk|rk|ak|gsk|xai|hf|ghp|gho|ghs|github_pat|glpat|AKIA|AIza)[-_A-Za-z0-9]{12,}"
    r"|(?=[-_A-Za-z0-9.+/=]*\d)(?=[-_A-Za-z0-9.+/=]*[A-Za-z])[-_A-Za-z0-9.+/=]{32,})$"
)


def _is_secret(name: str, value: Any) -> bool:
    return (
        isinstance(value, str) and bool(value) and (bool(CREDENTIAL_NAME.search(name)) or bool(KEY_SHAPED.match(value)))
    )


def redact_arguments(arguments: Any, name: str = "") -> Any:
    """A copy of LM arguments (nested headers too) with every credential-named or key-shaped value replaced."""
    if isinstance(arguments, dict):
        return {key: redact_arguments(value, str(key)) for key, value in arguments.items()}
    if isinstance(arguments, list | tuple):
        return [redact_arguments(value, name) for value in arguments]
    return REDACTED if _is_secret(name, arguments) else arguments


def secret_values(arguments: Any, name: str = "") -> list[str]:
    """The values ``redact_arguments`` would hide, for scrubbing them from log lines and error messages."""
    if isinstance(arguments, dict):
        return [secret for key, value in arguments.items() for secret in secret_values(value, str(key))]
    if isinstance(arguments, list | tuple):
        return [secret for value in arguments for secret in secret_values(value, name)]
    return [arguments] if _is_secret(name, arguments) else []
