"""Outbound HTTP that cannot be aimed at our own network, for delivery (Slack, Teams,
webhooks) and for the ATS API clients alike.

Every request, and every redirect hop, goes through one transport adapter that:

1. parses the URL as prepared by requests with both urllib3 (what the client connects to) and
   urllib.parse, and refuses it when it is ambiguous: a user name or password (``a@b``), a
   backslash, whitespace or control characters, a percent-encoded host, a host written as a
   number in a non-standard notation (``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``),
   or the two parsers disagreeing on host or port;
2. resolves the host once and refuses it if any address is not plainly global unicast
   (loopback, private, link-local, shared, benchmarking, documentation, multicast, reserved,
   unspecified, cloud metadata, or an IPv6 form embedding such an IPv4 address), unless the
   host is in ALLOWED_OUTBOUND_HOSTS;
3. connects to exactly the addresses it vetted (no second DNS lookup, so a DNS answer that
   changes in between cannot redirect us), while still sending the original Host header,
   using the host name for TLS SNI and verifying the certificate for that name.

Reads are bounded by a total deadline (OUTBOUND_TOTAL_TIMEOUT) as well as by the connect and
read timeouts and a size cap: a server that drips a byte a second is cut at the deadline.
Cross-origin redirects never carry credentials (Authorization, cookies)."""

from __future__ import annotations

import contextlib
import ipaddress
import re
import socket
import sys
import threading
import time
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from http.cookiejar import DefaultCookiePolicy
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NewConnectionError
from urllib3.util import parse_url

MAX_REDIRECTS = 3
MAX_URL_LENGTH = 8192
READ_CHUNK = 16 * 1024
# Redirect statuses after which the method and body are kept (303 means "GET this instead").
SEE_OTHER = 303

METADATA_ADDRESSES = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack
    ipaddress.ip_address("169.254.170.2"),  # AWS ECS task metadata
    ipaddress.ip_address("fd00:ec2::254"),  # AWS IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
    ipaddress.ip_address("192.0.0.192"),  # Oracle Cloud
    # Azure's WireServer: a public-looking address every Azure VM reaches on the host.
    ipaddress.ip_address("168.63.129.16"),
}

# Written out rather than left to ipaddress.is_global alone: what it calls global has changed
# between Python releases, and "not plainly global unicast" is the rule here.
INTERNAL_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",  # "this network", 0.0.0.0 included
        "10.0.0.0/8",
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "192.168.0.0/16",
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, and the broadcast address
    )
)
GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
INTERNAL_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "2001::/23",  # IETF protocol assignments, Teredo (2001::/32) included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation (RFC 9637)
    )
)
NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")
PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)

_FORBIDDEN_ASCII = re.compile(r"[\x00-\x20\x7f\\]")
_NUMERIC_LABEL = re.compile(r"(?:[0-9]+|0x[0-9a-f]*)", re.IGNORECASE)
_DEADLINE_ATTRIBUTE = "_outbound_deadline"


class OutboundRefused(Exception):
    """The URL points where we never send (bad scheme, ambiguous URL, internal address...)."""


class OutboundTimeout(requests.Timeout):
    """The whole exchange took longer than OUTBOUND_TOTAL_TIMEOUT. A requests Timeout, so
    callers that retry timeouts retry this too."""


class OutboundTooLarge(Exception):
    """The response is larger than the caller accepts (only raised when it asked for that)."""


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


# --- Addresses ----------------------------------------------------------------------------------


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 transition form carries (mapped, NAT64, 6to4), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64_WELL_KNOWN:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in SIX_TO_FOUR:
        return address.sixtofour
    return None


def _kind(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """A plain word for what kind of non-public address this is (for the error message)."""
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address in ipaddress.IPv4Network("100.64.0.0/10"):
        return "shared address space"
    if any(address in n for n in PRIVATE_NETWORKS):
        return "private"
    return "reserved or special-purpose"


def address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why this address is not one we send to, or None if it is plainly global unicast."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:
            return "link-local"
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            problem = address_problem(embedded)
            return f"{problem}: it embeds {embedded}" if problem else None
        if address not in GLOBAL_UNICAST_V6 or any(address in n for n in INTERNAL_V6):
            return _kind(address)
    elif any(address in n for n in INTERNAL_V4):
        return _kind(address)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return _kind(address)
    return None


# --- URLs ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """A vetted URL: where to connect (the resolved, vetted addresses) and under what name."""

    scheme: str
    host: str  # as urllib3 connects to it (IPv6 in brackets)
    port: int
    addresses: tuple[tuple[int, tuple], ...]  # (family, sockaddr) from the one lookup
    allowed: bool


def _refuse(message: str) -> OutboundRefused:
    return OutboundRefused(message)


def _check_characters(url: str) -> None:
    if _FORBIDDEN_ASCII.search(url) or any(
        not c.isascii() and (c.isspace() or unicodedata.category(c).startswith(("C", "Z")))
        for c in url
    ):
        raise _refuse(
            "The URL contains spaces, control characters or a backslash; paste it exactly as "
            "the service gave it."
        )


def _prepare(url: str) -> str:
    """The URL exactly as requests will send it (IDNA-encoded host, quoted path)."""
    prepared = requests.PreparedRequest()
    try:
        prepared.prepare_url(url, None)
    except (requests.RequestException, LocationParseError, ValueError, UnicodeError):
        raise _refuse("That is not a valid http(s) URL.") from None
    return prepared.url or ""


def _numeric_host_problem(host: str) -> str | None:
    """Hosts written as numbers are accepted only as a canonical IPv4 dotted quad or an IPv6
    literal: other notations (decimal, octal, hex, short forms) mean different addresses to
    different parsers."""
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return "is not a valid IPv6 address"
        return None
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        pass
    else:
        return None
    last_label = host.rstrip(".").rsplit(".", 1)[-1]
    if _NUMERIC_LABEL.fullmatch(last_label):
        return "is written as a number in a non-standard notation"
    return None


def _allowed(host: str) -> bool:
    wanted = host.strip("[]").rstrip(".").lower()
    return wanted in {
        h.strip().strip("[]").rstrip(".").lower() for h in settings.ALLOWED_OUTBOUND_HOSTS
    }


def _parse(url: str) -> tuple[str, str, int]:
    """(scheme, host as urllib3 has it, port), or OutboundRefused if the URL is ambiguous."""
    if not isinstance(url, str) or not url:
        raise _refuse("The URL is empty.")
    if len(url) > MAX_URL_LENGTH:
        raise _refuse(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    _check_characters(url)
    try:
        return _parse_plain(url)
    except (ValueError, LocationParseError):  # e.g. an unclosed "[" in the host
        raise _refuse("That is not a valid http(s) URL.") from None


def _parse_plain(url: str) -> tuple[str, str, int]:
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise _refuse(f"Only http and https URLs can be used, not {scheme or 'none'!r}.")
    raw = urlsplit(url)
    netloc = raw.netloc
    if raw.port == 0:  # requests would drop ":0" and quietly use the default port
        raise _refuse("The URL's port is not a number between 1 and 65535.")
    if "@" in netloc:
        raise _refuse("URLs with a user name or password (user@host) are not accepted.")
    if "%" in netloc:  # parsers disagree on whether to decode it
        raise _refuse("The URL's host is percent-encoded; write it plainly.")
    final = _prepare(url)
    _check_characters(final)
    if not final.isascii():
        raise _refuse("That is not a valid http(s) URL.")
    ours, theirs = urlsplit(final), parse_url(final)
    if "@" in ours.netloc or theirs.auth or ours.username is not None:
        raise _refuse("URLs with a user name or password (user@host) are not accepted.")
    if "%" in ours.netloc:
        raise _refuse("The URL's host is percent-encoded; write it plainly.")
    try:
        our_port = ours.port
    except ValueError:
        raise _refuse("The URL's port is not a number between 1 and 65535.") from None
    host = theirs.host or ""
    if (
        ours.scheme != scheme
        or (theirs.scheme or "").lower() != scheme
        or not ours.hostname
        or ours.hostname != host.strip("[]").lower()
        or our_port != theirs.port
    ):
        raise _refuse(
            "The URL is ambiguous (its host or port reads differently to different parsers)."
        )
    if our_port == 0:
        raise _refuse("The URL's port is not a number between 1 and 65535.")
    problem = _numeric_host_problem(ours.hostname)
    if problem:
        raise _refuse(f"The host {ours.hostname!r} {problem}; write the address plainly.")
    return scheme, host, our_port or (443 if scheme == "https" else 80)


def vet_url(url: str) -> Target:
    """Parse, resolve once and vet a URL; the Target says where to connect. Raises
    OutboundRefused with a message meant for the person who typed the URL."""
    scheme, host, port = _parse(url)
    bare = host.strip("[]")
    try:
        infos = socket.getaddrinfo(bare, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _refuse(f"The host {bare!r} cannot be resolved ({exc}).") from None
    allowed = _allowed(host)
    addresses: list[tuple[int, tuple]] = []
    for family, _type, _proto, _name, sockaddr in infos:
        if family not in (socket.AF_INET, socket.AF_INET6):
            continue
        try:
            address = ipaddress.ip_address(str(sockaddr[0]))
        except ValueError:
            raise _refuse(f"The host {bare!r} resolves to an unreadable address.") from None
        if not allowed:
            problem = address_problem(address)
            if problem:
                raise _refuse(
                    f"{bare} resolves to {address}, a private, loopback, link-local or "
                    f"otherwise non-public address ({problem}); requests to internal networks "
                    "are not allowed."
                )
        if (family, sockaddr) not in addresses:
            addresses.append((family, sockaddr))
    if not addresses:
        raise _refuse(f"The host {bare!r} has no IPv4 or IPv6 address.")
    return Target(scheme, host, port, tuple(addresses), allowed)


def check_url(url: str) -> None:
    """Raise OutboundRefused unless the URL may be sent to (for validating a URL someone
    enters; sending vets it again, at the moment of sending)."""
    vet_url(url)


# --- The deadline -------------------------------------------------------------------------------


class _Deadline:
    """A total time budget for one exchange (all redirect hops). A timer shuts down every
    socket the exchange opened when the budget runs out, which wakes any blocked read, the
    TLS handshake and header reads included (a per-recv timeout cannot: a byte a second
    never trips it)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._pools: list[HTTPConnectionPool] = []
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            self.expired = True
            raise OutboundTimeout(f"No complete answer within {self.seconds:g} s.")

    def bounded(self, timeout: float | None) -> float:
        """A socket timeout that cannot outlast the deadline."""
        left = max(0.001, self.remaining())
        return left if timeout is None else min(timeout, left)

    def watch(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: shutdown() acts on the connection itself, so it
        # still works after TLS wrapping has taken over the original socket object.
        with self._lock:
            if self.expired:
                raise OutboundTimeout(f"No complete answer within {self.seconds:g} s.")
            self._sockets.append(sock.dup())

    def own(self, pool: HTTPConnectionPool) -> None:
        with self._lock:
            self._pools.append(pool)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self._timer.cancel()
        with self._lock:
            for sock in self._sockets:
                sock.close()
            self._sockets.clear()
            pools, self._pools = self._pools, []
        for pool in pools:
            pool.close()


# --- The pinned transport -----------------------------------------------------------------------


class _PinnedConnectionMixin:
    """Connects to the vetted addresses instead of resolving the host again; everything
    else (Host header, SNI, certificate check) still uses the host name."""

    def __init__(
        self,
        *args: Any,
        pinned_addresses: tuple[tuple[int, tuple], ...],
        deadline: _Deadline,
        **kwargs: Any,
    ) -> None:
        self._pinned_addresses = pinned_addresses
        self._deadline = deadline
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        error: Exception | None = None
        for family, sockaddr in self._pinned_addresses:
            self._deadline.check()
            timeout = self._deadline.bounded(
                self.timeout if isinstance(self.timeout, int | float) else None
            )
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                for option in self.socket_options or ():
                    sock.setsockopt(*option)
                sock.settimeout(timeout)
                sock.connect(sockaddr)
            except TimeoutError:
                sock.close()
                error = ConnectTimeoutError(
                    self, f"Connection to {self.host} timed out. (connect timeout={timeout:g})"
                )
            except OSError as exc:
                sock.close()
                error = NewConnectionError(self, f"Failed to establish a new connection: {exc}")
            else:
                self._deadline.watch(sock)
                sys.audit("http.client.connect", self, self.host, self.port)
                return sock
        raise error or NewConnectionError(self, "No address to connect to.")


class _PinnedHTTPConnection(_PinnedConnectionMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedConnectionMixin, HTTPSConnection):
    pass


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class PinnedAdapter(HTTPAdapter):
    """The only transport our outbound sessions have: every request is vetted here (so no
    caller can skip it) and connected to the addresses vetted, in a pool of its own."""

    def get_connection_with_tls_context(
        self,
        request: requests.PreparedRequest,
        verify: Any,
        proxies: Mapping[str, str] | None = None,
        cert: Any = None,
    ) -> HTTPConnectionPool:
        target = vet_url(request.url or "")
        deadline = getattr(request, _DEADLINE_ATTRIBUTE, None)
        if deadline is None:  # used outside request(): still bounded, by a budget of its own
            deadline = _Deadline(settings.OUTBOUND_TOTAL_TIMEOUT)
        pinned = {"pinned_addresses": target.addresses, "deadline": deadline}
        pool: HTTPConnectionPool
        if target.scheme == "https":
            pool = _PinnedHTTPSPool(target.host, target.port, maxsize=1, **pinned)
        else:
            pool = _PinnedHTTPPool(target.host, target.port, maxsize=1, **pinned)
        deadline.own(pool)
        return pool

    def get_connection(self, url: str, proxies: Mapping[str, str] | None = None) -> Any:
        raise OutboundRefused("Outbound requests go through get_connection_with_tls_context.")

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        # Certificates are always verified: verify=False is not an option here.
        super().cert_verify(conn, url, verify or True, cert)


def new_session() -> requests.Session:
    """A requests session whose only transport is the PinnedAdapter: no proxies from the
    environment, no cookies kept."""
    session = requests.Session()
    session.trust_env = False
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.adapters.clear()
    adapter = PinnedAdapter(max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


# --- Requests -----------------------------------------------------------------------------------


def _origin(url: str) -> tuple[str, str, int]:
    parts = parse_url(url)
    scheme = (parts.scheme or "").lower()
    default_port = 443 if scheme == "https" else 80
    return (scheme, (parts.host or "").rstrip(".").lower(), parts.port or default_port)


def _tighten_socket_timeout(response: requests.Response, deadline: _Deadline) -> None:
    """Between chunks: the next recv may not wait past the deadline either."""
    connection = getattr(response.raw, "connection", None)
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.settimeout(deadline.bounded(settings.OUTBOUND_READ_TIMEOUT))


def _read_body(
    response: requests.Response,
    deadline: _Deadline,
    max_bytes: int,
    oversize: Literal["truncate", "raise"],
) -> bytes:
    chunks, size = [], 0
    for chunk in response.raw.stream(READ_CHUNK, decode_content=True):
        deadline.check()
        size += len(chunk)
        if size > max_bytes:
            if oversize == "raise":
                raise OutboundTooLarge(f"The response is larger than {max_bytes} bytes.")
            chunks.append(chunk[: max_bytes - (size - len(chunk))])
            break
        chunks.append(chunk)
        _tighten_socket_timeout(response, deadline)
    # A body cut by the deadline can look complete (no Content-Length): never trust it.
    deadline.check()
    return b"".join(chunks)


def request(
    method: str,
    url: str,
    *,
    session: requests.Session | None = None,
    headers: Mapping[str, str] | None = None,
    auth: Any = None,
    params: Any = None,
    data: Any = None,
    json: Any = None,
    max_bytes: int | None = None,
    oversize: Literal["truncate", "raise"] = "truncate",
    follow_redirects: bool = True,
) -> requests.Response:
    """One exchange, redirects included (at most MAX_REDIRECTS, each hop vetted again), within
    OUTBOUND_TOTAL_TIMEOUT. Returns a Response whose body is already read (at most max_bytes,
    default OUTBOUND_MAX_RESPONSE_BYTES: cut, or OutboundTooLarge if oversize="raise").

    With follow_redirects=False a redirect is returned as it is (its body read the same way).
    Raises OutboundRefused for a URL we never send to, OutboundTimeout (a requests.Timeout)
    past the deadline, and requests exceptions for network errors. Credentials (auth, the
    Authorization header, cookies) are sent only to the first URL's origin."""
    own_session = session is None
    session = session or new_session()
    limit = max_bytes or settings.OUTBOUND_MAX_RESPONSE_BYTES
    deadline = _Deadline(settings.OUTBOUND_TOTAL_TIMEOUT)
    verify = settings.OUTBOUND_CA_BUNDLE or True
    first_origin = None
    try:
        for _hop in range(MAX_REDIRECTS + 1):
            _parse(url)  # a malformed URL is refused here, not reported as a network error
            prepared = session.prepare_request(
                requests.Request(
                    method, url, headers=dict(headers or {}), params=params, data=data, json=json
                )
            )
            origin = _origin(prepared.url or "")
            first_origin = first_origin or origin
            if origin == first_origin:
                if auth is not None:
                    prepared.prepare_auth(auth, prepared.url or "")
            else:
                # requests strips these only in its own redirect handling, which we replace.
                for name in ("Authorization", "Proxy-Authorization", "Cookie"):
                    prepared.headers.pop(name, None)
            setattr(prepared, _DEADLINE_ATTRIBUTE, deadline)
            deadline.check()
            timeout = (
                deadline.bounded(settings.OUTBOUND_CONNECT_TIMEOUT),
                deadline.bounded(settings.OUTBOUND_READ_TIMEOUT),
            )
            response = session.send(
                prepared, stream=True, allow_redirects=False, timeout=timeout, verify=verify
            )
            try:
                if follow_redirects and response.is_redirect:
                    url = urljoin(prepared.url or url, response.headers["Location"])
                    params = None  # the Location is the whole next URL
                    if response.status_code == SEE_OTHER and method.upper() != "HEAD":
                        method, data, json = "GET", None, None
                    continue
                body = _read_body(response, deadline, limit, oversize)
            finally:
                response.close()
            response._content = body
            response._content_consumed = True
            return response
        raise OutboundRefused(f"More than {MAX_REDIRECTS} redirects.")
    except (OutboundRefused, OutboundTooLarge):
        raise
    except Exception:
        if deadline.expired:
            raise OutboundTimeout(f"No complete answer within {deadline.seconds:g} s.") from None
        raise
    finally:
        deadline.close()
        if own_session:
            session.close()


def post(url: str, *, body: bytes, headers: dict[str, str]) -> OutboundResponse:
    """POST with every check above. Network errors and timeouts raise requests exceptions;
    refused URLs raise OutboundRefused."""
    response = request("POST", url, data=body, headers=headers)
    return OutboundResponse(response.status_code, dict(response.headers), response.content)
