"""Structured logging: one JSON object per line, with run id and user on every record."""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

LOGGER_NAME = "duet"
PROMPT_CHARS = 50
_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|sk-ant-[A-Za-z0-9_\-]{8,})")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def cut_prompt(text: str) -> str:
    """A prompt as it may appear in a log: its first 50 characters."""
    text = " ".join(text.split())
    return text if len(text) <= PROMPT_CHARS else text[:PROMPT_CHARS] + "…"


def redact(text: str) -> str:
    return _KEY_PATTERN.sub("[redacted key]", text)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
            "run_id": getattr(record, "run_id", None),
            "user": getattr(record, "user", None),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key not in entry:
                entry[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def setup_logging(level: str = "INFO", stream=None) -> logging.Logger:
    """Send the ``duet`` logger's records to ``stream`` (stderr) as JSON lines. Idempotent."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.setLevel(level.upper())
    logger.propagate = False
    if not any(getattr(h, "_duet", False) for h in logger.handlers):
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._duet = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return logger


class RunLogger(logging.LoggerAdapter):
    """Stamps ``run_id`` and ``user`` on every record, keeping a call's own ``extra``."""

    def process(self, msg, kwargs):
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return msg, kwargs


def run_logger(run_id: str, user: str) -> RunLogger:
    return RunLogger(logging.getLogger(f"{LOGGER_NAME}.run"), {"run_id": run_id, "user": user})
