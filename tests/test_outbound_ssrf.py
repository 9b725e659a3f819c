"""SSRF: URL forms that mean "our own network", sent through the real delivery path (Slack,
Teams and webhook channels) and the real ATS API clients, at a listener on 127.0.0.1 that must
never see a request. Also: a DNS answer that changes between lookups, redirects into the
network, credentials across origins, and the pinned connection still sending the right Host,
SNI and certificate check.

No test reaches the internet: socket.getaddrinfo is patched with a fixed table of names, and
socket.socket.connect refuses (and records) every destination that is not loopback."""

from __future__ import annotations

import ipaddress
import re
import socket
import ssl

import pytest
import trustme
from pytest_httpserver import HTTPServer
from werkzeug.wrappers import Response

from config import outbound
from delivery.models import DeliveryChannel
from delivery.services import channel_send_test
from tests.ats import connection
from tests.factories import OrganizationFactory, member
from webhooks.ats_clients import api_client_for_connection
from webhooks.providers.api_session import ApiError

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.216.34"  # a public address: vetting accepts it, the connect guard refuses it
NAMES = {
    "good.example": [PUBLIC],
    "intranet.example": ["127.0.0.1"],
    "mixed.example": [PUBLIC, "127.0.0.1"],  # one good address is not enough
    "v6loop.example": ["::1"],
    "mapped.example": ["::ffff:127.0.0.1"],
    "nat64.example": ["64:ff9b::7f00:1"],
    "metadata.example": ["169.254.169.254"],
    "cgnat.example": ["100.64.0.7"],
}

# {port} is the listener's. Each form is refused before any connection is made.
FORMS = [
    "http://127.0.0.1:{port}\\@good.example/",  # the issue's: urlsplit says good.example
    "http://127.0.0.1:{port}@good.example/",
    "http://good.example@127.0.0.1:{port}/",
    "http://user:pass@127.0.0.1:{port}/",
    "http://good.example:x@127.0.0.1:{port}/",
    "http://127.0.0.1:{port}%2F@good.example/",
    "http://127.0.0.1:{port}/",
    "http://2130706433:{port}/",  # decimal
    "http://0177.0.0.1:{port}/",  # octal
    "http://0x7f.1:{port}/",  # hex, short
    "http://0x7f000001:{port}/",
    "http://127.1:{port}/",  # short
    "http://127.000.000.001:{port}/",
    "http://127.0.0.1.:{port}/",  # trailing dot
    "http://[::1]:{port}/",
    "http://[::ffff:127.0.0.1]:{port}/",  # IPv4-mapped
    "http://[::ffff:7f00:1]:{port}/",
    "http://[0:0:0:0:0:ffff:127.0.0.1]:{port}/",
    "http://[::127.0.0.1]:{port}/",  # IPv4-compatible
    "http://[64:ff9b::127.0.0.1]:{port}/",  # NAT64
    "http://[2002:7f00:1::]:{port}/",  # 6to4
    "http://[fe80::1%25lo]:{port}/",  # zone id
    "http://0.0.0.0:{port}/",  # Linux connects this to loopback
    "http://0:{port}/",
    "http://[::]:{port}/",
    "http://localhost:{port}/",
    "http://localhost.:{port}/",
    "http://LocalHost:{port}/",
    "http://intranet.example:{port}/",  # a name that resolves inside
    "http://intranet.example.:{port}/",
    "http://mixed.example:{port}/",
    "http://v6loop.example:{port}/",
    "http://mapped.example:{port}/",
    "http://nat64.example:{port}/",
    "http://%31%32%37.0.0.1:{port}/",  # percent-encoded host
    "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54:{port}/",  # fullwidth
    "http://127\u30020\u30020\u30021:{port}/",  # ideographic full stops
    "http:\\\\127.0.0.1:{port}/",
    "http://127.0.0.1\t:{port}/",
    "http://127.0.0.1:{port}\n/",
    "http://good.example\u200b:{port}/",  # zero-width space
    "http://127.0.0.1:{port}#@good.example/",
    "http://127.0.0.1:{port}?@good.example/",
    "http:/127.0.0.1:{port}/",
    "http://[::1",
    "ftp://127.0.0.1:{port}/",
    "gopher://127.0.0.1:{port}/_GET",
    "http://169.254.169.254/latest/meta-data/",
    "http://metadata.example/computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://100.100.100.200/latest/meta-data/",
    "http://168.63.129.16/machine",
    "http://cgnat.example/",
    "http://10.0.0.1/hook",
    "http://172.16.0.1/hook",
    "http://192.168.1.1/hook",
    "http://198.18.0.1/hook",
    "http://192.0.2.1/hook",
    "http://224.0.0.1/hook",
    "http://255.255.255.255/hook",
    "http://[fc00::1]/hook",
    "http://[fec0::1]/hook",
    "http://[2001:db8::1]/hook",
]
assert len(FORMS) >= 30

URL_KINDS = ["slack", "teams", "webhook"]
PROVIDERS = ["greenhouse", "lever", "ashby", "workable", "zoho", "smartrecruiters"]


class Network:
    """The patched resolver and connect guard, with what they saw."""

    def __init__(self) -> None:
        self.lookups: list[str] = []
        self.connects: list[tuple] = []
        self.overrides: dict[str, object] = {}


@pytest.fixture
def network(monkeypatch):
    net = Network()
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect

    def getaddrinfo(host, port, *args, **kwargs):
        name = str(host).rstrip(".").lower()
        net.lookups.append(name)
        answer = net.overrides.get(name, NAMES.get(name))
        if callable(answer):
            answer = answer()
        if answer is None:
            return real_getaddrinfo(host, port, *args, **kwargs)
        out = []
        for text in answer:
            if ipaddress.ip_address(text).version == 6:
                out.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, int(port), 0, 0)))
            else:
                out.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, int(port))))
        return out

    def connect(sock, address):
        net.connects.append(address)
        if address[0] not in ("127.0.0.1", "::1"):
            raise ConnectionRefusedError(f"test network: {address[0]} is outside this machine")
        return real_connect(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return net


@pytest.fixture
def listener(httpserver, settings):
    """The victim: anything it logs is a request that got through."""
    settings.ALLOWED_OUTBOUND_HOSTS = []
    settings.DELIVERY_BACKOFF_SECONDS = []
    settings.ATS_API_BACKOFF_SECONDS = []
    httpserver.expect_request(re.compile(".*")).respond_with_json({"ok": True})
    return httpserver


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Hundreds of cases each make a user: hashing its password properly would dominate.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _org_and_user():
    org = OrganizationFactory()
    return org, member(org)


def saved_channel(kind: str, url: str) -> DeliveryChannel:
    """A channel holding the URL as if it had been accepted earlier (the host was allowed,
    or its DNS changed since): the send path must refuse it on its own."""
    org, user = _org_and_user()
    return DeliveryChannel.objects.create(
        organization=org,
        owner=user,
        kind=kind,
        name=f"{kind} channel",
        config={"url": url, "secret": "whsec_" + "A" * 32},
    )


def ats_client(provider: str, base_url: str):
    org, _user = _org_and_user()
    conn = connection(
        org,
        provider,
        base_url=base_url,
        secrets={"webhook_secret": "s", "api_key": "THE-ATS-API-KEY"},
    )
    return api_client_for_connection(conn)


@pytest.mark.parametrize("kind", URL_KINDS)
@pytest.mark.parametrize("form", FORMS)
def test_channel_send_never_reaches_the_network(form, kind, listener, network):
    url = form.format(port=listener.port)
    outcome = channel_send_test(channel=saved_channel(kind, url))
    assert outcome["ok"] is False and outcome["permanent"] is True, outcome
    assert "URL refused" in outcome["error"]
    assert listener.log == []
    assert network.connects == []


@pytest.mark.parametrize("form", FORMS)
def test_ats_client_never_reaches_the_network(form, listener, network):
    url = form.format(port=listener.port)
    provider = PROVIDERS[FORMS.index(form) % len(PROVIDERS)]
    with pytest.raises(ApiError, match="ATS URL refused") as exc:
        ats_client(provider, url).list_jobs()
    assert not exc.value.retryable
    assert listener.log == []
    assert network.connects == []


@pytest.mark.parametrize("form", FORMS)
def test_channel_creation_refuses_the_same_forms(form, listener, network):
    from django.core.exceptions import ValidationError

    from delivery.channel_services import channel_create

    org, user = _org_and_user()
    with pytest.raises(ValidationError):
        channel_create(
            org=org,
            owner=user,
            kind="slack",
            name="Slack",
            config={"url": form.format(port=listener.port)},
        )
    assert listener.log == [] and network.connects == []


def _rebinding(network, name: str) -> None:
    """The first answer is public, every later one is 127.0.0.1."""

    def answer():
        return [PUBLIC] if network.lookups.count(name) == 1 else ["127.0.0.1"]

    network.overrides[name] = answer


@pytest.mark.parametrize("kind", URL_KINDS)
def test_dns_rebinding_cannot_reach_loopback_from_a_channel(kind, listener, network):
    _rebinding(network, "rebind.example")
    url = f"http://rebind.example:{listener.port}/hook"
    outcome = channel_send_test(channel=saved_channel(kind, url))
    assert outcome["ok"] is False
    assert listener.log == []
    # One lookup, and the connection went to the address that lookup vetted.
    assert network.lookups.count("rebind.example") == 1
    assert [a[0] for a in network.connects] == [PUBLIC]


def test_dns_rebinding_cannot_reach_loopback_from_the_ats_client(listener, network):
    _rebinding(network, "rebind.example")
    with pytest.raises(ApiError) as exc:
        ats_client("greenhouse", f"http://rebind.example:{listener.port}/v1").list_jobs()
    assert exc.value.retryable  # the (public) address did not answer: a network error
    assert listener.log == []
    assert network.lookups.count("rebind.example") == 1
    assert [a[0] for a in network.connects] == [PUBLIC]


@pytest.fixture
def redirector(settings):
    """A "public" server (an allowed name that the test resolver puts on 127.0.0.1)."""
    server = HTTPServer(host="127.0.0.1", port=0)
    server.start()
    settings.ALLOWED_OUTBOUND_HOSTS = ["public.example"]
    yield server
    server.clear()
    server.stop()


@pytest.mark.parametrize(
    "location",
    [
        "http://127.0.0.1:{port}/internal",
        "http://2130706433:{port}/internal",
        "http://[::ffff:127.0.0.1]:{port}/internal",
        "http://intranet.example:{port}/internal",
        "http://localhost:{port}/internal",
        "http://public.example@127.0.0.1:{port}/internal",
        "http://127.0.0.1:{port}\\@public.example/internal",
    ],
)
def test_a_redirect_into_the_network_is_refused(location, listener, redirector, network):
    network.overrides["public.example"] = ["127.0.0.1"]
    target = location.format(port=listener.port)
    redirector.expect_request(re.compile(".*")).respond_with_response(
        Response(status=307, headers={"Location": target})
    )
    start = f"http://public.example:{redirector.port}/hook"
    outcome = channel_send_test(channel=saved_channel("slack", start))
    assert outcome["ok"] is False and outcome["permanent"] is True
    assert "URL refused" in outcome["error"]
    with pytest.raises(ApiError):  # the ATS client never follows a redirect at all
        ats_client("greenhouse", f"http://public.example:{redirector.port}/v1").list_jobs()
    assert len(redirector.log) == 2
    assert listener.log == []


def test_pinned_connection_sends_the_name_and_never_looks_it_up_again(
    httpserver, network, settings
):
    settings.ALLOWED_OUTBOUND_HOSTS = ["pinned.example"]
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    httpserver.expect_request("/v1/jobs").respond_with_json([{"id": 7, "name": "Engineer"}])

    def answer():  # 127.0.0.1 once; a lookup after that would fail
        if network.lookups.count("pinned.example") > 1:
            raise socket.gaierror(socket.EAI_NONAME, "looked up twice")
        return ["127.0.0.1"]

    network.overrides["pinned.example"] = answer
    url = f"http://pinned.example:{httpserver.port}/hook"
    outcome = channel_send_test(channel=saved_channel("webhook", url))
    assert outcome["ok"] is True, outcome
    (request, _response) = httpserver.log[0]
    assert request.headers["Host"] == f"pinned.example:{httpserver.port}"
    assert network.lookups.count("pinned.example") == 1

    network.lookups.clear()
    jobs = ats_client("greenhouse", f"http://pinned.example:{httpserver.port}/v1").list_jobs()
    assert [j["id"] for j in jobs] == ["7"]
    request = httpserver.log[1][0]
    assert request.headers["Host"] == f"pinned.example:{httpserver.port}"
    assert request.authorization.username == "THE-ATS-API-KEY"
    assert network.lookups.count("pinned.example") == 1


def test_allowed_host_still_needs_an_unambiguous_url(listener, network, settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1", "good.example"]
    for url in (
        f"http://127.0.0.1:{listener.port}\\@good.example/",
        f"http://good.example@127.0.0.1:{listener.port}/",
        f"http://2130706433:{listener.port}/",
    ):
        outcome = channel_send_test(channel=saved_channel("slack", url))
        assert outcome["ok"] is False and "URL refused" in outcome["error"]
    assert listener.log == []


def _servers_for_origins(settings, network):
    first, second = HTTPServer(host="127.0.0.1", port=0), HTTPServer(host="127.0.0.1", port=0)
    first.start()
    second.start()
    settings.ALLOWED_OUTBOUND_HOSTS = ["first.example", "second.example"]
    network.overrides["first.example"] = ["127.0.0.1"]
    network.overrides["second.example"] = ["127.0.0.1"]
    return first, second


def test_credentials_go_only_to_the_first_origin(settings, network):
    first, second = _servers_for_origins(settings, network)
    try:
        first.expect_ordered_request("/start").respond_with_response(
            Response(status=302, headers={"Location": "/same-origin"})
        )
        first.expect_ordered_request("/same-origin").respond_with_response(
            Response(
                status=307,
                headers={"Location": f"http://second.example:{second.port}/elsewhere"},
            )
        )
        second.expect_request("/elsewhere").respond_with_data("done")
        response = outbound.request(
            "GET",
            f"http://first.example:{first.port}/start",
            headers={"Authorization": "Bearer SECRET", "X-Trace": "kept"},
        )
        assert response.status_code == 200 and response.content == b"done"
        assert [r.headers.get("Authorization") for r, _ in first.log] == ["Bearer SECRET"] * 2
        (request, _) = second.log[0]
        assert "Authorization" not in request.headers
        assert request.headers["X-Trace"] == "kept"

        second.clear()
        first.clear()
        first.expect_request("/start").respond_with_response(
            Response(status=307, headers={"Location": f"http://second.example:{second.port}/x"})
        )
        second.expect_request("/x").respond_with_data("done")
        outbound.request("GET", f"http://first.example:{first.port}/start", auth=("user", "pw"))
        assert first.log[0][0].authorization.username == "user"
        assert "Authorization" not in second.log[0][0].headers
    finally:
        first.stop()
        second.stop()


def test_too_many_redirects_are_refused(settings, network):
    first, second = _servers_for_origins(settings, network)
    try:
        first.expect_request("/loop").respond_with_response(
            Response(status=307, headers={"Location": "/loop"})
        )
        with pytest.raises(outbound.OutboundRefused, match="redirects"):
            outbound.request("POST", f"http://first.example:{first.port}/loop", data=b"x")
        assert len(first.log) == outbound.MAX_REDIRECTS + 1
    finally:
        first.stop()
        second.stop()


@pytest.fixture
def tls_server(tmp_path, settings, network):
    """An HTTPS server on 127.0.0.1 with a certificate for secure.example, signed by a CA
    of this test's own; records the SNI name each handshake asked for."""
    ca = trustme.CA()
    cert = ca.issue_cert("secure.example")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    seen_sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    settings.OUTBOUND_CA_BUNDLE = str(bundle)
    settings.ALLOWED_OUTBOUND_HOSTS = ["secure.example", "other.example"]
    settings.DELIVERY_BACKOFF_SECONDS = []
    network.overrides["secure.example"] = ["127.0.0.1"]
    network.overrides["other.example"] = ["127.0.0.1"]
    server.seen_sni = seen_sni
    yield server
    server.clear()
    server.stop()


def test_https_pinned_to_the_address_keeps_sni_and_checks_the_name(tls_server, network):
    tls_server.expect_request("/hook").respond_with_data("", status=204)
    url = f"https://secure.example:{tls_server.port}/hook"
    outcome = channel_send_test(channel=saved_channel("webhook", url))
    assert outcome["ok"] is True, outcome
    assert tls_server.seen_sni == ["secure.example"]
    (request, _) = tls_server.log[0]
    assert request.headers["Host"] == f"secure.example:{tls_server.port}"
    assert network.lookups.count("secure.example") == 1
    assert [a[0] for a in network.connects] == ["127.0.0.1"]

    # The same address under another name: the certificate does not match, nothing is sent.
    other = f"https://other.example:{tls_server.port}/hook"
    outcome = channel_send_test(channel=saved_channel("webhook", other))
    assert outcome["ok"] is False and "SSLError" in outcome["error"]
    assert len(tls_server.log) == 1


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:4700::1111", True),
        ("::ffff:93.184.216.34", True),
        ("64:ff9b::5db8:d822", True),
        ("127.0.0.1", False),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("168.63.129.16", False),
        ("192.0.0.192", False),
        ("198.19.255.255", False),
        ("203.0.113.9", False),
        ("240.0.0.1", False),
        ("::", False),
        ("::1", False),
        ("::7f00:1", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b:1::1", False),
        ("2002:a00:1::", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("fc00::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("100::1", False),
    ],
)
def test_only_plainly_global_unicast_addresses_are_public(address, public):
    assert (outbound.address_problem(ipaddress.ip_address(address)) is None) is public


def test_port_zero_is_refused_not_quietly_replaced(network):
    # requests drops ":0" and would connect to port 80 instead.
    with pytest.raises(outbound.OutboundRefused, match="port"):
        outbound.check_url("http://good.example:0/hook")
    assert network.connects == []
