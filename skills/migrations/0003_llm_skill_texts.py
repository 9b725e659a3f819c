"""The LLM skills' full instructions (skills/llm/instructions/): the catalog written again so
the admin shows the text their runs send."""

from django.db import migrations

from skills.catalog import catalog_sync


def load_catalog(apps, schema_editor):
    catalog_sync(apps.get_model("skills", "Skill"))


class Migration(migrations.Migration):
    dependencies = [("skills", "0002_catalog")]
    # Backwards: nothing to undo (0002's texts are not kept; the rows stay).
    operations = [migrations.RunPython(load_catalog, migrations.RunPython.noop)]
