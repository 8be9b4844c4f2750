"""Benchmark harness comparing supervisord-rs with Python Supervisor 4.3 (stdlib only)."""
