"""HTTP API of the help assistant: ``create_app()`` in :mod:`api.main`; routes only translate."""
