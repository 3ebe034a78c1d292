"""Plumbing every service shares: settings, event store, outbox, Kafka, logs."""
