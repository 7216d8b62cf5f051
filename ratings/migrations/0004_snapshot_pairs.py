from django.db import migrations, models


def freeze_latest_pairs(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Give the newest snapshot its pair counts.

    Only a refit changes PairTally, in the transaction that writes its snapshot, so today's
    tallies are exactly the newest snapshot's. Older snapshots' counts cannot be rebuilt
    exactly (a vote's later exclusion is not dated), so they stay null and say so.
    """
    RatingSnapshot = apps.get_model("ratings", "RatingSnapshot")
    DomainFit = apps.get_model("ratings", "DomainFit")
    PairTally = apps.get_model("ratings", "PairTally")
    latest = RatingSnapshot.objects.order_by("-id").first()
    if latest is None:
        return
    for fit_id, domain_id in DomainFit.objects.filter(snapshot=latest).values_list(
        "id", "domain_id"
    ):
        pairs = [
            list(row)
            for row in PairTally.objects.filter(domain_id=domain_id)
            .order_by("model_lo_id", "model_hi_id")
            .values_list("model_lo_id", "model_hi_id", "lo_wins", "hi_wins", "ties", "both_bad")
            if sum(row[2:]) > 0
        ]
        DomainFit.objects.filter(pk=fit_id).update(pairs=pairs)


class Migration(migrations.Migration):
    dependencies = [
        ("ratings", "0003_tier_memberships"),
    ]

    operations = [
        migrations.AddField(
            model_name="domainfit",
            name="pairs",
            field=models.JSONField(editable=False, null=True),
        ),
        migrations.RunPython(freeze_latest_pairs, migrations.RunPython.noop),
    ]
