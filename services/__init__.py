"""The lab's services: one bounded context per package, plumbing in `shared`."""
