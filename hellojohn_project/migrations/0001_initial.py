"""Rate counters (hellojohn_project.counters) and the database cache's table, so `migrate` creates both."""

from django.core.management import call_command
from django.db import migrations, models


def create_cache_tables(apps, schema_editor):
    # createcachetable's own logic: a table for every DatabaseCache in CACHES, skipped when it exists.
    call_command("createcachetable", database=schema_editor.connection.alias, verbosity=0)


def drop_cache_tables(apps, schema_editor):
    from django.conf import settings
    from django.core.cache import caches
    from django.core.cache.backends.db import BaseDatabaseCache

    for alias in settings.CACHES:
        cache = caches[alias]
        if isinstance(cache, BaseDatabaseCache):
            schema_editor.execute(f"DROP TABLE IF EXISTS {schema_editor.quote_name(cache._table)}")


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="RateCounter",
            fields=[
                ("digest", models.CharField(max_length=64, primary_key=True, serialize=False)),
                ("count", models.PositiveIntegerField()),
                ("window_ends_at", models.FloatField(db_index=True)),
            ],
            options={"db_table": "hj_rate_counter"},
        ),
        migrations.RunPython(create_cache_tables, drop_cache_tables),
    ]
