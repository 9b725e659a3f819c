"""One adapter module per ATS: verify a webhook, parse it, normalise it to the canonical event."""

from types import ModuleType

from webhooks.providers import ashby, greenhouse, lever, smartrecruiters, workable, zoho

ADAPTERS: dict[str, ModuleType] = {
    module.NAME: module for module in (greenhouse, lever, ashby, workable, zoho, smartrecruiters)
}
