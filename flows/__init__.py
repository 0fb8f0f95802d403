"""Prefect flows and tasks: thin; they call the service layer, never raw SQL of their own."""
