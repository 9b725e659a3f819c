"""When schedule-driven automations fire: cron math (cron.py), the slots a tick owes
(slots.py), claiming due rows and creating their runs (due.py), the beat scheduler that
ticks and sends due runs to the workers (beat.py, through automations/dispatch.py, which
every trigger uses), and the django-celery-beat records each automation owns
(schedule_records.py)."""
