"""Scheduled governance: the obligation sweep, rectification orders, O&M cut recommendations and dispatch."""
