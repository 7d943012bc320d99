"""Drop the foreign-key indexes nothing reads (docs/performance.md, "Indexes a write pays").

Django's own AlterField(db_index=False) drops every single-column index on the column, and so also the
partial unique indexes that enforce one active operation per environment (rule 10): each index is
dropped here by the name Django gave it instead, and the model state is altered without touching the database otherwise
(no foreign key is dropped and re-validated). Each environment_id index is covered by the unique
(environment_id, sequence) index, whose leading column it is; the inventory's pointers are never
looked up by the record they point at (records are never deleted).
"""

import django.db.models.deletion
from django.db import migrations, models


INDEXES = [  # (table, column): each single-column index Django made for a foreign key
    ("inventory_deploymentrecord", "environment_id"),
    ("inventory_environmentinventory", "current_bootstrap_id"),
    ("inventory_environmentinventory", "current_deployment_id"),
    ("inventory_environmentinventory", "last_bootstrap_id"),
    ("inventory_environmentinventory", "last_deployment_attempt_id"),
    ("inventory_environmentinventory", "last_verification_id"),
    ("inventory_environmentinventory", "lkg_bootstrap_id"),
    ("inventory_environmentinventory", "lkg_deployment_id"),
    ("inventory_inventorytransition", "environment_id"),
    ("inventory_runtimeobservation", "environment_id"),
    ("inventory_verificationrun", "bootstrap_at_start_id"),
    ("inventory_verificationrun", "deployment_at_start_id"),
    ("inventory_verificationrun", "environment_id"),
]


def index_name(schema_editor, table: str, column: str) -> str:
    # The name Django gave the index when it created it (long names are cut per backend).
    return schema_editor._create_index_name(table, [column])


def drop_indexes(apps, schema_editor):
    for table, column in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(index_name(schema_editor, table, column))}")


def create_indexes(apps, schema_editor):
    for table, column in INDEXES:
        name = schema_editor.quote_name(index_name(schema_editor, table, column))
        schema_editor.execute(f"CREATE INDEX {name} ON {schema_editor.quote_name(table)} ({schema_editor.quote_name(column)})")


class Migration(migrations.Migration):

    dependencies = [
        ('bootstraps', '0005_drop_unused_foreign_key_indexes'),
        ('inventory', '0007_responsibility'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name='deploymentrecord',
                    name='environment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='deployments', to='inventory.environment'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='current_bootstrap',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bootstraps.bootstrapoperation'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='current_deployment',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.deploymentrecord'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='last_bootstrap',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bootstraps.bootstrapoperation'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='last_deployment_attempt',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.deploymentrecord'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='last_verification',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, help_text='The latest verification run that finished (applied or superseded).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.verificationrun'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='lkg_bootstrap',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bootstraps.bootstrapoperation', verbose_name='last known good bootstrap'),
                ),
                migrations.AlterField(
                    model_name='environmentinventory',
                    name='lkg_deployment',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.deploymentrecord', verbose_name='last known good deployment'),
                ),
                migrations.AlterField(
                    model_name='inventorytransition',
                    name='environment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='transitions', to='inventory.environment'),
                ),
                migrations.AlterField(
                    model_name='runtimeobservation',
                    name='environment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='observations', to='inventory.environment'),
                ),
                migrations.AlterField(
                    model_name='verificationrun',
                    name='bootstrap_at_start',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='bootstraps.bootstrapoperation'),
                ),
                migrations.AlterField(
                    model_name='verificationrun',
                    name='deployment_at_start',
                    field=models.ForeignKey(blank=True, db_index=False, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='inventory.deploymentrecord'),
                ),
                migrations.AlterField(
                    model_name='verificationrun',
                    name='environment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='verifications', to='inventory.environment'),
                ),
            ],
        )
    ]
