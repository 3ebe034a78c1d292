"""A live view of a Kafka topic for notebooks: a table, filters and a Stop button.

The view's state (rows, filters, running) lives in plain Python, so tests
drive it without a browser; ipywidgets are built only when it is shown.
Records arrive on a thread with its own event loop, because Jupyter's
loop belongs to the kernel.
"""

from __future__ import annotations

import asyncio
import html
import json
import threading
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from cqrs_lab.kafka import RecordFilter

Source = Callable[[], AsyncIterator[list[dict[str, Any]]]]
SHOWN = ("partition", "offset", "key", "event_type", "correlation_id",
         "timestamp", "payload")
# A payload is cut to this many characters in the table; `rows` keeps it whole.
PAYLOAD_CHARS = 160


class TailView:
    """Rows of a topic as they arrive, filtered live, until `stop()`."""

    def __init__(self, topic: str, source: Source,
                 filters: RecordFilter | None = None, max_rows: int = 1000,
                 shown: int = 50) -> None:
        self.topic = topic
        self.filters = filters or RecordFilter()
        self.max_rows = max_rows
        self.shown = shown
        self.error: BaseException | None = None
        self._source = source
        self._all: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._widgets: dict[str, Any] = {}
        self._done = False
        self._ready = threading.Event()

    # -- state ---------------------------------------------------------------

    @property
    def all_rows(self) -> list[dict[str, Any]]:
        """Every row received (up to `max_rows`, the newest kept)."""
        with self._lock:
            return list(self._all)

    @property
    def rows(self) -> list[dict[str, Any]]:
        """The received rows that pass the current filters."""
        return [r for r in self.all_rows if self.filters.matches(r)]

    @property
    def running(self) -> bool:
        """True while the background consumer runs."""
        return (self._thread is not None and self._thread.is_alive()
                and not self._done)

    def add(self, rows: list[dict[str, Any]]) -> None:
        """Appends rows (newest last) and refreshes the table if shown."""
        with self._lock:
            self._all.extend(rows)
            del self._all[:-self.max_rows]
        self._render()

    def set_filters(self, event_type: str | None = None,
                    correlation_id: str | None = None,
                    header: str | None = None) -> None:
        """Sets the filters; `header` is `name=value` (empty clears it)."""
        self.filters.event_type = event_type or None
        self.filters.correlation_id = correlation_id or None
        self.filters.headers = dict([header.split("=", 1)]) \
            if header and "=" in header else {}
        self._render()

    # -- background consumer -------------------------------------------------

    def start(self, wait: float = 10.0) -> TailView:
        """Starts consuming in the background; returns once the source is ready.

        The source is ready when it yields its first batch (the Kafka source
        yields an empty one once its positions are fixed), so a record sent
        after `start()` returns is never missed.
        """
        if self.running:
            return self
        self._ready = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._serve,
                                        name=f"tail-{self.topic}", daemon=True)
        self._thread.start()
        self._ready.wait(wait)
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._task = loop.create_task(self._pump())
        try:
            loop.run_until_complete(self._task)
        except asyncio.CancelledError:
            pass
        finally:
            loop.close()
            self._done = True
            self._render()

    async def _pump(self) -> None:
        try:
            async for rows in self._source():
                self._ready.set()
                if rows:
                    self.add(rows)
        except asyncio.CancelledError:
            raise
        # Any failure is shown in the view: in this thread it would be lost.
        except Exception as error:  # noqa: BLE001
            self.error = error
        finally:
            self._ready.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Stops the consumer and waits for its thread to end."""
        loop, task = self._loop, self._task
        if loop is not None and task is not None and not loop.is_closed():
            loop.call_soon_threadsafe(task.cancel)
        if self._thread is not None:
            self._thread.join(timeout)

    # -- display ---------------------------------------------------------------

    def status_text(self) -> str:
        """One line: how many records arrived and are shown, and the state."""
        state = "running" if self.running else "stopped"
        if self.error is not None:
            state = f"failed: {self.error}"
        return (f"{self.topic}: {len(self.all_rows)} records, "
                f"{len(self.rows)} match the filters ({state})")

    def table_html(self) -> str:
        """An HTML table of the newest matching rows, newest first."""
        rows = self.rows[-self.shown:][::-1]
        head = "".join(f"<th>{c}</th>" for c in SHOWN)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(_cell(r, c))}</td>"
                             for c in SHOWN) + "</tr>" for r in rows)
        return (f"<div>{html.escape(self.status_text())}</div>"
                f"<table><thead><tr>{head}</tr></thead>"
                f"<tbody>{body}</tbody></table>")

    def widget(self) -> Any:
        """The ipywidgets VBox: filter boxes, a Stop button and the table."""
        if "box" not in self._widgets:
            self._widgets = _build(self)
        return self._widgets["box"]

    def _render(self) -> None:
        # Setting a widget's value from another thread is safe: ipywidgets
        # sends the change to the browser through the kernel's comm.
        if "table" in self._widgets:
            self._widgets["table"].value = self.table_html()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        return f"<TailView {self.status_text()}>"


def _cell(row: Mapping[str, Any], column: str) -> str:
    value = row.get(column)
    if column != "payload":
        return str(value)
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return text if len(text) <= PAYLOAD_CHARS else text[:PAYLOAD_CHARS] + "…"


def _build(view: TailView) -> dict[str, Any]:
    import ipywidgets as w

    # The boxes start with the filters the view was given, so typing in one
    # box keeps the others.
    f = view.filters
    header = next((f"{k}={v}" for k, v in f.headers.items()), "")
    boxes = {
        "event_type": w.Text(f.event_type or "", placeholder="event type",
                             description="type"),
        "correlation_id": w.Text(f.correlation_id or "",
                                 placeholder="correlation id",
                                 description="correlation"),
        "header": w.Text(header, placeholder="name=value",
                         description="header"),
    }
    stop = w.Button(description="Stop", button_style="warning")
    table = w.HTML(view.table_html())

    def refilter(_: Mapping[str, Any]) -> None:
        view.set_filters(**{k: b.value for k, b in boxes.items()})

    for box in boxes.values():
        box.observe(refilter, names="value")
    stop.on_click(lambda _: view.stop())
    box = w.VBox([w.HBox([*boxes.values(), stop]), table])
    return {"box": box, "table": table, "stop": stop, **boxes}
