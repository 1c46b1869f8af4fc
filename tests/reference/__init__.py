"""Frozen references: old code kept only as the specification a test holds the package to (see each file)."""
