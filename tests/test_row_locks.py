"""The row lock an API write's environment lookup takes (environment_to_write), and the notes that
let lock_inventory() spare the statement that would take it again (launchplane/transactions.py)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from inventory.services import environment_to_write, lock_inventory
from inventory.services.transitions import inventory_lock
from launchplane.errors import NotFound
from launchplane.transactions import all_or_nothing, can_note_row_lock, holds_row_lock, note_row_lock
from tests.factories import make_environment

pytestmark = pytest.mark.django_db(transaction=True)  # all_or_nothing() is the outermost, as when serving


def test_inside_an_all_or_nothing_transaction_the_lookup_notes_the_lock_for_exactly_that_transaction() -> None:
    environment = make_environment()
    assert environment_to_write("cm", "testing") == environment and not holds_row_lock(inventory_lock(environment.pk))
    with all_or_nothing():
        assert can_note_row_lock()
        found = environment_to_write("cm", "testing")
        assert found == environment and holds_row_lock(inventory_lock(environment.pk))
        inventory = lock_inventory(found)
        assert inventory.pk == environment.pk and inventory.environment is found
    assert not holds_row_lock(inventory_lock(environment.pk))
    with all_or_nothing():  # a new transaction holds nothing until it looks up again
        assert not holds_row_lock(inventory_lock(environment.pk))


def test_a_lock_is_never_noted_inside_a_savepoint_which_could_release_it() -> None:
    environment = make_environment()
    # Inside a savepoint, which rolled back would release a lock taken inside it:
    with all_or_nothing(), transaction.atomic():
        assert not can_note_row_lock()
        with pytest.raises(TransactionManagementError):
            note_row_lock(inventory_lock(environment.pk))
        found = environment_to_write("cm", "testing")  # still found, with no note
        assert found == environment and not holds_row_lock(inventory_lock(environment.pk))
    with pytest.raises(TransactionManagementError):
        note_row_lock(inventory_lock(environment.pk))  # nor outside all_or_nothing()


def test_an_unknown_environment_answers_not_found_inside_the_transaction_too() -> None:
    with all_or_nothing(), pytest.raises(NotFound):
        environment_to_write("cm", "nowhere")


def test_the_lookup_really_holds_the_row_lock_until_the_transaction_ends(on_postgres) -> None:
    environment = make_environment()
    seen: list[str] = []

    def try_to_lock() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    "SELECT 1 FROM inventory_environmentinventory WHERE environment_id = %s FOR UPDATE NOWAIT",
                    [environment.pk],
                )
                seen.append("locked")
        except Exception as exc:
            seen.append(type(exc).__name__)
        finally:
            connection.close()

    def in_a_thread() -> None:
        thread = threading.Thread(target=try_to_lock)
        thread.start()
        thread.join(timeout=10)

    with all_or_nothing():
        environment_to_write("cm", "testing")
        in_a_thread()
    in_a_thread()
    assert seen == ["OperationalError", "locked"]
