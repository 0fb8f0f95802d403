"""Lifecycle use cases: the project state machine's events, the materials a department provides, and imports."""
