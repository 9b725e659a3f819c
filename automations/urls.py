from django.urls import path

from automations import views
from automations.mcp.transport import mcp_endpoint

urlpatterns = [
    path("runs/<uuid:public_id>/", views.run_detail, name="run-detail"),
    # The MCP server for Claude Desktop / Claude Code (automations/mcp/): token auth only.
    path("mcp/", mcp_endpoint, name="mcp"),
    # Without the slash too: a POST cannot be redirected to it (clients do not follow).
    path("mcp", mcp_endpoint),
]
