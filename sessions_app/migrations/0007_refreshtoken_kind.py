"""Refresh tokens get a `kind`: the API's, or the sessions page's cookie, which the API refuses."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("sessions_app", "0006_signingkey_activates_at")]

    operations = [
        migrations.AddField(
            model_name="refreshtoken", name="kind",
            field=models.CharField(choices=[("api", "Api"), ("page", "Page")], default="api", max_length=8),
        ),
    ]
