"""Automations deliver to DeliveryChannels (reusable, encrypted config) instead of an inline
JSON list: each inline entry becomes the owner's channel of that kind."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    Automation = apps.get_model("automations", "Automation")
    Channel = apps.get_model("delivery", "DeliveryChannel")
    for automation in Automation.objects.all():
        specs = automation.channels or [{"kind": "in_app"}]
        chosen = []
        for spec in specs:
            kind = spec.get("kind")
            if kind == "email":
                to = spec.get("to") or []
                name = "My email" if not to else "Email to " + ", ".join(to)
                config = {"to": to}
            else:
                kind, name, config = "in_app", "My inbox", {}
            channel = Channel.objects.filter(
                organization_id=automation.organization_id,
                owner_id=automation.owner_id,
                name=name[:120],
            ).first()
            if channel is None:
                channel = Channel.objects.create(
                    organization_id=automation.organization_id,
                    owner_id=automation.owner_id,
                    kind=kind,
                    name=name[:120],
                    config=config,
                )
            chosen.append(channel)
        automation.delivery_channels.set(chosen)


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0002_periodictask_system_index"),
        ("delivery", "0002_delivery_channels"),
    ]
    operations = [
        migrations.AddField(
            model_name="automation",
            name="delivery_channels",
            field=models.ManyToManyField(
                blank=True,
                help_text="Where results go; none means the owner's in-app inbox.",
                related_name="automations",
                to="delivery.deliverychannel",
            ),
        ),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RemoveField(model_name="automation", name="channels"),
    ]
