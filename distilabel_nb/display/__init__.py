"""Notebook display: every HTML string of the package is built in ``html.py``."""
