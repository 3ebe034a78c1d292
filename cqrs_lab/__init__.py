"""CQRS Lab: the learner's handle on a running event-driven system."""
