"""Local accounts: the YAML file of users, their roles, password hashing and validation.

``file.py`` is the file (``AccountsFile``) and ``changes.py`` what changes its accounts;
``file_format.py`` its format, ``passwords.py`` the hashes, ``rules.py`` what a username, a
password and roles may be. Everything is imported from here.

No Streamlit here. The file is streamlit-authenticator's documented config format (``cookie``
and ``credentials.usernames.<user>``: email, first_name, last_name, password, roles), so the
login gate (``duet_ui/shell/login.py``) hands ``AccountsFile.credentials`` to the library as it is.

One ``AccountsFile`` per process holds the credentials. Every session's authenticator is built
on that same dict, so a user added or a password reset counts at once in every session. The
file holds only bcrypt hashes and is written to a temp file then ``os.replace``; an edit made
by hand is picked up by ``reload_if_changed`` (a password typed in plain is hashed then).

A disabled account (``disabled: true`` in its entry) stays in the file but is kept out of
``credentials``: the login form does not know it (as if removed: a session signed in as it is
signed out on its next run), ``account`` and ``verify`` answer None, so its API tokens and
password stop working; ``accounts()`` lists it, with ``disabled`` set, and ``enable_user``
lets it in again.

People who sign in through an OpenID Provider (``duet_core/identity.py``) have no password
here: the file's ``identities`` section (never handed to the library) keeps, under each one's
subject key, their name and the roles of their last sign-in, so their API tokens work as them.
"""

from duet_core.accounts.file import AccountsFile
from duet_core.accounts.file_format import (
    COOKIE_EXPIRY_DAYS,
    COOKIE_KEY_MIN_LENGTH,
    COOKIE_NAME,
    Account,
    announce_created,
    create_accounts_file,
    write_yaml_atomically,
)
from duet_core.accounts.passwords import (
    hash_password,
    is_hash,
    new_cookie_key,
    new_password,
    password_matches,
)
from duet_core.accounts.rules import (
    PASSWORD_MAX_BYTES,
    PASSWORD_MIN_LENGTH,
    USERNAME_RULE,
    check_password,
    check_roles,
    check_username,
    has_role,
)
from duet_core.vocabulary import ADMIN, FACILITATOR, ROLES, USER

__all__ = [
    "ADMIN",
    "COOKIE_EXPIRY_DAYS",
    "COOKIE_KEY_MIN_LENGTH",
    "COOKIE_NAME",
    "FACILITATOR",
    "PASSWORD_MAX_BYTES",
    "PASSWORD_MIN_LENGTH",
    "ROLES",
    "USER",
    "USERNAME_RULE",
    "Account",
    "AccountsFile",
    "announce_created",
    "check_password",
    "check_roles",
    "check_username",
    "create_accounts_file",
    "has_role",
    "hash_password",
    "is_hash",
    "new_cookie_key",
    "new_password",
    "password_matches",
    "write_yaml_atomically",
]
