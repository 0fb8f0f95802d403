"""Benchmarks (not tests): ``./scripts/bench.sh`` runs :mod:`bench.lifecycle`. Results go to ``bench/results/``."""
