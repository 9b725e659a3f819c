"""Email that behaves (issue 10, section 9): one message per recipient with List-Unsubscribe
(RFC 8058) that works, a footer saying why the recipient gets it, a run link the recipient can
open without an account, a proper HTML document, a body capped under Gmail's clipping size and
cut honestly, and a subject that cannot inject headers.

Messages go through the real delivery service into Django's locmem backend (and once through
a real SMTP server on 127.0.0.1); the HTML is checked with html5lib, the headers with Python's
email parser, the pages with Django's test client."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import html5lib
import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Membership
from automations.firing import run_fire
from automations.run_keys import manual_key
from delivery.channel_services import channel_create
from delivery.links import RunLinkInvalid, address_hash, run_link_check, run_page_url
from delivery.models import Delivery, DeliveryChannel, EmailSuppression
from delivery.services import channel_send_test, deliver_result
from delivery.unsubscribe import unsubscribe_check, unsubscribe_token
from skills.results import SkillResult
from tests.factories import OrganizationFactory, automation, member
from tests.live import SmtpInbox

pytestmark = pytest.mark.django_db

SITE = "https://app.skillomatic.test"
ALICE, BOB = "alice@one.test", "bob@two.test"
GMAIL_CLIP_BYTES = 102 * 1024


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def org():
    return OrganizationFactory(name="Acme Talent")


@pytest.fixture
def owner(org):
    return member(org, first_name="Olivia", last_name="Owner", email="olivia@acme.test")


@pytest.fixture
def channel(org, owner):
    made, _ = channel_create(
        org=org, owner=owner, kind="email", name="Hiring team", config={"to": [ALICE, BOB]}
    )
    return made


@pytest.fixture
def auto(org, owner, channel):
    made = automation(org=org, owner=owner, name="Weekly pipeline")
    made.delivery_channels.set([channel])
    return made


def new_run(auto):
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    return run


def deliver(auto, *, title="Pipeline report", body="**37 active applications**\n", run=None):
    run = run or new_run(auto)
    result = SkillResult(title=title, body_markdown=body, data={}, summary="37 applications.")
    mail.outbox.clear()
    outcomes = deliver_result(run=run, automation=auto, result=result)
    return run, outcomes, list(mail.outbox)


def parsed(message) -> email.message.EmailMessage:
    """What a mail client sees: the message as bytes on the wire, parsed again."""
    return email.message_from_bytes(message.message().as_bytes(), policy=email.policy.default)


def html_of(message) -> str:
    ((html, mimetype),) = message.alternatives
    assert mimetype == "text/html"
    return html


def path_of(url: str) -> str:
    assert url.startswith(SITE + "/"), url
    return url[len(SITE) :]


def unsubscribe_link(message) -> str:
    header = parsed(message)["List-Unsubscribe"].strip()  # a long header is folded
    match = re.fullmatch(r"<(https://[^>]+)>", header)
    assert match, header
    return match.group(1)


def run_link_for(message, recipient: str) -> str:
    text = message.body
    (link,) = set(re.findall(re.escape(SITE) + r"/runs/[^\s]+", text))
    token = parse_qs(urlsplit(link).query)["k"][0]
    assert run_link_check(token, run_public_id=urlsplit(link).path.split("/")[2]) == (
        address_hash(recipient)
    )
    return link


# --- Headers, one message per recipient -----------------------------------------------------


def test_one_message_per_recipient_with_one_click_unsubscribe(auto):
    run, outcomes, sent = deliver(auto)
    assert outcomes[0]["status"] == "sent"
    assert sorted(m.to[0] for m in sent) == [ALICE, BOB]
    delivery = Delivery.objects.get(run=run)
    unsubscribe_urls = set()
    for message in sent:
        headers = parsed(message)
        assert headers.get_all("To") == [message.to[0]] and not headers.get_all("Cc")
        assert headers["X-Skillomatic-Message"] == f"msg_{delivery.public_id.hex}"
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["Auto-Submitted"] == "auto-generated"
        assert headers["Reply-To"] == "olivia@acme.test"
        link = unsubscribe_link(message)
        assert link.startswith(f"{SITE}/email/unsubscribe/")
        token = path_of(link).split("/")[3]
        assert unsubscribe_check(token) == (
            auto.delivery_channels.get(),
            address_hash(message.to[0]),
        )
        unsubscribe_urls.add(link)
    assert len(unsubscribe_urls) == 2  # each names its own recipient


def test_message_id_is_stable_across_retries_of_one_delivery(auto):
    run, _, first = deliver(auto)
    Delivery.objects.filter(run=run).update(status=Delivery.Status.FAILED)
    _, _, second = deliver(auto, run=run)
    ids = lambda sent: {m.to[0]: parsed(m)["Message-ID"] for m in sent}  # noqa: E731
    assert ids(first) == ids(second)
    assert len(set(ids(first).values())) == 2


# --- The HTML document and its links -------------------------------------------------------


def html_document(html: str):
    parser = html5lib.HTMLParser(strict=True, namespaceHTMLElements=False)
    return parser.parse(html)  # strict: raises on any parse error


def test_html_is_a_whole_document_with_lang_charset_and_escaped_title(auto):
    title = 'Pipeline <script>alert(1)</script> & "friends"'
    _, _, sent = deliver(auto, title=title)
    for message in sent:
        doc = html_document(html_of(message))
        assert doc.get("lang") == "en"
        head = doc.find("head")
        assert head.find("meta[@charset]").get("charset").lower() == "utf-8"
        assert any(m.get("name") == "viewport" for m in head.findall("meta"))
        assert head.find("title").text == title  # shown as text, not run
        assert doc.find(".//script") is None
        assert html_of(message).lower().startswith("<!doctype html>")
        assert parsed(message).get_body(("plain",)) is not None


def test_every_link_is_the_signed_run_page_or_the_unsubscribe_link(auto, client):
    body = (
        "**3 new applicants**\n\n"
        '- <a href="https://evil.example/phish">Verify</a> <img src=x onerror=alert(1)>\n'
        "- Zoë & Ō'Brien <b>bold</b>\n"
    )
    run, _, sent = deliver(auto, body=body)
    for message in sent:
        recipient = message.to[0]
        doc = html_document(html_of(message))
        assert doc.find(".//img") is None and doc.find(".//b") is None
        hrefs = [a.get("href") for a in doc.iter("a")]
        assert hrefs, "the footer links"
        for href in hrefs:
            if href == unsubscribe_link(message):
                continue
            parts = urlsplit(href)
            assert f"{parts.scheme}://{parts.netloc}" == SITE
            assert parts.path == f"/runs/{run.public_id}/"
            token = parse_qs(parts.query)["k"][0]
            assert run_link_check(token, run_public_id=run.public_id) == address_hash(recipient)
            # ...and it opens the run's page without logging in.
            assert client.get(path_of(href)).status_code == 200


def test_footer_says_why_the_recipient_gets_it_and_how_to_stop(auto, org):
    _, _, sent = deliver(auto)
    why = (
        "You get this because Olivia Owner (olivia@acme.test) added you to the automation "
        f"“Weekly pipeline” in {org.name}."
    )
    for message in sent:
        text = " ".join(message.body.split())
        assert why.replace("“", '"').replace("”", '"') in text
        assert "To stop getting these emails, unsubscribe: " + unsubscribe_link(message) in text
        # The plain-text part carries the same two links as the HTML, and no others.
        urls = set(re.findall(r"https?://[^\s>]+", message.body))
        assert urls == {run_link_for(message, message.to[0]), unsubscribe_link(message)}
        doc = html_document(html_of(message))
        footer = " ".join("".join(doc.find("body").itertext()).split())
        assert why in footer and "Unsubscribe" in footer


def test_the_channel_test_message_has_the_same_headers_and_footer(channel):
    mail.outbox.clear()
    assert channel_send_test(channel=channel)["ok"]
    assert len(mail.outbox) == 2
    for message in mail.outbox:
        assert unsubscribe_link(message).startswith(f"{SITE}/email/unsubscribe/")
        assert "added this address to an email channel in Acme Talent" in message.body
        html_document(html_of(message))


# --- Unsubscribing --------------------------------------------------------------------------


def test_unsubscribe_get_asks_and_changes_nothing(auto):
    _, _, sent = deliver(auto)
    response = Client().get(path_of(unsubscribe_link(sent[0])))
    assert response.status_code == 200
    page = html_document(response.content.decode())
    assert page.find(".//form").get("method") == "post"
    assert b"Weekly pipeline" in response.content
    assert ALICE.encode() not in response.content and BOB.encode() not in response.content
    assert not EmailSuppression.objects.exists()
    _, _, again = deliver(auto)
    assert len(again) == 2


def test_one_click_post_unsubscribes_that_address_only(auto, channel):
    _, _, sent = deliver(auto)
    alice_mail = next(m for m in sent if m.to == [ALICE])
    client = Client(enforce_csrf_checks=True)  # as a mail client posts: no CSRF token
    path = path_of(unsubscribe_link(alice_mail))
    for _ in range(2):  # idempotent: the second POST changes nothing
        response = client.post(
            path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
        assert b"You are unsubscribed" in response.content
    assert EmailSuppression.objects.get().address_hash == address_hash(ALICE)
    assert b"You are unsubscribed" in client.get(path).content  # GET now says so

    _, outcomes, later = deliver(auto)
    assert [m.to for m in later] == [[BOB]]
    assert outcomes[0]["status"] == "sent" and "1 unsubscribed" in outcomes[0]["detail"]
    # The address is recognised whatever its case in the channel's list.
    channel.config = {"to": [ALICE.upper(), BOB]}
    channel.save()
    _, _, later = deliver(auto)
    assert [m.to for m in later] == [[BOB]]


def test_when_every_recipient_unsubscribed_nothing_is_sent_and_the_channel_is_not_broken(
    auto, channel
):
    _, _, sent = deliver(auto)
    for message in sent:
        Client().post(path_of(unsubscribe_link(message)))
    run, outcomes, later = deliver(auto)
    assert later == []
    (outcome,) = outcomes
    assert outcome["status"] == "failed" and outcome["permanent"] is True
    assert "unsubscribed" in outcome["error"]
    delivery = Delivery.objects.get(run=run)
    assert delivery.status == Delivery.Status.FAILED and delivery.attempts == 1  # not retried
    channel.refresh_from_db()
    assert channel.status == DeliveryChannel.Status.OK


def tampered(token: str) -> str:
    return token[:-1] + ("A" if token[-1] != "A" else "B")


@pytest.mark.parametrize(
    "make_token",
    [
        lambda ch: "nonsense",
        lambda ch: "a" * 5000,
        lambda ch: tampered(unsubscribe_token(channel=ch, address=ALICE)),
        lambda ch: unsubscribe_token(channel=ch, address=ALICE).split(":")[0],
        # A run link's token is signed by us too, but for another purpose.
        lambda ch: "eyJjIjoiMSJ9:1t0:" + "x" * 27,
        lambda ch: "%00%ff%fe",
    ],
    ids=["garbage", "huge", "tampered", "unsigned", "forged", "bytes"],
)
def test_bad_unsubscribe_tokens_are_a_clear_404_and_change_nothing(channel, make_token):
    path = f"/email/unsubscribe/{make_token(channel)}/"
    for method in ("get", "post"):
        response = getattr(Client(), method)(path)
        assert response.status_code == 404, (method, response.status_code)
        assert b"not valid" in response.content
    assert not EmailSuppression.objects.exists()
    assert Client().put(path).status_code == 405


def test_an_unsubscribe_link_of_a_removed_channel_says_so(channel):
    path = f"/email/unsubscribe/{unsubscribe_token(channel=channel, address=ALICE)}/"
    channel.delete()
    response = Client().post(path)
    assert response.status_code == 404 and b"has been removed" in response.content


# --- The run page -----------------------------------------------------------------------------


def test_the_signed_run_link_opens_the_page_without_login(auto):
    _, _, sent = deliver(auto)
    alice_mail = next(m for m in sent if m.to == [ALICE])
    response = Client().get(path_of(run_link_for(alice_mail, ALICE)))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Weekly pipeline" in page
    assert "The full result was sent to you by email. Skillomatic does not keep a copy" in page
    # An outside recipient learns nothing about the channel or its other recipients.
    assert BOB not in page and "Hiring team" not in page
    assert response["Referrer-Policy"] == "no-referrer"
    html_document(page)


def test_run_link_tokens_work_only_for_their_run_and_time(auto, owner):
    run, _, sent = deliver(auto)
    link = run_link_for(next(m for m in sent if m.to == [ALICE]), ALICE)
    token = parse_qs(urlsplit(link).query)["k"][0]
    other_run = new_run(auto)
    client = Client()
    assert client.get(f"/runs/{other_run.public_id}/?k={token}").status_code == 404
    assert client.get(f"/runs/{run.public_id}/?k={tampered(token)}").status_code == 404
    assert client.get(f"/runs/{run.public_id}/?k=").status_code == 302  # asks to log in
    assert client.get(f"/runs/{run.public_id}/?k=%00%ff").status_code == 404
    assert client.get("/runs/not-a-uuid/?k=x").status_code == 404
    with pytest.raises(RunLinkInvalid):
        run_link_check(token, run_public_id=other_run.public_id)
    stranger = Client()
    stranger.force_login(member(OrganizationFactory()))
    owner_client = Client()
    owner_client.force_login(owner)
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        expired = client.get(path_of(link))
        assert b"This link has expired" in stranger.get(path_of(link)).content
        assert owner_client.get(path_of(link)).status_code == 200  # their own rights
    assert expired.status_code == 404 and b"This link has expired" in expired.content
    with time_machine.travel(timezone.now() + timedelta(days=6)):
        assert client.get(path_of(link)).status_code == 200


def test_members_who_may_see_the_run_see_it_others_get_404(
    auto, org, owner, org_admin, member, other_org_admin, outsider
):
    run = new_run(auto)
    path = f"/runs/{run.public_id}/"
    assert Client().get(path).status_code == 302  # anonymous, no token: log in first

    def as_user(user):
        client = Client()
        client.force_login(user)
        return client.get(path)

    mine = as_user(owner)
    assert mine.status_code == 200 and b"Manage this automation" in mine.content
    assert as_user(org_admin).status_code == 200
    assert as_user(member).status_code == 404  # a colleague, not an admin
    assert as_user(other_org_admin).status_code == 404
    assert as_user(outsider).status_code == 404
    # Admin elsewhere and a plain member here: still not this run.
    Membership.objects.create(user=other_org_admin, organization=org, role=Membership.Role.MEMBER)
    assert as_user(other_org_admin).status_code == 404
    # A foreign user with a run link made for someone else's run page works only as a link.
    link = run_page_url(run, recipient=ALICE)
    client = Client()
    client.force_login(outsider)
    assert client.get(path_of(link)).status_code == 200
    assert client.get(path_of(link)[:-3] + "bad").status_code == 404


def test_the_run_page_escapes_what_users_typed(org, owner):
    hostile = automation(org=org, owner=owner, name='<script>alert("x")</script>')
    run = new_run(hostile)
    response = Client().get(path_of(run_page_url(run, recipient=ALICE)))
    assert response.status_code == 200
    assert b"<script>" not in response.content
    assert b"&lt;script&gt;" in response.content


# --- Long results -------------------------------------------------------------------------------


def long_result(megabytes: float) -> tuple[str, list[str]]:
    lines, size = [], 0
    while size < megabytes * 1024 * 1024:
        lines.append(
            f"- **Candidate {len(lines) + 1}** 山田太郎 & <Ō'Brien> · Onsite · 3 days in stage"
        )
        size += len(lines[-1].encode()) + 1
    return "## Pipeline\n\n" + "\n".join(lines) + "\n", lines


def test_a_2_mb_result_is_cut_under_the_cap_with_an_honest_note_and_the_run_link(auto):
    body, lines = long_result(2)
    run, outcomes, sent = deliver(auto, body=body)
    assert outcomes[0]["status"] == "sent" and "cut to fit one email" in outcomes[0]["detail"]
    for message in sent:
        html = html_of(message)
        assert len(html.encode()) < 100 * 1024 < GMAIL_CLIP_BYTES
        assert len(message.message().as_bytes()) < 400 * 1024  # both parts, encoded
        doc = html_document(html)
        items = [" ".join("".join(li.itertext()).split()) for li in doc.iter("li")]
        shown = len(items)
        assert 100 < shown < len(lines)
        # Whole lines only, in order, the last one complete.
        assert items[-1] == f"Candidate {shown} 山田太郎 & <Ō'Brien> · Onsite · 3 days in stage"
        note = (
            f"The result was too long for one email: {len(lines) - shown:,} more lines were "
            "not included."
        )
        text = " ".join("".join(doc.find("body").itertext()).split())
        assert note in text
        assert note in " ".join(message.body.split())
        note_links = [a.get("href") for a in doc.iter("a") if "page" in (a.text or "")]
        assert note_links and urlsplit(note_links[0]).path == f"/runs/{run.public_id}/"
        # The text part holds the same lines, as typed (no markdown).
        assert f"- Candidate {shown} " in message.body
        assert f"- Candidate {shown + 1} " not in message.body
        assert "**" not in message.body


def test_one_enormous_line_is_cut_at_a_space_and_says_so(auto):
    body = "word " * 400_000 + "\nsecond line\n"
    _, _, sent = deliver(auto, body=body)
    html = html_of(sent[0])
    assert len(html.encode()) < 100 * 1024
    assert "the rest of a long line and 1 more line were not included" in " ".join(
        sent[0].body.split()
    )
    html_document(html)


def test_a_body_with_a_lone_surrogate_is_still_sent(auto):
    # ATS JSON may carry "\\ud800"; UTF-8 cannot encode it, so sending would fail on every try.
    _, outcomes, sent = deliver(auto, body="- Jos\ud800é\n")
    assert outcomes[0]["status"] == "sent" and len(sent) == 2
    assert "Jos\ufffdé" in parsed(sent[0]).get_body(("plain",)).get_content()


def test_a_short_result_is_not_cut(auto):
    body, lines = long_result(0.02)
    _, outcomes, sent = deliver(auto, body=body)
    assert "too long" not in sent[0].body and "cut" not in outcomes[0]["detail"]
    assert f"- Candidate {len(lines)} " in sent[0].body


# --- The subject line ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "Report\r\nBcc: evil@attacker.test",
        "Report\nBcc: evil@attacker.test\n\n<h1>body</h1>",
        "Report\rX-Injected: 1",
        "Report\u2028Bcc: evil@attacker.test\u0085X-Injected: 1",
        "Report\x00\x1b[31m\x0bX-Injected: 1\x0c",
        "Report \u202egnp.exe",
        "Report \ud800 lone surrogate",
    ],
    ids=["crlf", "lf", "cr", "unicode-separators", "controls", "bidi", "surrogate"],
)
def test_a_subject_with_line_breaks_or_controls_cannot_inject_headers(auto, title):
    _, outcomes, sent = deliver(auto, title=title)
    assert outcomes[0]["status"] == "sent", outcomes
    assert sorted(m.to[0] for m in sent) == [ALICE, BOB]
    for message in sent:
        headers = parsed(message)
        assert headers["Bcc"] is None and headers["X-Injected"] is None
        subject = headers["Subject"].strip()  # unfolded
        assert subject.startswith("Report ") and subject.endswith("· Weekly pipeline")
        assert not any(c in subject for c in "\r\n\x00\x1b\x0b\x0c\u2028\u0085\u202e\ud800")
        assert message.recipients() == message.to


def test_a_long_subject_is_capped(auto):
    _, _, sent = deliver(auto, title="Pipeline " + "山" * 5000)
    subject = parsed(sent[0])["Subject"].strip()
    assert len(subject) <= 200 and subject.endswith("…")


# --- Through a real SMTP server -------------------------------------------------------------------


def test_through_smtp_each_recipient_gets_their_own_message(auto, settings):
    inbox = SmtpInbox().start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = (
            "127.0.0.1",
            inbox.port,
            False,
        )
        _, outcomes, _ = deliver(auto, title="Report\r\nBcc: evil@attacker.test")
    finally:
        inbox.stop()
    assert outcomes[0]["status"] == "sent"
    assert sorted(m.rcpt_tos for m in inbox.messages) == [[ALICE], [BOB]]
    for envelope in inbox.messages:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message["List-Unsubscribe"].strip().startswith(f"<{SITE}/email/unsubscribe/")
        assert message["Bcc"] is None
        html_document(message.get_body(("html",)).get_content())
