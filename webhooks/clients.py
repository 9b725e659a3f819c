"""Which ATS client serves an organization's skills."""

from __future__ import annotations

from accounts.models import Organization
from webhooks.providers.base import AtsClient
from webhooks.providers.sandbox import SandboxClient


def ats_client_for_org(*, org: Organization) -> AtsClient:
    # Until an org connects a real ATS (AtsConnection, a later issue), it reads the sandbox.
    return SandboxClient(org)
