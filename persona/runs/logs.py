"""The run's log: retries, failures and warnings of every library, in ``run.log`` in the run dir, keys redacted."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path


class _Redact(logging.Filter):
    """Blank out key values in log lines, whatever library produced them."""

    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage(), self.secrets), None
        return True


def redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


@contextlib.contextmanager
def run_log(path: Path, secrets: list[str]) -> Iterator[None]:
    """Retries, failures and warnings of this run go to ``run.log`` in the run dir, with keys redacted."""
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(_Redact(secrets))
    loggers = [logging.getLogger(name) for name in ("persona", "dspy", "LiteLLM")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()
