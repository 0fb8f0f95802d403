"""Notifications: a Notifier protocol, the apprise adapter (the only module importing apprise), a fake, templates."""
