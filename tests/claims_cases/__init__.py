"""Refutation cases: one file per experiment module (``<module_name>.py``) defining ``CASES``; see ``_case.py``."""
