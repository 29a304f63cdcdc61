"""Passwords: bcrypt hashes as streamlit-authenticator makes and checks them, new random
passwords and cookie keys."""

from __future__ import annotations

import re
import secrets

import bcrypt

_BCRYPT_HASH = re.compile(r"^\$2[aby]\$\d+\$.{53}$")  # the form streamlit-authenticator checks
# checked when the user is unknown, so that answer takes as long as a wrong password
UNKNOWN_USER_HASH = "$2b$12$C6UzMDM.H6dfI/f/IKxGhu6J4Am6eWjZ1PnHpQa8a7HTAmiy8Osn2"


def hash_password(password: str) -> str:
    """A bcrypt hash, as ``streamlit_authenticator.Hasher.hash`` makes it."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()


def is_hash(value: str) -> bool:
    return bool(_BCRYPT_HASH.match(value))


def password_matches(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:  # not a hash, or a password bcrypt refuses
        return False


def new_password() -> str:
    return secrets.token_urlsafe(12)


def new_cookie_key() -> str:
    return secrets.token_urlsafe(48)
