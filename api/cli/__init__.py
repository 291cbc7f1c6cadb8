"""The `storyloom` operator command: an entry point beside the HTTP API, not infrastructure.

Like a route, a command parses its input, calls domain services and infra adapters, and prints
the outcome; `main.py` holds the command table, `backup.py` the backup and restore commands.
"""
