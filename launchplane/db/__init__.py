"""Launchplane's database backends (``DATABASE_URL`` chooses them: launchplane/env.py)."""
