"""tests/io: the pickle guard is on for every test here (and suite-wide once tests/conftest.py
imports it, see pickle_guard.py)."""

from pickle_guard import pickle_guard, pickle_guard_check  # noqa: F401
