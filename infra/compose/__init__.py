"""Composed shots: a drawn setting, the characters present, moving under a camera, with speech."""
