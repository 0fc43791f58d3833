"""Connector secrets at rest: Fernet with a key from settings. Never logged, never in workflow history."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


def encrypt(key: str, secret: str) -> bytes:
    return Fernet(key.encode()).encrypt(secret.encode())


class SecretKeyMismatch(ValueError):
    """The stored secret was encrypted under another key: no retry can fix it (schemas.retry names it)."""


def decrypt(key: str, token: bytes) -> str:
    try:
        return Fernet(key.encode()).decrypt(token).decode()
    except InvalidToken as e:
        raise SecretKeyMismatch(
            "connector secret cannot be decrypted: RENEWALS_SECRET_KEY differs from the key it was stored with. "
            "Set RENEWALS_SECRET_KEY back to that key (and restart the worker), or reconnect the connector"
        ) from e


def new_key() -> str:
    return Fernet.generate_key().decode()
