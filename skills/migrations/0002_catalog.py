"""The skill catalog."""

from django.db import migrations

from skills.catalog import CATALOG, catalog_sync


def load_catalog(apps, schema_editor):
    catalog_sync(apps.get_model("skills", "Skill"))


def unload_catalog(apps, schema_editor):
    Skill = apps.get_model("skills", "Skill")
    Skill.objects.filter(slug__in=[e["slug"] for e in CATALOG], automations__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("skills", "0001_initial")]
    operations = [migrations.RunPython(load_catalog, unload_catalog)]
