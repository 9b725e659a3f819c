"""Which client reads a connection's ATS, and which serves an organization's skills: its
connected ATS (through that provider's API client) when it has one with an API key, else the
sandbox.

API clients are kept per worker process, one per connection, so the runs and polls of one
connection reuse one client and its HTTP session instead of building them every time. A
cached client is used only while the connection's provider, base URL and API key are the ones
it was built with (compared by a fingerprint of the three, read from the row on every call),
so a rotated key or a new URL takes effect on the very next call, however it was written.
The cache is bounded (least recently used out), guarded by a lock, and emptied in a forked
child (Celery's prefork pool forks after the parent may have used it)."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict

from accounts.models import Organization
from webhooks.ats_read import AtsClient
from webhooks.models import AtsConnection
from webhooks.providers.api import ProviderApi
from webhooks.providers.api_session import ApiError
from webhooks.providers.records import ApiRecordsClient
from webhooks.providers.registry import provider_get
from webhooks.providers.sandbox import SandboxClient

MAX_CACHED_CLIENTS = 64

_lock = threading.Lock()
_clients: OrderedDict[int, tuple[str, ProviderApi]] = OrderedDict()


def _reset_after_fork() -> None:
    global _lock
    _lock = threading.Lock()  # a lock held by another thread at fork time is never released
    _clients.clear()


os.register_at_fork(after_in_child=_reset_after_fork)


def _api_key(connection: AtsConnection) -> str:
    provider = provider_get(connection.provider)
    if provider is None:
        raise ApiError(f"No API client for the provider {connection.provider!r}.", kind="config")
    api_key = (connection.secrets or {}).get("api_key")
    if not api_key:
        raise ApiError(f"The {connection.name} connection has no API key.", kind="config")
    return api_key


def api_client_new(connection: AtsConnection, *, retries: bool = True) -> ProviderApi:
    """A new client for the connection, not cached (connection_test: one try, current row).
    ApiError(kind="config") when its provider has no client or it has no API key."""
    api_key = _api_key(connection)
    provider = provider_get(connection.provider)
    assert provider is not None  # checked by _api_key
    return provider.api(connection.base_url, api_key, retries=retries)


def api_client_for_connection(connection: AtsConnection) -> ProviderApi:
    """The connection's API client, reused in this process while its provider, base URL and
    API key stay the same. ApiError(kind="config") as api_client_new."""
    fingerprint = hashlib.sha256(
        "\0".join((connection.provider, connection.base_url, _api_key(connection))).encode()
    ).hexdigest()
    with _lock:
        hit = _clients.get(connection.pk)
        if hit is not None and hit[0] == fingerprint:
            _clients.move_to_end(connection.pk)
            return hit[1]
    client = api_client_new(connection)
    with _lock:
        # Replaces the client built with the old key or URL; the least recently used go past
        # the bound. They are not closed: their sessions hold no open connection (the pinned
        # transport closes each request's pool), and a thread may still be using one.
        _clients[connection.pk] = (fingerprint, client)
        _clients.move_to_end(connection.pk)
        while len(_clients) > MAX_CACHED_CLIENTS:
            _clients.popitem(last=False)
    return client


def api_clients_forget(*, connection_id: int | None = None) -> None:
    """Drop one connection's cached client (or all): after the connection is deleted, so a
    reused primary key never meets a stale client, and in tests."""
    with _lock:
        if connection_id is None:
            _clients.clear()
        else:
            _clients.pop(connection_id, None)


def ats_client_for_org(*, org: Organization) -> AtsClient:
    for connection in AtsConnection.objects.filter(organization=org).order_by("created_at"):
        if (connection.secrets or {}).get("api_key") and provider_get(connection.provider):
            return ApiRecordsClient(api_client_for_connection(connection))
    return SandboxClient(org)


class OrgAtsClient:
    """The org's client (as ats_client_for_org picks it), looked up on first use: a run whose
    skill reads nothing from the ATS (an event alert built from the event alone) makes no
    query for it."""

    def __init__(self, org: Organization) -> None:
        self._org = org
        self._client: AtsClient | None = None

    def __getattr__(self, name: str):
        if self._client is None:
            self._client = ats_client_for_org(org=self._org)
        return getattr(self._client, name)
