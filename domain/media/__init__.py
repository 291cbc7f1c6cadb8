"""Stored media objects (content-addressed) and what references them."""
