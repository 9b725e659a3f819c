"""What to do in each ATS with the webhook URL and secret the connect page shows: one or two
lines each, from the vendors' documentation (shared/reference/ats.md). Who issues the secret
is the provider's own declaration (we_choose_webhook_secret), not repeated here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Setup:
    where: str  # where the webhook URL goes
    secret: str  # what to do with the secret
    base_url: str = ""  # what to enter as the API URL, when the ATS needs one


SETUP: dict[str, Setup] = {
    "greenhouse": Setup(
        where="In Greenhouse, open Configure, then Dev Center, then Web Hooks, and create a web "
        "hook: paste the webhook URL as its Endpoint URL.",
        secret="Paste the secret below as the web hook's Secret key (Greenhouse takes any "
        "value). Greenhouse pings the URL when you save.",
    ),
    "lever": Setup(
        where="In Lever, open Settings, then Integrations and API, then Webhooks: turn on the "
        "events you want and paste the webhook URL for each.",
        secret="Lever issues the signature token: copy it from that page and paste it here as "
        "the webhook secret.",
    ),
    "ashby": Setup(
        where="In Ashby, open Admin, then Integrations, then Webhooks, and add one webhook per "
        "event type with the webhook URL as its Request URL.",
        secret="Paste the secret below as each webhook's Secret token.",
    ),
    "workable": Setup(
        where="Workable takes webhooks through its API: subscribe the webhook URL with "
        "POST /spi/v3/subscriptions (target = the URL) for each event.",
        secret="Workable signs with your account's API token (or your OAuth app's secret): "
        "paste that here as the webhook secret.",
        base_url="https://<your subdomain>.workable.com/spi/v3",
    ),
    "zoho": Setup(
        where="In Zoho Recruit, open Setup, then Automation, then Workflow, then Webhooks: use "
        "the webhook URL as URL to Notify and attach the webhook to a workflow rule.",
        secret="Zoho signs nothing: add a custom parameter named token whose value is the "
        "secret below, plus an event parameter.",
    ),
    "smartrecruiters": Setup(
        where="SmartRecruiters takes webhooks through its Webhooks API: create a subscription "
        "with the webhook URL as callbackUrl and activate it (we answer the handshake).",
        secret="Generate the subscription's secret key in SmartRecruiters and paste it here as "
        "the webhook secret.",
    ),
}


def setup_for(provider: str) -> Setup | None:
    return SETUP.get(provider)
