"""The error boundary of a page: any failure is one message box, never a traceback.

``app.py`` runs the selected page inside ``page_error_boundary()``; a fragment (which reruns
on its own, outside the page run) wraps its function with ``@guarded``. An expected failure
(``DuetError``: bad input, a limit, a provider or database failure) shows its own message; an
unexpected one says what to report, with an id to find the traceback in the server log.
Streamlit's own control flow (``st.stop``, ``st.rerun``, ``st.switch_page``) passes through.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from duet_core.errors import DuetError
from duet_ui.shared.transcript import render_error

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("duet.page")


def unexpected_message(error_id: str) -> str:
    return (
        f"Something went wrong on this page (error {error_id}). This is a bug in Duet: please "
        "report it with what you did just before; the server log has the details under that id."
    )


def show_failure(e: Exception) -> None:
    """One box for ``e``: its own message when expected, what to report otherwise."""
    if isinstance(e, DuetError):
        render_error(" ".join(e.message.split()), icon=":material/error:")
        return
    error_id = uuid.uuid4().hex[:8]
    log.error("unexpected error on a page", exc_info=e, extra={"error_id": error_id})
    render_error(unexpected_message(error_id), icon=":material/error:")


@contextmanager
def page_error_boundary() -> Iterator[None]:
    try:
        yield
    except Exception as e:  # st.stop / st.rerun are BaseExceptions and pass through
        show_failure(e)


def guarded(function: F) -> F:
    """The boundary for a fragment function (or any drawing function)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with page_error_boundary():
            return function(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
