"""Signing keys get `activates_at`: a rotated-in key is published before it signs (docs/api.md §11)."""

from django.db import migrations, models


def existing_keys_are_active_since_created(apps, schema_editor):
    SigningKey = apps.get_model("sessions_app", "SigningKey")
    SigningKey.objects.update(activates_at=models.F("created_at"))


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0005_webhooks")]

    operations = [
        migrations.AddField(
            model_name="signingkey", name="activates_at",
            field=models.DateTimeField(null=True, help_text="From then on (if it is the newest) this key signs."),
        ),
        migrations.RunPython(existing_keys_are_active_since_created, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="signingkey", name="activates_at",
            field=models.DateTimeField(help_text="From then on (if it is the newest) this key signs."),
        ),
    ]
