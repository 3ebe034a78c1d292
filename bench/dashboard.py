"""Measures whether the trace dashboard stays responsive with 10,000 traces.

Run with the lab up; it talks to the stack the CQRS_LAB_* settings name
(export them to aim it at a throwaway stack). It
- seeds the collector with 10,000 synthetic sagas (one trace and one
  correlation id each, 20-23 spans shaped like the lab's) and prints how
  long that took and how long the collector takes to list them;
- opens the dashboard in headless Chromium and prints the time from
  navigation until the page shows all of them, and its longest main-thread
  task while loading;
- prints the main-thread cost of one full render (script, then script plus
  style and layout), redrawing the same page and drawing another page;
- posts new sagas one at a time and prints how long each takes from the
  POST to its row on the page (live stream);
- opens one group and prints how long its waterfall takes to appear.
The traces stay in the collector afterwards, so aim it at a stack you
can reset. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from typing import Literal

import httpx
from saga import percentile
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from services.shared.settings import LabSettings
from services.traces import synthetic
from services.traces.synthetic import SagaBuilder, export

PROTOBUF = {"Content-Type": "application/x-protobuf"}
# The same flags as tests/e2e/test_dashboard_browser.py.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1400,1000"]
WAIT_SECONDS = 60.0
POLL_SECONDS = 0.02
# Seeded sagas start this far apart, ending about now.
SPACING_NS = 300_000_000

# Runs before the page's own script, so tasks during the load are counted.
WATCH_LONG_TASKS = """
window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longTasks.push(e.duration);
}).observe({type: "longtask", buffered: true});
"""

# Notes when each group row first enters the table, in epoch milliseconds.
WATCH_ROWS = """
window.__seen = {};
const note = () => {
  const now = Date.now();
  for (const row of document.querySelectorAll("#rows > tr.group")) {
    const key = row.dataset.key;
    if (!(key in window.__seen)) window.__seen[key] = now;
  }
};
note();
new MutationObserver(note).observe(document.getElementById("rows"),
                                   {childList: true});
"""

# One synchronous render; reading offsetHeight forces style and layout.
RENDER = """
state.page = arguments[0];
state.dirty = true;
const began = performance.now();
render();
const scripted = performance.now();
void document.body.offsetHeight;
return [scripted - began, performance.now() - began];
"""

SHOWN = re.compile(r"of (\d+) traces")


def post(client: httpx.Client, sagas: list[SagaBuilder]) -> None:
    """Exports the sagas' spans to the collector in one OTLP request."""
    spans = [span for saga in sagas for span in saga.spans]
    body = export(spans).SerializeToString()
    client.post("/v1/traces", content=body, headers=PROTOBUF).raise_for_status()


def seed(client: httpx.Client, run: str, count: int,
         batch: int) -> tuple[float, int]:
    """Sends `count` sagas in batches, two at once; returns (seconds, spans)."""
    began = time.monotonic()
    first = time.time_ns() - count * SPACING_NS
    sagas = [synthetic.saga(f"order-{run}-{n:05d}", f"{run}-{n:05d}",
                            n % 10 == 9, first + n * SPACING_NS)
             for n in range(count)]
    batches = [sagas[i:i + batch] for i in range(0, count, batch)]
    # Two exports in flight let the collector decode one while PostgreSQL
    # stores the other. One saga in ten is declined, as failures show too.
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda part: post(client, part), batches))
    return time.monotonic() - began, sum(len(s.spans) for s in sagas)


def listing(client: httpx.Client, limit: int) -> tuple[float, int, int]:
    """Times the history request the page makes: (seconds, traces, bytes)."""
    began = time.monotonic()
    response = client.get("/api/traces", params={"limit": limit})
    response.raise_for_status()
    return (time.monotonic() - began, response.json()["count"],
            len(response.content))


@contextmanager
def chromium() -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, quit on the way out."""
    options = webdriver.ChromeOptions()
    options.binary_location = _binary("chromium", "chromium-browser")
    with tempfile.TemporaryDirectory(prefix="cqrs-lab-chromium-") as profile:
        for flag in FLAGS + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        # An explicit driver path keeps Selenium from downloading one.
        service = Service(executable_path=_binary("chromedriver"))
        driver = webdriver.Chrome(service=service, options=options)
        try:
            yield driver
        finally:
            driver.quit()


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(f"none of {names} is installed; run infra/system-deps.sh")


def wait(driver: WebDriver) -> WebDriverWait[WebDriver]:
    """A bounded, finely polled wait; renders may replace rows meanwhile."""
    return WebDriverWait(driver, WAIT_SECONDS, poll_frequency=POLL_SECONDS,
                         ignored_exceptions=[StaleElementReferenceException])


def shown_traces(driver: WebDriver) -> int:
    """How many traces the page says it holds (0 before its first render)."""
    text = driver.execute_script(
        "return document.getElementById('shown').textContent")
    found = SHOWN.search(text or "")
    return int(found.group(1)) if found else 0


def load(driver: WebDriver, url: str, expected: int) -> dict[str, float]:
    """Opens the page; times navigation until it shows `expected` traces."""
    driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument",
                           {"source": WATCH_LONG_TASKS})
    began = time.monotonic()
    driver.get(url)
    wait(driver).until(lambda d: shown_traces(d) >= expected)
    seconds = time.monotonic() - began
    history = driver.execute_script(
        "const e = performance.getEntriesByType('resource')"
        ".find((r) => r.name.includes('/api/traces?'));"
        "return e ? [e.startTime, e.responseEnd] : [0, 0];")
    tasks = driver.execute_script("return window.__longTasks || [];")
    return {"seconds": seconds, "asked": history[0], "answered": history[1],
            "longest": max(tasks, default=0.0), "blocked": sum(tasks)}


def renders(driver: WebDriver, samples: int,
            flip: bool) -> tuple[list[float], list[float]]:
    """Times full renders: (script ms, script plus style and layout ms)."""
    scripted: list[float] = []
    total: list[float] = []
    for n in range(samples):
        page = n % 2 if flip else 0
        script, whole = driver.execute_script(RENDER, page)
        scripted.append(script)
        total.append(whole)
    driver.execute_script(RENDER, 0)
    return scripted, total


def live(driver: WebDriver, client: httpx.Client, run: str,
         samples: int) -> list[float]:
    """Times POSTs of new sagas until their rows appear: ms each."""
    driver.execute_script(WATCH_ROWS)
    delays: list[float] = []
    for n in range(samples):
        key = f"{run}-live-{n}"
        one = synthetic.saga(f"order-{key}", key)
        sent = time.time() * 1000
        post(client, [one])
        seen = wait(driver).until(partial(seen_at, key=key))
        delays.append(seen - sent)
    return delays


def seen_at(driver: WebDriver, key: str) -> float | Literal[False]:
    """When the row of one correlation id entered the table, in epoch ms."""
    seen = driver.execute_script("return window.__seen[arguments[0]]", key)
    return False if seen is None else float(seen)


def expand(driver: WebDriver) -> float:
    """Opens the first group; returns ms until its waterfall shows spans."""
    row = driver.find_element(By.CSS_SELECTOR, "#rows tr.group")
    began = time.monotonic()
    row.click()
    wait(driver).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, ".waterfall .span-row"))
    return (time.monotonic() - began) * 1000


def spread(values: list[float]) -> str:
    """p50 and max of a list of milliseconds."""
    return (f"n={len(values)}, p50 {percentile(values, 50):.1f} ms, "
            f"max {max(values):.1f} ms")


def main() -> None:
    """Seeds the collector, drives the page and prints what each step took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--traces", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--samples", type=int, default=10)
    args = parser.parse_args()
    settings = LabSettings()
    run = f"dash-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=settings.service_url("traces"),
                      timeout=120) as client:
        seconds, spans = seed(client, run, args.traces, args.batch)
        print(f"seeded {args.traces} traces ({spans} spans) in "
              f"{seconds:.1f} s, {args.traces / seconds:.0f} traces/s")
        took, count, size = listing(client, args.traces)
        print(f"collector GET /api/traces?limit={args.traces}: {took:.2f} s, "
              f"{count} traces, {size / 1e6:.1f} MB")
        with chromium() as driver:
            measure_page(driver, settings, client, run, args)


def measure_page(driver: WebDriver, settings: LabSettings,
                 client: httpx.Client, run: str,
                 args: argparse.Namespace) -> None:
    """Drives the dashboard and prints each figure as it is taken."""
    page = load(driver, settings.service_url("dashboard") + "/", args.traces)
    print(f"navigation to {args.traces} traces shown: {page['seconds']:.2f} s "
          f"(history asked at {page['asked']:.0f} ms, answered at "
          f"{page['answered']:.0f} ms); longest main-thread task "
          f"{page['longest']:.0f} ms, {page['blocked']:.0f} ms in long tasks")
    scripted, whole = renders(driver, args.samples, flip=False)
    print(f"render, same page, script: {spread(scripted)}")
    print(f"render, same page, script + style + layout: {spread(whole)}")
    scripted, whole = renders(driver, args.samples, flip=True)
    print(f"render, other page, script: {spread(scripted)}")
    print(f"render, other page, script + style + layout: {spread(whole)}")
    delays = live(driver, client, run, args.samples)
    print(f"POST of a new trace to its row on the page: {spread(delays)}")
    print(f"open a group to its waterfall: {expand(driver):.0f} ms")


if __name__ == "__main__":
    main()
