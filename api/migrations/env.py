"""Alembic environment of the answer log: the app's own metadata and engine.

``Storage.create_schema`` passes its connection in ``config.attributes["connection"]``; the
``alembic`` command (``-c api/migrations/alembic.ini``) opens ``sqlalchemy.url`` when given, else
the settings' ``answers_db_url``.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from api import correction_store  # noqa: F401 - registers the corrections table
from api.storage import Base, make_engine

target_metadata = Base.metadata


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = context.config.get_main_option("sqlalchemy.url")
    if url:
        return url
    from assistant.settings import get_settings

    return get_settings().answers_db_url


def run() -> None:
    if context.is_offline_mode():
        context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as own:
            _configure_and_run(own)
    finally:
        engine.dispose()


run()
