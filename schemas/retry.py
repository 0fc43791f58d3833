"""What a retry cannot fix. Temporal matches `non_retryable_error_types` on the error's type name (for a plain
Python exception, its class name), so these fail an activity at once instead of eight times over: a bug in our
own code, or a secret key that cannot open the stored secrets."""

from __future__ import annotations

PROGRAMMING_ERRORS = [
    "TypeError",
    "KeyError",
    "AttributeError",
    "ValueError",
    "IndexError",
    "NameError",
    "ValidationError",  # pydantic: our own model refused our own data
    "SecretKeyMismatch",  # core.secrets: RENEWALS_SECRET_KEY is not the key the secrets were stored with
]
