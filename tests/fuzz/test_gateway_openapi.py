"""Fuzzes every operation of the gateway's OpenAPI document with schemathesis.

Generated requests, valid and invalid, must never get a 5xx, and every
answer must match the status codes, headers and bodies the document
promises. A schema-valid request may still be refused with a documented
422: business rules (a total that disagrees with its items, an unknown
product) cannot be written in a JSON schema, so that one check is off.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from services.shared.settings import LabSettings

BASE = LabSettings().service_url("gateway")

schema = schemathesis.openapi.from_url(f"{BASE}/openapi.json")


@schema.parametrize()
@settings(max_examples=60, deadline=None,
          suppress_health_check=list(HealthCheck))
def test_gateway_answers_every_generated_request_as_documented(
    case: schemathesis.Case,
) -> None:
    case.call_and_validate(excluded_checks=[checks.positive_data_acceptance])
