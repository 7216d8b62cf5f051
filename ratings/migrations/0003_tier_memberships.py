"""A rating row's tiers: one row per (rating row, tier) with the rank range within the tier,
replacing the single price-tier column, and the blended price the row was tiered by.

Existing price-tier ranks are carried over; existing rows get the blended price the catalogue
has now, which is the price their pages showed until this migration.
"""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

BATCH = 5000


def carry_over(apps, schema_editor):  # type: ignore[no-untyped-def]
    RatingRow = apps.get_model("ratings", "RatingRow")
    TierMembership = apps.get_model("ratings", "TierMembership")
    rows = (
        RatingRow.objects.filter(tier__isnull=False)
        .order_by("id")
        .values_list("id", "tier_id", "tier_rank_ub", "tier_rank_lb")
    )
    batch = []
    for row_id, tier_id, rank_ub, rank_lb in rows.iterator(chunk_size=BATCH):
        batch.append(
            TierMembership(row_id=row_id, tier_id=tier_id, rank_ub=rank_ub, rank_lb=rank_lb)
        )
        if len(batch) == BATCH:
            TierMembership.objects.bulk_create(batch)
            batch = []
    TierMembership.objects.bulk_create(batch)


def price_rows(apps, schema_editor):  # type: ignore[no-untyped-def]
    LanguageModel = apps.get_model("arena", "LanguageModel")
    RatingRow = apps.get_model("ratings", "RatingRow")
    weight_in = Decimal(str(settings.ARENA_BLEND_INPUT_WEIGHT))
    weight_out = Decimal(str(settings.ARENA_BLEND_OUTPUT_WEIGHT))
    priced = LanguageModel.objects.filter(
        input_price_per_mtok__isnull=False, output_price_per_mtok__isnull=False
    )
    for model in priced:
        total = weight_in * model.input_price_per_mtok + weight_out * model.output_price_per_mtok
        blended = (total / (weight_in + weight_out)).quantize(Decimal("0.0001"))
        RatingRow.objects.filter(model_id=model.pk).update(blended_price=blended)


def carry_back(apps, schema_editor):  # type: ignore[no-untyped-def]
    # Only price tiers had a column; open-weights and size memberships are dropped.
    RatingRow = apps.get_model("ratings", "RatingRow")
    TierMembership = apps.get_model("ratings", "TierMembership")
    price = TierMembership.objects.filter(tier__kind="price").values_list(
        "row_id", "tier_id", "rank_ub", "rank_lb"
    )
    for row_id, tier_id, rank_ub, rank_lb in price.iterator(chunk_size=BATCH):
        RatingRow.objects.filter(pk=row_id).update(
            tier_id=tier_id, tier_rank_ub=rank_ub, tier_rank_lb=rank_lb
        )


class Migration(migrations.Migration):

    dependencies = [
        ('arena', '0005_tier_kinds'),
        ('ratings', '0002_failed_battles'),
    ]

    operations = [
        migrations.CreateModel(
            name='TierMembership',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('rank_ub', models.PositiveIntegerField(null=True)),
                ('rank_lb', models.PositiveIntegerField(null=True)),
                ('row', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='memberships', to='ratings.ratingrow')),
                ('tier', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to='arena.costtier')),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('row', 'tier'), name='tiermembership_unique')],
            },
        ),
        migrations.RunPython(carry_over, carry_back),
        migrations.AddField(
            model_name='ratingrow',
            name='blended_price',
            field=models.DecimalField(decimal_places=4, max_digits=10, null=True),
        ),
        migrations.RunPython(price_rows, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='ratingrow',
            name='tier',
        ),
        migrations.RemoveField(
            model_name='ratingrow',
            name='tier_rank_lb',
        ),
        migrations.RemoveField(
            model_name='ratingrow',
            name='tier_rank_ub',
        ),
    ]
