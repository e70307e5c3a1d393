"""The rollup: how a tree's figures are computed, stored, refreshed and read.

engine.py (one node over one window) · columns.py (every node at once, numpy) · document.py (the
stored format and the one way to read it) · storage.py (load a tree, upsert documents) · jobs.py
(request, coalesce, incremental) · explain.py (reasons in words, the progress and explain answers).
Callers import the module they need; nothing is re-exported here.
"""
