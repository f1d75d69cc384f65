"""Schemathesis against the server's OpenAPI: whatever the parameters, no 500 and no
answer outside the schema (a bad parameter is a 400 with one line)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

pytestmark = pytest.mark.slow  # a forecast per example on some endpoints

PATHS = ["/api/v1/status", "/api/v1/summary", "/api/v1/charges", "/api/v1/unit-costs", "/api/v1/margin",
         "/api/v1/statement", "/api/v1/bridge", "/api/v1/commitments", "/api/v1/credits",
         "/api/v1/forecast/{series}", "/api/v1/scenario", "/api/v1/anomalies", "/api/v1/figures/check",
         "/api/v1/capacity/throughput", "/api/v1/revenue-share", "/api/v1/figures/compare",
         "/api/v1/ingests", "/api/v1/quarantine", "/api/v1/coverage"]  # fmt: skip


@pytest.fixture(scope="module")
def api_schema(make_app, books):
    ledger, _, contracts = books
    return schemathesis.openapi.from_asgi("/openapi.json", make_app(ledger, contracts))


def test_the_schema_holds_every_endpoint(api_schema):
    found = sorted(op.ok().path for op in api_schema.get_all_operations())
    assert found == sorted(PATHS)


@pytest.mark.parametrize("path", PATHS)
def test_no_request_gets_a_500_or_an_answer_outside_the_schema(api_schema, path):
    operation = api_schema[path]["GET"]

    @given(case=operation.as_strategy())
    @settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def check(case) -> None:
        response = case.call()
        assert response.status_code < 500, (case.path, case.query, response.text)
        if response.status_code == 400:
            error = response.json()["error"]
            assert error and "\n" not in error
        # a 400 to a value the schema allows (an unknown dimension in `by`) is the command's own refusal
        case.validate_response(response, excluded_checks=[positive_data_acceptance])

    check()
