from django.apps import AppConfig


class AutomationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "automations"

    def ready(self) -> None:
        # Heartbeats and the alert evaluator in beat and worker processes.
        from automations.ops import signals  # noqa: F401
