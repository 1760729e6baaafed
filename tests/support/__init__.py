"""Helpers the tests share: paths, real-data inputs, tokenizers, models and oracles.

Imported as ``support.<module>`` (``tests/`` is on the path: ``pythonpath`` in
pyproject.toml), so a test file may live in any subfolder of ``tests/``.
"""
