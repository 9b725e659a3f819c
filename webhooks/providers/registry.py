"""The one map from a provider's name to its webhook adapter and API client class, built
once from the provider modules' declarations (each module's PROVIDER)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import MappingProxyType

from webhooks.providers import ashby, greenhouse, lever, smartrecruiters, workable, zoho
from webhooks.providers.provider import Provider

_PROVIDERS: dict[str, Provider] = {
    module.PROVIDER.name: module.PROVIDER
    for module in (greenhouse, lever, ashby, workable, zoho, smartrecruiters)
}
# Read-only: nothing adds a provider after import (tests use `registered` below).
PROVIDERS: Mapping[str, Provider] = MappingProxyType(_PROVIDERS)


def provider_get(name: str) -> Provider | None:
    return _PROVIDERS.get(name)


@contextmanager
def registered(provider: Provider) -> Iterator[Provider]:
    """For tests: the registry with one more (or a replaced) provider, restored on exit."""
    before = _PROVIDERS.get(provider.name)
    _PROVIDERS[provider.name] = provider
    try:
        yield provider
    finally:
        if before is None:
            _PROVIDERS.pop(provider.name, None)
        else:
            _PROVIDERS[provider.name] = before
