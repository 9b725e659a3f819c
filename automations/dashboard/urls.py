from automations.dashboard import (
    api_tokens,
    approvals,
    audit,
    automation_list,
    builder,
    channels,
    connections,
    inbox,
    llm_settings,
    run_history,
    shell,
    usage,
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
    *usage.urls,
    *llm_settings.urls,
    *audit.urls,
    *api_tokens.urls,
    *approvals.urls,
]
