"""Pure domain of govflow: phases, the lifecycle table, guards, rules, permissions, calendar maths, errors.

Nothing here imports from ``models``, ``flows``, ``notifications``, ``govflow``, sqlmodel or prefect.
"""
