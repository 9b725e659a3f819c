"""DRF authentication with personal API tokens: `Authorization: Bearer sko_...`.

Thin over `accounts.api_tokens.api_token_authenticate`: request.user is the token's user and
request.auth the ApiToken row. A request without an Authorization header, or with another
scheme, is left to the other authentication classes (session). A Bearer header with a bad
token is refused at once with a code that says why (malformed, unknown, revoked, expired,
inactive); `authenticate_header` makes DRF answer 401 with WWW-Authenticate."""

from __future__ import annotations

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.api_tokens import TokenError, api_token_authenticate

KEYWORD = "Bearer"


class TokenAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request):
        header = authentication.get_authorization_header(request)
        if not header:
            return None
        parts = header.split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "Give the token as `Authorization: Bearer <token>`, with no spaces in it.",
                code="token_malformed",
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(
                "That is not an API token (they start with sko_).", code="token_malformed"
            ) from None
        try:
            return api_token_authenticate(raw)
        except TokenError as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=f"token_{exc.code}") from None

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="api"'
