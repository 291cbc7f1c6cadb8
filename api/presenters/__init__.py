"""Presenters: domain rows turned into the wire models of schemas/, one module per area.

Routes import them from here (never from one another), so each rendering has one definition.
"""
