from automations.dashboard import (
    api_tokens,
    approvals,
    audit,
    automation_list,
    builder,
    channels,
    connections,
    describe_it,
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
    *describe_it.urls,
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
