"""Exercises of lesson 05, tracing (source of the notebooks)."""

# %% [markdown]
# # Exercises 05 · Tracing
#
# `ex1.check(answer)` says *correct*, *incorrect* (and why) or *not attempted
# yet*; `ex1.hint()`, `ex1.hint(2)`… help; `ex1.solution()` shows the answer.
# The lab must be running (`cqrs-lab up`).

# %%
import pandas as pd

from cqrs_lab import Lab
from cqrs_lab.exercises.e05 import ex1
from cqrs_lab.traces import kafka_hops

lab = Lab()

# %% [markdown]
# ## Exercise 1 ★★ · Find the slowest hop
#
# A *hop* is one event crossing Kafka: a producer span `publish <topic>`
# and, under it, the consumer span `process <event>` that handled it. How
# long a hop cost the saga runs from the start of publishing to the end of
# processing: waiting in the topic counts, not only the consumer's work.
#
# Write `slowest_hop(spans)`: given a trace as `lab.spans(...)` returns it,
# answer the `(service, span name)` of the consumer span of the slowest hop,
# e.g. `("orders", "process StockReserved")`.
#
# The check sends the trace collector traces with one hop that waited long
# in Kafka and a consumer that worked long as a decoy, then calls your
# function on `lab.spans(correlation_id=...)`. Try yours on a real order:
# `slowest_hop(lab.spans(order=lab.place_order("me", [("book-001", 1,
# "19.99")])))` (wait a second for the spans first).

# %% exercise=ex1
def slowest_hop(spans: pd.DataFrame) -> tuple[str, str]:
    """(service, name) of the consumer span of the slowest Kafka hop."""
    # BEGIN SOLUTION
    hops = kafka_hops(spans)
    ends = hops["start"] + pd.to_timedelta(hops["duration_ms"], unit="ms")
    took = ends - hops["start_producer"]
    slowest = hops.loc[took.idxmax()]
    return slowest["service"], slowest["name"]
    # END SOLUTION


# %% check=ex1
ex1.check(slowest_hop)
