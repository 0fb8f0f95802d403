"""REST API tests (a package, so that its conftest and helpers have their own module names)."""
