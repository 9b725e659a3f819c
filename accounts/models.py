from __future__ import annotations

import functools
import uuid
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from config.models import TimeStampedModel

# Names zoneinfo loads that are not real IANA zones: the host's own zone (differs per
# machine), leap-second ("right/") and POSIX-rule copies, and tzdata's placeholder.
_NOT_ZONES = {"localtime", "posixrules", "Factory"}
_NOT_ZONE_PREFIXES = ("right/", "posix/")
TIME_ZONE_MAX_LENGTH = 64  # the model fields' max_length


@functools.cache
def _known_time_zones() -> frozenset[str]:
    # available_timezones() walks the zone directories on every call: read it once.
    return frozenset(
        name
        for name in zoneinfo.available_timezones()
        if name not in _NOT_ZONES and not name.startswith(_NOT_ZONE_PREFIXES)
    )


def time_zone_names() -> list[str]:
    """Every zone name we accept, sorted (the profile's and the builder's pickers)."""
    return sorted(_known_time_zones())


def is_time_zone(value: object) -> bool:
    """True for an IANA zone name we accept. Never opens a file named by the value (a long or
    path-like name made ZoneInfo raise OSError)."""
    return (
        isinstance(value, str)
        and 0 < len(value) <= TIME_ZONE_MAX_LENGTH
        and value in _known_time_zones()
    )


def validate_time_zone(value: object) -> None:
    """The one rule for time zones: the models and every service use it."""
    if not is_time_zone(value):
        shown = repr(value) if len(repr(value)) <= 80 else repr(value)[:77] + "..."
        raise ValidationError(
            f"{shown} is not a known time zone; use an IANA name such as America/New_York.",
            code="unknown_time_zone",
        )


class Organization(TimeStampedModel):
    class Plan(models.TextChoices):
        FREE = "free", "Free"
        PRO = "pro", "Pro"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.CharField(max_length=10, choices=Plan.choices, default=Plan.FREE)
    time_zone = models.CharField(
        max_length=64,
        default="UTC",
        validators=[validate_time_zone],
        help_text="Default for new automations, e.g. America/Los_Angeles.",
    )

    class ApprovalPolicy(models.TextChoices):
        NONE = "none", "No approval needed"
        ALL = "all", "Every new or edited automation"
        EXTERNAL = "external", "Automations that send outside the org"
        LLM = "llm", "Automations that use LLM skills"

    approval_policy = models.CharField(
        max_length=10,
        choices=ApprovalPolicy.choices,
        default=ApprovalPolicy.NONE,
        db_default="none",
        help_text="Which automations made by members wait for an admin's approval.",
    )

    # LLM skills (skills/llm): whether they call the model at all, the month's budget, and
    # what a run does when the model cannot be used (no key, budget spent).
    class LlmUnavailable(models.TextChoices):
        FALLBACK = "fallback", "Use the skill's template instead"
        FAIL = "fail", "Fail the run with a clear error"

    llm_enabled = models.BooleanField(
        default=True,
        db_default=True,
        help_text="Off: LLM skills make their template result and never call the model.",
    )
    llm_monthly_budget_usd = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="USD per calendar month (UTC) for LLM skills; empty: the plan's budget.",
    )
    llm_when_unavailable = models.CharField(
        max_length=10,
        choices=LlmUnavailable.choices,
        default=LlmUnavailable.FALLBACK,
        db_default="fallback",
        help_text="When the budget is spent or no key is set.",
    )
    llm_models = models.JSONField(
        default=dict,
        blank=True,
        db_default={},
        help_text='Model per skill for this org, e.g. {"interview-briefing": "claude-haiku-5-5"}.',
    )

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    class Role(models.TextChoices):
        MEMBER = "member", "Member"
        ADMIN = "admin", "Admin"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)

    class Meta:
        constraints = [
            # One membership per user and org; also serves "which orgs is this user in".
            models.UniqueConstraint(
                fields=["user", "organization"], name="membership_user_org_uniq"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def is_admin(self) -> bool:
        return self.role == self.Role.ADMIN


class UserProfile(TimeStampedModel):
    """A person's own settings: the time zone the dashboard shows times in, and the org they
    are working in (for people in several orgs). Made on first use (accounts.profile)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile"
    )
    time_zone = models.CharField(
        max_length=TIME_ZONE_MAX_LENGTH,
        blank=True,
        validators=[validate_time_zone],
        help_text="Times are shown in this zone; empty: the current org's zone.",
    )
    current_organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The org the dashboard opens in; only ever one the user belongs to.",
    )

    def __str__(self) -> str:
        return f"profile of {self.user}"


class ApiToken(models.Model):
    """A personal API token. Only `prefix` (to find the row) and the SHA-256 of the whole
    token are stored: the token itself is shown once, when it is made. Tokens are random
    (256 bits), so a plain hash is enough; a slow password hash would only slow every call."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="api_token_user_recent_idx")]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}...)"


class AuditEvent(models.Model):
    """One change someone (or the system) made in an org: who, when, from which surface,
    what, and which fields changed. Never a secret's value: secret fields are named in
    `changes` with the value "(set)"."""

    class Surface(models.TextChoices):
        DASHBOARD = "dashboard", "Dashboard"
        API = "api", "API"
        ADMIN = "admin", "Admin"
        MCP = "mcp", "MCP"
        SYSTEM = "system", "System"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_events",
    )
    # Kept when the actor's account is deleted: the log still says who it was.
    actor_label = models.CharField(max_length=200, blank=True)
    surface = models.CharField(max_length=10, choices=Surface.choices, default=Surface.SYSTEM)
    action = models.CharField(max_length=40)
    target_type = models.CharField(max_length=40)
    target_id = models.CharField(max_length=64, blank=True)
    target_label = models.CharField(max_length=200, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)

    class Meta:
        indexes = [
            # The org's log, newest first, paged by (created_at, id).
            models.Index(
                fields=["organization", "-created_at", "-id"], name="audit_org_recent_idx"
            ),
            models.Index(
                fields=["organization", "target_type", "target_id"], name="audit_org_target_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.actor_label or 'system'} {self.action} {self.target_type} {self.target_id}"
