"""Storage: SQLAlchemy 2 tables, the engine (SQLite in WAL mode by default, PostgreSQL through a
URL) and Alembic migrations."""
