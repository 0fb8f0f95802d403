"""The active governance policy: seeded from the packaged default, replaced only by a policy that validates."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select, update

from govflow.lifecycle.services import App, authorize, get_actor, record_change, use_case
from govflow.models.db import unit_of_work
from govflow.models.facts import t
from govflow.models.policies import active_policy, store_policy
from govflow.models.tables import PolicyVersion
from govflow.states.errors import Conflict
from govflow.states.policy import Policy, load_policy_file

POLICY = t(PolicyVersion)

__all__ = ["active_policy", "load_policy", "show_policy", "store_policy"]


@use_case
def load_policy(app: App, path: Path, actor_name: str | None) -> Policy:
    """Validate a policy file and make it the active version. A file that does not validate is refused with its
    reasons and the active policy stays; a version number already used for different content is a conflict."""
    policy = load_policy_file(path)
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "policy.admin")
        existing = s.execute(
            select(POLICY.c.digest, POLICY.c.active).where(POLICY.c.version == policy.version)
        ).first()
        if existing is not None:
            if existing[0] != policy.digest():
                raise Conflict(
                    f"策略版本 {policy.version} 已存在且内容不同；请使用新的版本号",
                    f"policy version {policy.version} exists with different content; use a new version number",
                )
            s.execute(update(POLICY).where(POLICY.c.active.is_(True)).values(active=False))
            s.execute(update(POLICY).where(POLICY.c.version == policy.version).values(active=True))
        else:
            store_policy(s, policy, actor.name, app.clock())
        record_change(
            app,
            s,
            actor,
            "policy.load",
            note=f"{path.name}: 版本 {policy.version}（{policy.digest()[:12]}）生效",
        )
    return policy


@use_case
def show_policy(app: App, actor_name: str | None = None) -> tuple[Policy, list[dict[str, object]]]:
    """The active policy and the history of versions (newest first)."""
    with unit_of_work(app.engine) as s:
        actor = get_actor(s, actor_name)
        authorize(app, s, actor, "policy.read")
        policy = active_policy(s)
        rows = s.execute(
            select(
                POLICY.c.version,
                POLICY.c.digest,
                POLICY.c.active,
                POLICY.c.activated_at,
                POLICY.c.activated_by,
            ).order_by(POLICY.c.id.desc())
        )
        return policy, [dict(r._mapping) for r in rows]
