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
    ("bootstraps_bootstrapoperation", "environment_id"),
    ("bootstraps_reconciliation", "environment_id"),
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
        ('bootstraps', '0004_reconciliation'),
        ('inventory', '0007_responsibility'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(drop_indexes, create_indexes)],
            state_operations=[
                migrations.AlterField(
                    model_name='bootstrapoperation',
                    name='environment',
                    field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name='bootstraps', to='inventory.environment'),
                ),
                migrations.AlterField(
                    model_name='reconciliation',
                    name='environment',
                    field=models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.PROTECT, related_name='reconciliations', to='inventory.environment'),
                ),
            ],
        )
    ]
