"""The loopback load test: `make load` (`python -m tests.load`), figures in docs/LOAD.md."""
