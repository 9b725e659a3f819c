"""Event-driven triggers: draining the stored ATS events (webhooks/ stores them and knows
nothing of automations), matching each to the org's automations with the reason for every
one that does not match, filters, and runs relative to an interview's time."""
