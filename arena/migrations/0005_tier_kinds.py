"""Tiers of three kinds (price band, open weights, size class); seed the default new ones."""

from django.db import migrations, models

from arena.defaults import seed_tier_kinds


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    seed_tier_kinds(apps.get_model("arena", "CostTier"))


def unseed(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Without the kind column they would read as unbounded price bands. Tiers some snapshot
    # used are protected: going back needs those snapshots gone first.
    apps.get_model("arena", "CostTier").objects.exclude(kind="price").delete()
    if schema_editor.connection.vendor == "postgresql":
        # Check the deferred foreign keys now, so the table can be altered next.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")


class Migration(migrations.Migration):

    dependencies = [
        ('arena', '0004_failed_battles'),
    ]

    operations = [
        migrations.AddField(
            model_name='costtier',
            name='kind',
            field=models.CharField(choices=[('price', 'Price band'), ('open_weights', 'Open weights'), ('size', 'Size class')], default='price', max_length=20),
        ),
        migrations.AddField(
            model_name='costtier',
            name='max_params_b',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True, verbose_name='max total parameters (billions)'),
        ),
        migrations.AddField(
            model_name='costtier',
            name='min_params_b',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=9, null=True, verbose_name='min total parameters (billions)'),
        ),
        migrations.AddConstraint(
            model_name='costtier',
            constraint=models.CheckConstraint(condition=models.Q(('min_blended_price__isnull', True), ('max_blended_price__isnull', True), ('min_blended_price__lt', models.F('max_blended_price')), _connector='OR'), name='costtier_price_band_ordered'),
        ),
        migrations.AddConstraint(
            model_name='costtier',
            constraint=models.CheckConstraint(condition=models.Q(('min_params_b__isnull', True), ('max_params_b__isnull', True), ('min_params_b__lt', models.F('max_params_b')), _connector='OR'), name='costtier_size_band_ordered'),
        ),
        migrations.RunPython(seed, unseed),
    ]
