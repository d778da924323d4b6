"""Tests of the length engine, fitting and Bluesky facets."""
