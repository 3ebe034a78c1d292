"""Tracing: the trace collector (port 8080) and the live dashboard (port 3000)."""
