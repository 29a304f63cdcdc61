"""Structured logging: one JSON object per line, with run id and user on every record."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from duet_core.errors import ConfigError
from duet_core.redact import redact

LOGGER_NAME = "duet"
PROMPT_CHARS = 50
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}


def cut_prompt(text: str) -> str:
    """A prompt as it may appear in a log: its first 50 characters."""
    text = " ".join(text.split())
    return text if len(text) <= PROMPT_CHARS else text[:PROMPT_CHARS] + "…"


def log_level(level: str) -> str:
    """``level`` upper-cased, or ConfigError naming the levels there are."""
    name = str(level).strip().upper()
    if name not in LEVELS:
        raise ConfigError(
            f"DUET_LOG_LEVEL={level!r} is not a log level: use one of {', '.join(LEVELS)}."
        )
    return name


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
    logger.setLevel(log_level(level))
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


def setup_cli_logging(verbose: bool, level: str = "INFO", file: str | None = None) -> None:
    """The terminal belongs to the conversation: only warnings reach stderr, as one readable
    line each, unless ``verbose`` (then the JSON lines at ``level``). ``file`` also keeps
    every record at ``level`` as JSON lines."""
    logger = logging.getLogger(LOGGER_NAME)
    logger.propagate = False
    for handler in [h for h in logger.handlers if getattr(h, "_duet", False)]:
        logger.removeHandler(handler)
    wanted = log_level(level)
    terminal = logging.StreamHandler(sys.stderr)
    if verbose:
        terminal.setFormatter(JsonFormatter())
        terminal.setLevel(wanted)
    else:
        terminal.setFormatter(TerminalFormatter())
        terminal.setLevel(logging.WARNING)
        terminal.addFilter(_not_run_warnings)
    handlers: list[logging.Handler] = [terminal]
    if file:
        try:
            to_file = logging.FileHandler(file, encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"Cannot write the log file {file}: {e.strerror or e}") from None
        to_file.setFormatter(JsonFormatter())
        handlers.append(to_file)
    for handler in handlers:
        handler._duet = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.setLevel(wanted)


def _not_run_warnings(record: logging.LogRecord) -> bool:
    """A run's own warnings (``run failed: ...``) repeat what the command prints itself."""
    return not (record.name.startswith(f"{LOGGER_NAME}.run") and record.levelno < logging.ERROR)


class TerminalFormatter(logging.Formatter):
    """``duet: warning: message`` on one line, keys redacted."""

    def format(self, record: logging.LogRecord) -> str:
        message = " ".join(redact(record.getMessage()).split())
        return f"duet: {record.levelname.lower()}: {message}"
