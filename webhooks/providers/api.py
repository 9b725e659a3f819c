"""What every provider's API client is: one class per ATS (in that provider's module) with
its own authentication and pagination, returning plain dicts in one shape (the provider's own
object stays under "raw"). What an ATS's API cannot do is declared on the class (the flags
below) and its method raises NotSupported, so no caller probes a client with hasattr."""

from __future__ import annotations

from abc import ABC, abstractmethod
from datetime import UTC, datetime
from typing import Any, ClassVar

from webhooks.ats_read import NotSupported
from webhooks.providers.api_session import ApiSession
from webhooks.rate_limit import RateLimiter


def iso_z(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ProviderApi(ABC):
    NAME: ClassVar[str]
    # Used when the connection has no base_url ("" where the ATS has no one host, Workable).
    DEFAULT_BASE_URL: ClassVar[str] = ""
    # What the API can do beyond jobs, applications and candidates.
    GETS_CANDIDATE: ClassVar[bool] = False
    LISTS_STAGES: ClassVar[bool] = False
    LISTS_INTERVIEWS: ClassVar[bool] = False

    def __init__(self, base_url: str, api_key: str, *, retries: bool = True) -> None:
        self.base = (base_url or self.DEFAULT_BASE_URL).rstrip("/")
        self.http = ApiSession(
            auth=self.auth_for(api_key),
            headers=self.headers_for(api_key),
            retries=retries,
            rate=RateLimiter(provider=self.NAME, base_url=self.base, api_key=api_key),
        )

    # -- authentication: one of the two, per provider ------------------------------------------

    def auth_for(self, api_key: str) -> Any:
        """requests' auth (HTTP Basic with the key as user, for most ATSs)."""
        return (api_key, "")

    def headers_for(self, api_key: str) -> dict[str, str]:
        return {}

    def close(self) -> None:
        self.http.close()

    # -- reads ---------------------------------------------------------------------------------

    @abstractmethod
    def probe(self) -> None:
        """The cheapest authenticated read (one small page of jobs): ApiError if the ATS
        refuses the key or cannot be reached. What "test connection" calls."""

    @abstractmethod
    def list_jobs(self) -> list[dict]: ...

    @abstractmethod
    def list_applications(self, *, updated_since: datetime | None = None) -> list[dict]: ...

    @abstractmethod
    def list_candidates(self, *, updated_since: datetime | None = None) -> list[dict]: ...

    def get_candidate(self, candidate_id: str) -> dict:
        raise NotSupported(f"{self.NAME}'s API client cannot fetch one candidate by id.")

    def list_stages(self) -> list[dict]:
        raise NotSupported(f"{self.NAME}'s API client does not list stages.")

    def list_scheduled_interviews(self, *, updated_since: datetime | None = None) -> list[dict]:
        raise NotSupported(f"{self.NAME}'s API client does not list scheduled interviews.")
