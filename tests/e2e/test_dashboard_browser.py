"""The trace dashboard in a real headless Chromium, fed by the live collector."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from services.shared.settings import LabSettings
from services.traces import synthetic

pytestmark = pytest.mark.stack

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
WAIT_SECONDS = 20
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
         "--disable-dev-shm-usage", "--no-first-run",
         "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--window-size=1400,1000"]
SERVICES = {"gateway", "orders", "inventory", "payments"}


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"none of {names} is installed; run infra/system-deps.sh")


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile, closed after the module."""
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


@pytest.fixture(scope="module")
def collector(settings: LabSettings) -> Iterator[httpx.Client]:
    """A client of the live collector, to send spans the page should show."""
    with httpx.Client(base_url=settings.service_url("traces"),
                      timeout=10.0) as client:
        yield client


def send(collector: httpx.Client, spans: list[synthetic.FakeSpan]) -> None:
    """Exports the spans to the collector as OTLP protobuf."""
    body = synthetic.export(spans).SerializeToString()
    response = collector.post("/v1/traces", content=body,
                              headers={"Content-Type": "application/x-protobuf"})
    assert response.status_code == 200, response.text


def wait(browser: WebDriver) -> WebDriverWait[WebDriver]:
    """A bounded wait on the page; live updates may replace rows meanwhile."""
    return WebDriverWait(browser, WAIT_SECONDS,
                         ignored_exceptions=[StaleElementReferenceException])


def open_dashboard(browser: WebDriver, settings: LabSettings) -> None:
    """Loads the page and waits until its history is in."""
    browser.get(settings.service_url("dashboard") + "/")
    wait(browser).until(lambda b: b.find_element(By.TAG_NAME, "body")
                        .get_attribute("data-ready") == "true")
    wait(browser).until(ec.text_to_be_present_in_element(
        (By.ID, "connection"), "live"))


def filter_correlation(browser: WebDriver, text: str) -> None:
    """Types into the correlation id filter."""
    box = browser.find_element(By.ID, "f-correlation")
    box.clear()
    box.send_keys(text)


def group(browser: WebDriver, key: str) -> WebElement | None:
    """The table row of one correlation id, once it is shown."""
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.group")
    return next((r for r in rows if r.get_attribute("data-key") == key), None)


def wait_for_group(browser: WebDriver, key: str) -> WebElement:
    """Waits (bounded) until the row of one correlation id is shown."""
    row = wait(browser).until(lambda b: group(b, key))
    assert row is not None
    return row


def waterfall_services(browser: WebDriver) -> set[str]:
    """The service names the open waterfall shows on its span rows."""
    return {e.text for e in browser.find_elements(
        By.CSS_SELECTOR, ".waterfall .span-row .svc-name")}


def badges(row: WebElement) -> dict[str, str]:
    """Stage badge labels of a group row, with their CSS classes."""
    return {b.text: b.get_attribute("class") or ""
            for b in row.find_elements(By.CSS_SELECTOR, ".stage")}


def test_an_empty_filter_shows_no_nan(browser: WebDriver,
                                      settings: LabSettings) -> None:
    open_dashboard(browser, settings)
    filter_correlation(browser, f"nothing-{uuid.uuid4().hex}")
    wait(browser).until(lambda b: b.find_element(By.ID, "empty").is_displayed())
    body = browser.find_element(By.TAG_NAME, "body").text
    assert "NaN" not in body
    assert browser.find_element(By.ID, "m-success").text == "—"
    assert browser.find_element(By.ID, "m-orders").text == "0"


def test_a_new_order_appears_live_with_its_waterfall(
        browser: WebDriver, settings: LabSettings,
        collector: httpx.Client) -> None:
    open_dashboard(browser, settings)
    run = f"e2e-{uuid.uuid4().hex[:10]}"
    filter_correlation(browser, run)
    happy = synthetic.saga(f"order-{run}-a", f"{run}-delivered")
    declined = synthetic.saga(f"order-{run}-b", f"{run}-declined",
                              declined=True)
    send(collector, declined.spans)
    send(collector, happy.spans)

    row = wait_for_group(browser, happy.correlation_id)
    labels = badges(row)
    assert "ready for delivery" in labels and "payment confirmed" in labels
    assert "failure" not in " ".join(labels.values())
    declined_row = wait_for_group(browser, declined.correlation_id)
    failed = badges(declined_row)
    assert "payment declined" in failed and "failure" in failed["payment declined"]
    assert "payment confirmed" not in failed
    assert browser.find_element(By.ID, "m-orders").text == "2"
    assert browser.find_element(By.ID, "m-completed").text == "1"
    assert browser.find_element(By.ID, "m-success").text == "50.0 %"

    row.click()
    names = wait(browser).until(lambda b: waterfall_services(b) >= SERVICES
                                and waterfall_services(b))
    assert SERVICES <= names
    widths = wait(browser).until(lambda b: [
        bar.size["width"] for bar in
        b.find_elements(By.CSS_SELECTOR, ".waterfall .bar")])
    assert all(width > 0 for width in widths)
    assert "NaN" not in browser.find_element(By.TAG_NAME, "body").text

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard.png"))


def place_order(settings: LabSettings, correlation_id: str,
                customer: str) -> None:
    """Places a real order through the gateway under a correlation id."""
    body = {"customerId": customer, "items": [
        {"productId": "book-001", "quantity": 1, "unitPrice": 19.99}]}
    response = httpx.post(settings.service_url("gateway") + "/api/orders",
                          json=body, headers={"X-Correlation-ID": correlation_id},
                          timeout=10.0)
    assert response.status_code == 201, response.text


def test_an_order_placed_through_the_api_appears_live(
        browser: WebDriver, settings: LabSettings) -> None:
    """Real orders reach the open page without a reload, stage by stage."""
    open_dashboard(browser, settings)
    run = f"live-{uuid.uuid4().hex[:10]}"
    filter_correlation(browser, run)
    place_order(settings, f"{run}-ok", f"customer-{run}")
    place_order(settings, f"{run}-no", f"decline-{run}")

    def delivered(b: WebDriver) -> WebElement | None:
        row = group(b, f"{run}-ok")
        return row if row and "ready for delivery" in badges(row) else None

    row = wait(browser).until(delivered)
    declined = wait(browser).until(lambda b: (
        (r := group(b, f"{run}-no")) and "payment declined" in badges(r) and r))
    assert "failure" in badges(declined)["payment declined"]

    row.click()
    wait(browser).until(lambda b: waterfall_services(b) >= SERVICES)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert browser.save_screenshot(str(ARTIFACTS / "dashboard-live.png"))

    Select(browser.find_element(By.ID, "f-status")).select_by_value("failed")
    wait(browser).until(lambda b: group(b, f"{run}-ok") is None)
    assert group(browser, f"{run}-no") is not None
    Select(browser.find_element(By.ID, "f-status")).select_by_value("")


def test_page_survives_a_reload(browser: WebDriver, settings: LabSettings,
                                collector: httpx.Client) -> None:
    run = f"e2e-{uuid.uuid4().hex[:10]}"
    saga = synthetic.saga(f"order-{run}", run)
    send(collector, saga.spans)
    open_dashboard(browser, settings)
    filter_correlation(browser, run)
    row = wait_for_group(browser, run)
    assert "ready for delivery" in badges(row)


def test_markup_in_span_data_is_shown_as_text_not_run(
        browser: WebDriver, settings: LabSettings,
        collector: httpx.Client) -> None:
    """A correlation id and order id made of HTML stay inert text."""
    run = uuid.uuid4().hex[:10]
    hostile = f'<img src=x id="pwned-{run}" onerror="document.title=1">{run}'
    saga = synthetic.saga(f"<b id='bold-{run}'>order</b>", hostile)
    send(collector, saga.spans)
    open_dashboard(browser, settings)
    filter_correlation(browser, run)

    row = wait_for_group(browser, hostile)

    assert hostile in row.text
    assert not browser.find_elements(By.ID, f"pwned-{run}")
    assert not browser.find_elements(By.ID, f"bold-{run}")
    assert browser.title != "1"


# Summaries shaped like the collector's, fed straight into the open page.
FLOOD = """
const extra = arguments[0];
const total = HISTORY_LIMIT + extra;
const now = Date.now();
for (let n = 0; n < total; n++) {
  upsert({traceId: `flood-${n}`, correlationId: `flood-${n}`, orderId: null,
          services: ["gateway"], spanCount: 1, durationMs: 1,
          start: new Date(now - (total - n) * 1000).toISOString(),
          status: "completed", stages: []});
}
state.dirty = true;
render();
return [HISTORY_LIMIT, state.traces.size, state.traces.has("flood-0"),
        state.traces.has(`flood-${total - 1}`)];
"""


def test_a_long_session_keeps_only_the_newest_traces(
        browser: WebDriver, settings: LabSettings) -> None:
    """Traces arriving live past the history limit push the oldest out."""
    open_dashboard(browser, settings)

    limit, held, oldest_kept, newest_kept = browser.execute_script(FLOOD, 1000)

    assert held == limit
    assert not oldest_kept
    assert newest_kept
