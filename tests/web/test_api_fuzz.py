"""Schemathesis against the live app over HTTP on 127.0.0.1, from the document it serves (reliability plan D2).

Every operation, for every role, in positive and negative mode (negative: schemathesis breaks the
document's constraints on purpose); a batch path also aimed at a real demo batch.
"""

import collections

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import checks  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from farmtrace.web.auth import FailureCounter  # noqa: E402

CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_schema_conformance]
RUNS = {  # role: (demo user or None, examples per operation and mode, negative mode too)
    "producer": ("rice", 50, True),
    "anonymous": (None, 10, True),
    "regulator": ("regulator", 10, True),
    "admin": ("admin", 10, True),
}


def test_generated_requests_never_get_a_5xx_and_every_response_matches_the_document(app, bearer, live_url) -> None:
    app.extensions["auth_failures"] = FailureCounter(limit=10**9)  # negative cases send bad tokens on purpose
    ledger = app.extensions["ledger"]
    schema = schemathesis.openapi.from_url(f"{live_url}/api/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    cases: collections.Counter = collections.Counter()
    written = 0
    events_before = ledger.row_counts()["events"]
    for role, (user, examples, negative) in RUNS.items():
        headers = bearer(user) if user else {}
        for operation in operations:
            has_input = bool(operation.body or list(operation.iter_parameters()))
            strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
            if negative and has_input:
                strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))
            if "{batch_id}" in operation.path:  # random ids all miss: also aim at a real batch
                strategies.append(operation.as_strategy(path_parameters={"batch_id": "plot-nj-0"}))
            for strategy in strategies:
                @given(case=strategy)
                @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
                          suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate])
                def run(case) -> None:
                    nonlocal written
                    response = case.call(base_url=live_url, headers=headers)
                    cases[operation.label] += 1
                    case.validate_response(response, checks=CHECKS)
                    if response.status_code in (200, 201) and case.method == "POST":
                        body = response.json()
                        written += sum(item["created"] for item in body.get("items", [body]))
                try:
                    run()
                except Unsatisfiable:
                    pass  # e.g. negative mode for an operation with nothing to spoil
    assert set(cases) == {op.label for op in operations}
    assert ledger.row_counts()["events"] - events_before >= written  # recalls write the regulator's event too
    print(f"\nD2 api-fuzz: {sum(cases.values())} cases over {len(cases)} operations, 0 5xx, 0 schema violations; "
          f"{written} events written by 2xx appends")
