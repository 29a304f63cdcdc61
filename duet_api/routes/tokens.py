"""Personal API tokens: make one (shown once), list yours, revoke one. An admin may make and
revoke tokens for any account."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from duet_api.deps import CallerDep, ServicesDep, accounts_file
from duet_api.errors import Forbidden
from duet_api.schemas import AUTH_ERRORS, NewToken, TokenCreated, TokenOut, errors
from duet_core.errors import NotFound
from duet_core.store.tokens import ApiToken, ApiTokens

router = APIRouter(prefix="/tokens", tags=["tokens"])


def _out(token: ApiToken) -> TokenOut:
    return TokenOut.model_validate(token.as_json())


@router.post(
    "", status_code=201, response_model=TokenCreated, responses=errors(*AUTH_ERRORS, 404, 422)
)
def create_token(body: NewToken, services: ServicesDep, caller: CallerDep) -> TokenCreated:
    """A new token for the caller (an admin: for ``user``). The answer's ``token`` is shown
    this once; only its hash is kept."""
    user = caller.username
    if body.user is not None and body.user.strip().lower() != caller.username:
        if not caller.is_admin:
            raise Forbidden("Only an admin makes tokens for another account.")
        if services.settings.dev_mode:
            user = body.user.strip().lower()
        else:
            account = accounts_file(services.settings.auth_file).account(body.user)
            if account is None:
                raise NotFound(f"There is no account {body.user[:60]!r}.")
            user = account.username
    token, secret = ApiTokens(services.store).create(user, body.name)
    return TokenCreated(**_out(token).model_dump(), token=secret)


@router.get("", response_model=list[TokenOut], responses=errors(*AUTH_ERRORS))
def list_tokens(services: ServicesDep, caller: CallerDep) -> list[TokenOut]:
    """The caller's tokens that are not revoked (an admin's: everyone's), newest first."""
    owner = None if caller.is_admin else caller.username
    return [_out(t) for t in ApiTokens(services.store).list(owner)]


@router.delete("/{token_id}", response_model=TokenOut, responses=errors(*AUTH_ERRORS, 404))
def revoke_token(
    token_id: Annotated[str, Path(max_length=64)], services: ServicesDep, caller: CallerDep
) -> TokenOut:
    """Revoke a token: it stops working at once. Revoking it again changes nothing."""
    owner = None if caller.is_admin else caller.username
    try:
        return _out(ApiTokens(services.store).revoke(token_id, owner))
    except NotFound:
        raise NotFound(f"No API token {token_id[:64]!r} of yours.") from None
