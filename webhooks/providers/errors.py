"""The two ways a webhook delivery is refused by its adapter."""


class SignatureError(Exception):
    """401: the request is not from the ATS (missing or wrong signature/token, or a replay)."""


class MalformedError(Exception):
    """400: the body is not what this provider sends."""
