"""Demo data for the board and the admin (``python manage.py seed_demo``)."""
