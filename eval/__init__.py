"""Offline evaluation of the help assistant: datasets, metrics, runner and reports.

``help-assistant eval`` (see :mod:`eval.cli`) runs the configurations side by side; the pieces
are importable on their own (:mod:`eval.metrics`, :mod:`eval.runner`, :mod:`eval.report`).
"""
