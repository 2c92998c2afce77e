"""Helpers for the real-use tests: a JupyterLab server in an isolated Jupyter environment, a
Chromium driven by Playwright, the notebook checks, and a network guard for kernels.

Not collected by pytest (no ``test_`` prefix); imported by tests/test_browser.py,
tests/test_binder.py and tests/test_no_network.py.
"""
