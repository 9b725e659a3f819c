"""The run page opened from email, Slack and Teams links (`run-detail`): the view lives with
the dashboard's run page (automations/dashboard/run_page.py), which serves both a signed
link's minimal page and a member's full one."""

from __future__ import annotations

from automations.dashboard.run_page import run_detail

__all__ = ["run_detail"]
