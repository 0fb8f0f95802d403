"""Notifications: a Notifier protocol, the apprise adapter (the only module importing apprise), a fake, templates.

``notifications.base`` holds the port (:class:`Notice`, :class:`Notifier`, :class:`DeliveryFailed`),
``notifications.config`` the channel file, ``notifications.templates`` the zh-CN / English texts,
``notifications.apprise_notifier`` the production adapter and ``notifications.fake`` the test double. Nothing
here touches the database: the outbox and its retries live in ``govflow.governance.dispatch``.
"""

from govflow.notifications.base import DeliveryFailed, Notice, Notifier

__all__ = ["DeliveryFailed", "Notice", "Notifier"]
