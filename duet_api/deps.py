"""What every route needs, as ``Annotated`` dependencies: the process's services and the caller.

The caller comes from a personal API token (``Authorization: Bearer duet_...``), or HTTP Basic
with an account's username and password (the accounts file the login page uses), or, with
``DUET_DEV_MODE=1``, is the developer (an admin) without credentials. A token acts as its
account, with the account's role as it is now: a removed or disabled account's tokens
(and password) stop working at once (``AccountsFile.account`` answers None for either).
Missing or wrong credentials: 401 with ``WWW-Authenticate``; a role that may not: 403.
"""

from __future__ import annotations

import base64
import binascii
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBasic, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from duet_api.errors import Forbidden, ServiceUnavailable, Unauthorized
from duet_core.accounts import AccountsFile, has_role
from duet_core.errors import DuetError, NotFound
from duet_core.models import Run
from duet_core.run.engine import LiveRun
from duet_core.services import Services
from duet_core.store.tokens import ApiTokens
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLE_NAMES

ServicesGetter = Callable[[], Services]


def get_services(request: Request) -> Services:
    getter: ServicesGetter = request.app.state.services
    try:
        return getter()
    except DuetError as e:  # a bad setting or an unreachable database
        raise ServiceUnavailable(e.message) from None


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Caller:
    """Who is calling, and how they proved it (``token``, ``basic`` or ``dev``)."""

    username: str
    name: str
    roles: tuple[str, ...]
    via: str
    token_id: str | None = None

    def has_role(self, *roles: str) -> bool:
        return has_role(self.roles, *roles)

    @property
    def is_admin(self) -> bool:
        return self.has_role(ADMIN)

    def may_see(self, owner: str) -> bool:
        return self.is_admin or owner == self.username


DEV_CALLER = Caller("dev", "Developer", (ADMIN,), "dev")

_accounts: dict[Path, AccountsFile] = {}
_accounts_lock = threading.Lock()


def accounts_file(path: Path) -> AccountsFile:
    """The process's accounts file at ``path`` (made with an admin on first use, as the login
    page does); changes made by the pages or by hand are read again as they happen."""
    with _accounts_lock:
        found = _accounts.get(path)
        if found is None:
            found = _accounts[path] = AccountsFile(path)
        return found


class _Bearer(HTTPBearer):
    """Documents the scheme in the OpenAPI schema; ``current_caller`` reads the header."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


class _Basic(HTTPBasic):
    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


_bearer_scheme = _Bearer(description="A personal API token: duet_...", auto_error=False)
_basic_scheme = _Basic(description="An account's username and password", auto_error=False)


def _basic_credentials(param: str) -> tuple[str, str]:
    try:
        text = base64.b64decode(param, validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError, binascii.Error):
        raise Unauthorized("The Basic credentials are not base64 of username:password.") from None
    username, sep, password = text.partition(":")
    if not sep:
        raise Unauthorized("The Basic credentials are not base64 of username:password.")
    return username, password


def current_caller(
    request: Request,
    services: ServicesDep,
    _bearer: Annotated[None, Depends(_bearer_scheme)] = None,
    _basic: Annotated[None, Depends(_basic_scheme)] = None,
) -> Caller:
    if services.settings.dev_mode:
        return DEV_CALLER
    scheme, param = get_authorization_scheme_param(request.headers.get("Authorization"))
    if not scheme:
        raise Unauthorized(
            "Sign in: send Authorization: Bearer <API token>, or HTTP Basic with your"
            " username and password."
        )
    accounts = accounts_file(services.settings.auth_file)
    if scheme.lower() == "bearer":
        token = ApiTokens(services.store).find(param.strip())
        account = accounts.account(token.username) if token is not None else None
        if token is None or account is None:
            raise Unauthorized(
                "This API token is not valid (revoked, mistyped, or its account is gone"
                " or disabled)."
            )
        return Caller(account.username, account.name, account.roles, "token", token.id)
    if scheme.lower() == "basic":
        if not services.settings.local_accounts:
            raise Unauthorized(
                "Password sign-in is off here (DUET_LOCAL_ACCOUNTS=0): send an API token"
                " made on the Account page."
            )
        username, password = _basic_credentials(param)
        account = accounts.verify(username, password)
        if account is None:
            raise Unauthorized("Wrong username or password.")
        return Caller(account.username, account.name, account.roles, "basic")
    raise Unauthorized(f"Unknown authorization scheme {scheme[:20]!r}: use Bearer or Basic.")


CallerDep = Annotated[Caller, Depends(current_caller)]


def requires(*roles: str, what: str) -> Callable[[Caller], Caller]:
    """A dependency: the caller, when they have one of ``roles`` (403 otherwise)."""

    def check(caller: CallerDep) -> Caller:
        if not caller.has_role(*roles):
            who = " and ".join(ROLE_NAMES[r] for r in roles)
            raise Forbidden(f"{what} is for {who}; your account is not one.")
        return caller

    return check


LabCaller = Annotated[
    Caller, Depends(requires(FACILITATOR, what="The Prompt Lab"))
]  # admins count as facilitators
AdminCaller = Annotated[Caller, Depends(requires(ADMIN, what="This"))]


def find_run(services: Services, caller: Caller, run_id: str) -> tuple[LiveRun | None, Run]:
    """The run ``run_id`` as it is now (live in this process: with its live object), if the
    caller may see it; NotFound otherwise, whether it exists or not."""
    live = services.manager.get(run_id)
    if live is not None and caller.may_see(live.owner):
        return live, live.snapshot().run
    run = services.store.get_run(run_id) if live is None and len(run_id) <= 64 else None
    if run is None or not caller.may_see(run.owner):
        raise NotFound(f"No run {run_id[:64]!r} that you may see; list yours with GET /api/runs.")
    return None, run
