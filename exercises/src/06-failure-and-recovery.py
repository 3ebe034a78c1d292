"""Exercises of lesson 06, failure and recovery (source of the notebooks)."""

# %% [markdown]
# # Exercises 06 · Failure and recovery
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`) for exercise 1; exercise 2 runs
# without it.

# %%
from pydantic import ValidationError

from cqrs_lab import Lab
from cqrs_lab.exercises.e06 import (
    MALFORMED,
    READS,
    TOO_LARGE,
    UNSUPPORTED,
    ex1,
    ex2,
)
from services.shared.consumer import MAX_RECORD_BYTES
from services.shared.messages import Envelope

lab = Lab()

# %% [markdown]
# ## Exercise 1 ★ · Read the dead letters
#
# A consumer that cannot process a record puts it on the `dead-letter`
# topic, with headers that say which consumer group gave up and why, and
# carries on. `lab.dead_letters()` reads that topic as a DataFrame: the
# record's `key`, and one column per header (`dlq_consumer`, `dlq_reason`,
# `dlq_topic`, `dlq_offset`…).
#
# Complete `dead_letter_reasons(lab, key)`: for the dead letters with that
# key, return `{consumer group: reason}`. The check sends a record that is
# not JSON to `orders-events` under a fresh key, waits until its consumers
# have given up on it, then calls your function.

# %% exercise=ex1
def dead_letter_reasons(lab: Lab, key: str) -> dict[str, str]:
    """Why each consumer group dead-lettered the records with this key."""
    # BEGIN SOLUTION
    letters = lab.dead_letters()
    mine = letters[letters["key"] == key]
    return dict(zip(mine["dlq_consumer"], mine["dlq_reason"]))
    # END SOLUTION


# %% check=ex1
ex1.check(dead_letter_reasons)

# %% [markdown]
# ## Exercise 2 ★★ · Which record is poison?
#
# Not every bad record is poison to the same degree, and not every strange
# one is poison at all. Complete `is_poison(value)`: given the raw bytes of
# a record on `orders-events`, return why its readers (inventory and
# payments) would dead-letter it, or `None` if they would handle or skip it:
#
# - `TOO_LARGE`: more than `MAX_RECORD_BYTES` (256 KiB);
# - `MALFORMED`: not an `Envelope` (event id, type, schema version…);
# - `UNSUPPORTED`: an event type they handle, at a schema version they do
#   not read. `READS` maps each event type they handle to those versions.
#
# Judge as `EventConsumer` in `services/shared/consumer.py` does: the order
# of its tests matters. The check tries a handful of values, each a trap.

# %% exercise=ex2
def is_poison(value: bytes) -> str | None:
    """Why the readers of orders-events would dead-letter value, or None."""
    # BEGIN SOLUTION
    if len(value) > MAX_RECORD_BYTES:
        return TOO_LARGE
    try:
        envelope = Envelope.model_validate_json(value)
    except ValidationError:
        return MALFORMED
    versions = READS.get(envelope.event_type)
    if versions is not None and envelope.schema_version not in versions:
        return UNSUPPORTED
    return None
    # END SOLUTION


# %% check=ex2
ex2.check(is_poison)
