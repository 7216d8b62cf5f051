"""Seed the default domains and cost tiers; operators edit them in the admin afterwards."""

from __future__ import annotations

from django.db import migrations

from arena.defaults import seed_domains_and_price_tiers


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    seed_domains_and_price_tiers(apps.get_model("arena", "Domain"), apps.get_model("arena", "CostTier"))


class Migration(migrations.Migration):
    dependencies = [("arena", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
