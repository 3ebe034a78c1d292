"""`Lab`: the learner's handle on the running stack, from a notebook or a script."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Self, TypeVar, cast

import httpx
import pandas as pd
from sqlalchemy.ext.asyncio import AsyncEngine

from cqrs_lab import kafka as kafka_mod
from cqrs_lab import rebuild as rebuild_mod
from cqrs_lab import store, story, traces
from cqrs_lab.commands import (
    CommandResult,
    Gateway,
    Item,
    OrderRef,
    order_body,
    order_id_of,
)
from cqrs_lab.errors import (
    START_HINT,
    LabError,
    LabNotRunning,
    OrderStuck,
    UnknownOrder,
    UnknownTopic,
)
from cqrs_lab.replay import projector_of, to_frame
from cqrs_lab.runtime import LoopThread
from cqrs_lab.stack import Stack
from cqrs_lab.widgets import TailView
from services.shared.parts import PARTS, TOPICS
from services.shared.settings import LabSettings

T = TypeVar("T")
FINAL = {"rejected", "cancelled"}
# The happy path in order: an order at a later step has passed the earlier.
HAPPY_PATH = ("pending", "stock_reserved", "paid", "confirmed",
              "ready_for_delivery")
READ_MODELS = {"orders.order_summaries": "order_summaries",
               "payments.payments": "payments_by_order",
               "inventory.reservations": "reservations_by_order"}


def _passed(current: str, wanted: str) -> bool:
    """True when `current` lies after `wanted` on the happy path."""
    if current not in HAPPY_PATH or wanted not in HAPPY_PATH:
        return False
    return HAPPY_PATH.index(current) > HAPPY_PATH.index(wanted)


def find_state_dir(settings: LabSettings) -> LabSettings:
    """The settings with the state folder of `cqrs-lab up` found above the cwd."""
    if "state_dir" in settings.model_fields_set or \
            (settings.state_dir / "run").is_dir():
        return settings
    # Jupyter starts kernels in notebooks/; the stack was started one level up.
    for folder in Path.cwd().parents:
        if (folder / ".lab" / "run").is_dir():
            return settings.model_copy(update={"state_dir": folder / ".lab"})
    return settings


def snake(name: str) -> str:
    """`orderId` → `order_id`, so API fields read like the database's."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def api_frame(items: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """A DataFrame of API items with snake_case columns."""
    frame = pd.DataFrame(list(items))
    return frame.rename(columns=snake)


class Lab:
    """Commands, queries, Kafka, event store, replay, traces and faults of the lab."""

    def __init__(self, settings: LabSettings | None = None) -> None:
        self.settings = find_state_dir(settings or LabSettings())
        self.gateway = Gateway(self.settings.service_url("gateway"))
        self.collector = traces.TraceClient(self.settings.service_url("traces"))
        self.kafka = kafka_mod.Kafka(self.settings.bootstrap_servers)
        self.stack = Stack(self.settings)
        self._loop: LoopThread | None = None
        self._engine: AsyncEngine | None = None

    def __repr__(self) -> str:
        return (f"<Lab gateway={self.gateway.base_url} "
                f"kafka={self.settings.bootstrap_servers} "
                f"state={self.settings.state_dir}>")

    # -- plumbing ---------------------------------------------------------------

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._loop is None:
            self._loop = LoopThread()
        return self._loop.run(coro)

    @property
    def engine(self) -> AsyncEngine:
        """The async engine on the lab's database (used on the lab's loop)."""
        if self._engine is None:
            self._engine = store.create_engine(self.settings)
        return self._engine

    def _db(self, coro: Coroutine[Any, Any, T]) -> T:
        try:
            return self._run(coro)
        except store.DB_ERRORS as error:
            raise store.not_running(self.settings, error) from None

    def close(self) -> None:
        """Closes connections and stops the lab's background loop."""
        if self._engine is not None and self._loop is not None:
            self._run(self._engine.dispose())
        if self._loop is not None:
            self._loop.close()
        self._loop = self._engine = None
        self.gateway.close()
        self.collector.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- status -----------------------------------------------------------------

    def status(self) -> pd.DataFrame:
        """Each part's state, port, PID, health; says how to start what is down."""
        rows = self._run(self._status_rows())
        frame = pd.DataFrame(rows, columns=["name", "state", "port", "pid",
                                            "health"])
        down = frame.loc[frame["state"] == "down", "name"].tolist()
        if len(down) == len(frame):
            print(START_HINT)
        elif down:
            print(f"Down: {', '.join(down)}. Start one with `cqrs-lab start "
                  f"{down[0]}`, or all of them with `cqrs-lab up`.")
        return frame

    async def _status_rows(self) -> list[dict[str, Any]]:
        found = await self.stack.status()
        rows = []
        for part in found:
            row = {"name": part.name, "state": part.state, "port": part.port,
                   "pid": part.pid, "health": part.health}
            if part.state == "down" and await self._answers(part.name, part.port):
                # Started elsewhere (another state folder, or Docker).
                row.update(state="up (not started here)", health="healthy")
            rows.append(row)
        return rows

    async def _answers(self, name: str, port: int) -> bool:
        kind = next((p.kind for p in PARTS if p.name == name.split("-")[0]),
                    "service")
        host = self.settings.host
        if kind == "service":
            return await _healthy(f"{self._host_of(name)}:{port}/health")
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port), 1.0)
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    def _host_of(self, name: str) -> str:
        part = name.split("-")[0]
        host = getattr(self.settings, f"{part}_host", None) or self.settings.host
        return f"http://{host}"

    def check(self) -> None:
        """Raises LabNotRunning, saying how to start the stack, unless it answers."""
        if not self._run(_healthy(self.settings.service_url("gateway")
                                  + "/health")):
            raise LabNotRunning(f"The gateway at {self.gateway.base_url} "
                                "does not answer.")

    # -- commands -----------------------------------------------------------------

    def place_order(self, customer: str, items: Iterable[Item],
                    total: Any = None, correlation_id: str | None = None,
                    confirmation: str | None = None) -> CommandResult:
        """Places an order of (product, quantity, unit price) items."""
        body = order_body(customer, items, total, confirmation)
        return self.gateway.command("PlaceOrder", "POST", "/api/orders", body,
                                    correlation_id)

    def confirm(self, order: OrderRef, correlation_id: str | None = None,
                expected_version: int | None = None) -> CommandResult:
        """Confirms a paid order; with `expected_version`, only if still there."""
        order_id = order_id_of(order)
        return self.gateway.command("ConfirmOrder", "PUT",
                                    f"/api/orders/{order_id}/confirm", None,
                                    correlation_id, expected_version)

    def cancel(self, order: OrderRef, reason: str = "cancelled from the lab",
               correlation_id: str | None = None,
               expected_version: int | None = None) -> CommandResult:
        """Cancels an order; with `expected_version`, only if still there."""
        order_id = order_id_of(order)
        return self.gateway.command("CancelOrder", "PUT",
                                    f"/api/orders/{order_id}/cancel",
                                    {"reason": reason}, correlation_id,
                                    expected_version)

    def wait_for(self, order: OrderRef, status: str, timeout: float = 10.0,
                 interval: float = 0.2) -> dict[str, Any]:
        """Polls until the order has reached `status`; a TimeoutError names the last."""
        order_id = order_id_of(order)
        deadline = time.monotonic() + timeout
        last = "not in the read model yet"
        while True:
            view = self._order_or_none(order_id)
            if view is not None:
                last = view["status"]
                if last == status or _passed(last, status):
                    return view
                if last in FINAL:
                    raise OrderStuck(
                        f"order {order_id} is {last} (reason: "
                        f"{view.get('reason')}), so it will never be {status}")
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"order {order_id} did not become {status!r} within "
                    f"{timeout} s; the last status seen was {last!r}")
            time.sleep(interval)

    # -- queries ------------------------------------------------------------------

    def _order_or_none(self, order_id: uuid.UUID) -> dict[str, Any] | None:
        try:
            return self.order(order_id)
        except UnknownOrder:
            return None

    def order(self, order: OrderRef) -> dict[str, Any]:
        """The order as the read model shows it (status, items, total, history)."""
        order_id = order_id_of(order)
        found: dict[str, Any] = self.gateway.data(
            f"/api/orders/{order_id}", not_found=(
                f"no order {order_id} in the read model: check the id, or "
                "wait a moment if you have just placed it (the projection "
                "may lag; lab.wait_for(order, 'pending') waits for it)"))
        return found

    def history(self, order: OrderRef) -> pd.DataFrame:
        """The order's events as its read model keeps them, oldest first."""
        frame = api_frame(self.order(order).get("history", []))
        return frame.rename(columns={"type": "event_type"})

    def orders(self, status: str | None = None, customer: str | None = None,
               limit: int = 50) -> pd.DataFrame:
        """The newest orders, optionally by status or customer."""
        params = {"status": status, "customerId": customer, "limit": limit}
        return api_frame(self.gateway.data("/api/orders", params))

    def payment(self, order: OrderRef) -> dict[str, Any]:
        """The order's payment: approved, declined, refunded or voided."""
        order_id = order_id_of(order)
        found: dict[str, Any] = self.gateway.data(
            f"/api/payments/{order_id}",
            not_found=f"no payment for order {order_id} (yet)")
        return found

    def payments(self, limit: int = 50) -> pd.DataFrame:
        """The newest payments first."""
        return api_frame(self.gateway.data("/api/payments", {"limit": limit}))

    def stock(self, product: str | None = None) -> pd.DataFrame:
        """Every product's stock, or one product's, as a DataFrame."""
        if product is None:
            return api_frame(self.gateway.data("/api/inventory"))
        return api_frame([self.gateway.data(
            f"/api/inventory/{product}",
            not_found=f"no product {product!r}; lab.stock() lists them")])

    def aggregate(self, order: OrderRef) -> Any:
        """The order aggregate rebuilt in this process from its stored events."""
        from services.orders.adapters import codec
        from services.orders.domain import Order, order_stream

        found = self.events("orders", stream=order_stream(order_id_of(order)),
                            limit=None)
        # pandas types a row's fields as any scalar; these columns hold the
        # event's type, schema version and JSON body.
        return Order.rebuild(
            codec.decode(cast(str, e.event_type), cast(int, e.schema_version),
                         cast("Mapping[str, Any]", e.data))
            for e in found.itertuples())

    # -- event store --------------------------------------------------------------

    def events(self, service: str = "orders", stream: str | None = None,
               event_type: str | None = None, correlation_id: str | None = None,
               after: int | None = None, upto: int | None = None,
               order: OrderRef | None = None,
               limit: int | None = 1000) -> pd.DataFrame:
        """A service's stored events; without `after`, the newest `limit` ones."""
        table = store.events_table(service)
        query = store.event_query(
            table, stream=stream, event_type=event_type,
            correlation_id=correlation_id, after=after, upto=upto,
            order_id=str(order_id_of(order)) if order is not None else None)
        newest_first = after is None and limit is not None
        query = query.order_by(table.c.position.desc() if newest_first
                               else table.c.position).limit(limit)
        rows = self._db(store.fetch_events(self.engine, query))
        return store.events_frame(sorted(rows, key=lambda e: e.position))

    def replay(self, projection: Any, service: str = "orders",
               upto_position: int | None = None,
               upto_time: datetime | str | None = None,
               initial: Any = None) -> pd.DataFrame:
        """Feeds stored events in position order to a projection; returns its result."""
        driver = projector_of(projection, initial)
        for batch in self.event_batches(service, upto_position, upto_time):
            driver.feed(batch)
        return to_frame(driver.result())

    def event_batches(self, service: str = "orders",
                      upto_position: int | None = None,
                      upto_time: datetime | str | None = None
                      ) -> Iterable[list[store.StoredEvent]]:
        """Batches of stored events; the next is fetched while one is used."""
        table = store.events_table(service)
        cut = pd.Timestamp(upto_time).to_pydatetime() if upto_time else None
        # Fix the end now, so events appended meanwhile do not move it.
        newest = self._db(store.last_position(self.engine, table))
        end = min(newest, upto_position) if upto_position is not None else newest
        pages = store.event_batches(self.engine, table, end, cut)
        pending = self._db(_submit_next(self, pages))
        while (batch := self._db(_result(pending))) is not None:
            pending = self._db(_submit_next(self, pages))
            yield batch

    def rebuild_read_model(self, service: str = "orders") -> pd.DataFrame:
        """Replays the service's projections into `<service>_shadow`; diffs live."""
        store.adapters(service)
        return self._db(rebuild_mod.rebuild(self.engine, service))

    # -- Kafka ----------------------------------------------------------------------

    def topics(self) -> list[str]:
        """The topics on the broker."""
        return self._run(self.kafka.topics())

    def tail(self, topic: str, n: int | None = None, timeout: float = 5.0,
             from_beginning: bool = False, event_type: str | None = None,
             correlation_id: str | None = None,
             headers: Mapping[str, str] | None = None) -> pd.DataFrame:
        """Records of a topic: n of them, all so far, or what arrives within timeout."""
        keep = kafka_mod.RecordFilter(event_type, correlation_id,
                                      dict(headers or {}))
        rows = self._run(self.kafka.tail(topic, n, timeout, from_beginning, keep))
        return kafka_mod.tail_frame(rows)

    def live_tail(self, topic: str, from_beginning: bool = False,
                  event_type: str | None = None,
                  correlation_id: str | None = None,
                  header: str | None = None) -> TailView:
        """A live table of a topic with filters and a Stop button (ipywidgets)."""
        if topic not in self.topics():
            raise UnknownTopic(
                f"unknown topic {topic!r}; the topics are: "
                f"{', '.join(self.topics())}")
        view = TailView(topic, lambda: self.kafka.follow(topic, from_beginning))
        view.set_filters(event_type, correlation_id, header)
        return view.start()

    def lag(self, group: str | None = None) -> pd.DataFrame:
        """Committed offset, end offset and lag per partition of the service groups."""
        groups = [group] if group else list(kafka_mod.GROUPS)
        rows = self._run(self.kafka.lag(groups))
        return pd.DataFrame(rows, columns=kafka_mod.LAG_COLUMNS)

    def send_raw(self, topic: str, value: bytes | str | Mapping[str, Any],
                 key: str | bytes | None = None,
                 headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Publishes one record exactly as given, e.g. a poison message."""
        if topic not in TOPICS and topic not in self.topics():
            raise UnknownTopic(
                f"unknown topic {topic!r}; the lab's topics are: "
                f"{', '.join(TOPICS)}")
        raw_key = key.encode() if isinstance(key, str) else key
        return self._run(self.kafka.send(
            topic, kafka_mod.encode_value(value), raw_key,
            kafka_mod.encode_headers(headers)))

    def dead_letters(self, timeout: float = 5.0) -> pd.DataFrame:
        """The dead-letter topic from its beginning, dlq_* headers as columns."""
        keep = kafka_mod.RecordFilter()
        rows = self._run(self.kafka.tail("dead-letter", None, timeout, True, keep))
        return kafka_mod.dead_letter_frame(rows)

    # -- traces -------------------------------------------------------------------

    def spans(self, correlation_id: str | None = None,
              order: OrderRef | None = None, limit: int = 100) -> pd.DataFrame:
        """Spans of the traces of a correlation id or an order (or the newest)."""
        order_id = str(order_id_of(order)) if order is not None else None
        found = self.collector.spans(correlation_id, order_id, limit)
        return traces.spans_frame(found)

    def _spans_of(self, ref: OrderRef | str) -> pd.DataFrame:
        try:
            return self.spans(order=order_id_of(ref))
        except LabError:
            return self.spans(correlation_id=str(ref))

    def waterfall(self, ref: OrderRef | str, include_db: bool = False) -> Any:
        """A plotly waterfall of an order's (or correlation id's) spans."""
        return traces.waterfall_figure(self._spans_of(ref), include_db)

    def saga_timeline(self, order: OrderRef) -> Any:
        """A plotly timeline of the order's events in every service."""
        order_id = order_id_of(order)
        return traces.timeline_figure(self.order_events(order_id),
                                      f"Saga of order {order_id}")

    def service_edges(self, limit: int = 50) -> pd.DataFrame:
        """Calls between services in the newest traces: count and mean latency."""
        return traces.service_edges(self.spans(limit=limit))

    def service_map(self, limit: int = 50) -> Any:
        """A plotly map of which service calls which, from the newest traces."""
        return traces.service_map_figure(self.service_edges(limit))

    # -- one order across everything ------------------------------------------------

    def order_events(self, order: OrderRef) -> pd.DataFrame:
        """The order's events from every service's store, in time order."""
        frames = [self.events(s, order=order, limit=None).assign(service=s)
                  for s in store.SERVICES]
        frame = pd.concat(frames, ignore_index=True)
        return frame.sort_values("recorded_at", ignore_index=True)

    def story(self, order: OrderRef, include_db: bool = False,
              traces_required: bool = False) -> pd.DataFrame:
        """One table of an order's commands, events, outbox, records, spans, rows."""
        order_id = order_id_of(order)
        events = self.order_events(order_id)
        if events.empty:
            raise UnknownOrder(f"no events about order {order_id}")
        since = events["recorded_at"].min() - timedelta(seconds=5)
        outbox, models = self._db(self._order_rows(order_id))
        records = self._run(self._order_records(str(order_id), since))
        try:
            spans = self.spans(order=order_id)
            spans = spans if include_db else traces.without_db(spans)
        except LabError:
            if traces_required:
                raise
            spans = traces.spans_frame([])
        return story.story_frame(events, outbox, records, spans, models)

    async def _order_rows(self, order_id: uuid.UUID
                          ) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        outbox: list[dict[str, Any]] = []
        for service in store.SERVICES:
            table = store.adapters(service).outbox
            rows = await store.table_rows(self.engine, table,
                                          table.c.key == str(order_id))
            outbox.extend({**r, "service": service} for r in rows)
        models = {}
        for name, attribute in READ_MODELS.items():
            table = getattr(store.adapters(name.split(".")[0]), attribute)
            rows = await store.table_rows(self.engine, table,
                                          table.c.order_id == order_id)
            models[name] = rows[0] if rows else None
        return outbox, models

    async def _order_records(self, key: str, since: datetime
                             ) -> list[dict[str, Any]]:
        since_ms = int(since.timestamp() * 1000)
        found = await asyncio.gather(*(
            self.kafka.records_for_key(topic, key, since_ms)
            for topic in TOPICS if topic != "dead-letter"))
        return [row for rows in found for row in rows]

    # -- faults -------------------------------------------------------------------

    def stop(self, name: str) -> bool:
        """Stops one part (e.g. "payments"); False when it was not running here."""
        stopped = self.stack.stop(name)
        if not stopped:
            self._explain_not_ours(name)
        return stopped

    def start(self, name: str) -> bool:
        """Starts one stopped part and waits until it is healthy."""
        return self._run(self.stack.start(name))

    def pause_consumer(self, service: str) -> dict[str, Any]:
        """Pauses a service's consumer: it stays in its group but reads nothing."""
        return self._consumer_admin(service, "pause")

    def resume_consumer(self, service: str) -> dict[str, Any]:
        """Lets a paused consumer read again; it catches up from its offsets."""
        return self._consumer_admin(service, "resume")

    def consumer(self, service: str) -> dict[str, Any]:
        """A service's consumer: its group, partitions, paused or not, records handled."""
        return self._consumer_admin(service, None)

    def _consumer_admin(self, service: str, action: str | None) -> dict[str, Any]:
        if service not in ("orders", "payments", "inventory"):
            raise LabError(f"{service!r} has no consumer; the services with one "
                           "are orders, payments and inventory")
        url = self.settings.service_url(service) + "/admin/consumer"
        try:
            if action is None:
                response = httpx.get(url, timeout=10)
            else:
                response = httpx.post(f"{url}/{action}", timeout=10)
        except httpx.TransportError as error:
            raise LabNotRunning(f"the {service} service does not answer at "
                                f"{url} ({error}). {START_HINT}") from error
        response.raise_for_status()
        return dict(response.json())

    def _explain_not_ours(self, name: str) -> None:
        port = self.stack.instance(name).port
        if self._run(self._answers(name, port)):
            raise LabError(
                f"{name} answers on port {port} but was not started from the "
                f"state folder {self.settings.state_dir}; set "
                "CQRS_LAB_STATE_DIR to the folder `cqrs-lab up` used")


async def _next(pages: AsyncIterator[T]) -> T | None:
    return await anext(pages, None)


async def _submit_next(lab: Lab, pages: AsyncIterator[T]
                       ) -> asyncio.Task[T | None]:
    # Start fetching the next page on the loop and hand back at once.
    return asyncio.ensure_future(_next(pages))


async def _result(task: asyncio.Task[T]) -> T:
    return await task


async def _healthy(url: str) -> bool:
    import httpx

    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return False
    return response.status_code == 200


__all__ = ["Lab", "find_state_dir"]
