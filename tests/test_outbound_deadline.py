"""The total deadline and the size cap of outbound requests: a server on 127.0.0.1 that
drips its answer a byte a second is cut at OUTBOUND_TOTAL_TIMEOUT although each byte comes
well within the read timeout; an ATS page over its cap is an error, not truncated JSON."""

from __future__ import annotations

import socket
import threading
import time

import pytest

from delivery.models import DeliveryChannel
from delivery.services import channel_send_test
from tests.factories import OrganizationFactory, member
from webhooks.providers.api_session import ApiError
from webhooks.providers.greenhouse import GreenhouseApi

pytestmark = pytest.mark.django_db

DRIP_BYTES = 8  # at a byte a second: without the deadline the exchange takes 8 s or more


class DripServer:
    """Answers every request with `head`, then sends `drip` a byte a second."""

    def __init__(self, head: bytes, drip: bytes) -> None:
        self.head, self.drip = head, drip
        self.stop = threading.Event()
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            try:
                conn.sendall(self.head)
                for byte in self.drip:
                    if self.stop.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.fixture
def drip_settings(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.OUTBOUND_READ_TIMEOUT = 2
    settings.OUTBOUND_TOTAL_TIMEOUT = 3
    settings.DELIVERY_BACKOFF_SECONDS = []
    settings.ATS_API_BACKOFF_SECONDS = []
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings


ANSWERS = {
    "a dripping body": (
        f"HTTP/1.1 200 OK\r\nContent-Length: {DRIP_BYTES}\r\n\r\n".encode(),
        b"x" * DRIP_BYTES,
    ),
    "a body that ends when the connection closes": (
        b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n",
        b"x" * DRIP_BYTES,
    ),
    "dripping headers": (b"HTTP/1.1 200 OK\r\n", b"X-Slow: " + b"y" * DRIP_BYTES),
}


@pytest.fixture(params=list(ANSWERS))
def dripper(request):
    server = DripServer(*ANSWERS[request.param])
    yield server
    server.close()


def test_a_channel_send_ends_at_the_total_deadline(dripper, drip_settings):
    org = OrganizationFactory()
    channel = DeliveryChannel.objects.create(
        organization=org,
        owner=member(org),
        kind="slack",
        name="Slack",
        config={"url": f"http://127.0.0.1:{dripper.port}/hook"},
    )
    started = time.monotonic()
    outcome = channel_send_test(channel=channel)
    elapsed = time.monotonic() - started
    assert dripper.requests == 1
    assert elapsed < 5, f"took {elapsed:.1f} s"
    # A timeout: retryable, and the channel is not marked failing for it.
    assert outcome["ok"] is False and outcome["permanent"] is False
    assert "did not answer in time" in outcome["error"]


def test_an_ats_call_ends_at_the_total_deadline(dripper, drip_settings):
    client = GreenhouseApi(f"http://127.0.0.1:{dripper.port}/v1", "key")
    started = time.monotonic()
    with pytest.raises(ApiError) as exc:
        client.list_jobs()
    elapsed = time.monotonic() - started
    assert dripper.requests == 1
    assert elapsed < 5, f"took {elapsed:.1f} s"
    assert exc.value.retryable and "Timeout" in str(exc.value)


def test_an_ats_page_over_its_cap_is_an_error_not_truncated_json(drip_settings, httpserver):
    drip_settings.OUTBOUND_ATS_MAX_RESPONSE_BYTES = 1000
    big = [{"id": n, "name": "x" * 50} for n in range(40)]  # about 2.6 kB
    httpserver.expect_request("/v1/jobs").respond_with_json(big)
    with pytest.raises(ApiError, match="larger than 1000 bytes") as exc:
        GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()
    assert not exc.value.retryable
    # Under the cap (the default is far larger than a delivery's 64 KiB) a page reads whole.
    drip_settings.OUTBOUND_ATS_MAX_RESPONSE_BYTES = 100_000
    drip_settings.OUTBOUND_MAX_RESPONSE_BYTES = 1000
    assert len(GreenhouseApi(httpserver.url_for("/v1"), "key").list_jobs()) == 40
