from automations.dashboard import (
    approvals,
    automation_list,
    builder,
    channels,
    connections,
    inbox,
    run_history,
    shell,
    why,
)

app_name = "dashboard"

urlpatterns = [
    *shell.urls,
    *automation_list.urls,
    *builder.urls,
    *run_history.urls,
    *why.urls,
    *channels.urls,
    *connections.urls,
    *inbox.urls,
    *approvals.urls,
]
