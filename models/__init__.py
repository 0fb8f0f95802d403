"""Persistence: SQLModel tables, engine and unit of work, repositories, the audit chain and the outbox."""
