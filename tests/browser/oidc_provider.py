"""A real OpenID Provider for the browser tests: ``tests/browser/oidc/server.mjs`` (the certified
``oidc-provider`` npm package, installed there by ``make test``'s ``npm ci``) in a Node
subprocess on a free port, and the ``[auth]`` secrets that point an app server at it."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.browser.conftest import STARTUP_DEADLINE, free_port

FOLDER = Path(__file__).resolve().parent / "oidc"


@dataclass(frozen=True)
class Client:
    client_id: str
    redirect_uri: str  # http://127.0.0.1:<app port>/oauth2callback
    id_token_ttl: int = 3600  # seconds
    client_secret: str = ""

    def as_json(self) -> dict:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": [self.redirect_uri],
            "id_token_ttl": self.id_token_ttl,
        }


def client_for(app_url: str, client_id: str, id_token_ttl: int = 3600) -> Client:
    return Client(client_id, f"{app_url}/oauth2callback", id_token_ttl, secrets.token_urlsafe(24))


class OpenIDProvider:
    def __init__(self, clients: list[Client], log: Path):
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.clients = clients
        self.log = log
        self.proc: subprocess.Popen | None = None

    def start(self) -> OpenIDProvider:
        node = shutil.which("node")
        if node is None or not (FOLDER / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError(
                "The OpenID Provider needs Node and tests/browser/oidc/node_modules:"
                " run `make test` (it runs npm ci there) or `npm ci` in tests/browser/oidc."
            )
        env = {
            "PATH": str(Path(node).parent),
            "OIDC_PORT": str(self.port),
            "OIDC_CLIENTS": json.dumps([c.as_json() for c in self.clients]),
        }
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [node, "server.mjs"], cwd=FOLDER, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + STARTUP_DEADLINE
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.metadata_url, timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            try:  # returns at once if the process died
                self.proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                continue
            break
        self.stop()
        raise RuntimeError(f"the OpenID Provider did not start:\n{self.log.read_text()}")

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def secrets_toml(self, client: Client) -> str:
        """Streamlit's ``[auth]`` for one client, as the README shows. ``prompt = "login"``:
        oidc-provider does not know Streamlit's default ``select_account``."""
        return (
            "[auth]\n"
            f'redirect_uri = "{client.redirect_uri}"\n'
            f'cookie_secret = "{secrets.token_urlsafe(32)}"\n'
            f'client_id = "{client.client_id}"\n'
            f'client_secret = "{client.client_secret}"\n'
            f'server_metadata_url = "{self.metadata_url}"\n'
            'client_kwargs = { scope = "openid profile email groups", prompt = "login" }\n'
        )

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
