"""Outbound HTTP that cannot be aimed at our own network: every URL (and every redirect) is
resolved and refused if any address is private, loopback, link-local, a cloud metadata
address or otherwise not public, unless its host is in ALLOWED_OUTBOUND_HOSTS. Connect and
read timeouts, and only the first OUTBOUND_MAX_RESPONSE_BYTES of a response are read."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone

MAX_REDIRECTS = 3
METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}


class OutboundRefused(Exception):
    """The URL points where we never send (bad scheme, private address...)."""


@dataclass
class OutboundResponse:
    status: int
    headers: dict
    body: bytes

    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After") or self.headers.get("retry-after"))


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delay seconds or an HTTP date); None when
    absent or unreadable."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - timezone.now()).total_seconds())


def _allowed_host(host: str) -> bool:
    return host.lower() in {h.lower() for h in settings.ALLOWED_OUTBOUND_HOSTS}


def check_url(url: str) -> None:
    """Raise OutboundRefused unless the URL is http(s) and every address it resolves to is
    public (or its host is explicitly allowed)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(f"Only http and https URLs can be used, not {parts.scheme!r}.")
    host = parts.hostname
    if not host:
        raise OutboundRefused("The URL has no host.")
    if _allowed_host(host):
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise OutboundRefused(f"The host {host!r} cannot be resolved ({exc}).") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if address in METADATA_ADDRESSES:
            raise OutboundRefused(f"{host} resolves to a cloud metadata address ({address}).")
        if not address.is_global:
            raise OutboundRefused(
                f"{host} resolves to {address}, a private, loopback or link-local address; "
                "requests to internal networks are not allowed."
            )


def post(url: str, *, body: bytes, headers: dict[str, str]) -> OutboundResponse:
    """POST with SSRF checks on the URL and on every redirect. Network errors and timeouts
    raise requests exceptions; refused URLs raise OutboundRefused."""
    session = requests.Session()
    session.trust_env = False  # no proxies from the environment
    timeout = (settings.OUTBOUND_CONNECT_TIMEOUT, settings.OUTBOUND_READ_TIMEOUT)
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url)
        with session.post(
            url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True
        ) as response:
            content = response.raw.read(settings.OUTBOUND_MAX_RESPONSE_BYTES, decode_content=True)
            if response.is_redirect and response.headers.get("Location"):
                url = urljoin(url, response.headers["Location"])
                continue
            return OutboundResponse(response.status_code, dict(response.headers), content)
    raise OutboundRefused(f"More than {MAX_REDIRECTS} redirects.")
