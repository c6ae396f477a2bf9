"""Issue 11's lab, GTIN and event-time rules as an API client meets them: a 422 naming the field, nothing written."""

from datetime import datetime, timedelta, timezone

import pytest

from farmtrace.demo import GTINS


@pytest.fixture
def ledger(app):
    return app.extensions["ledger"]


def create(batch: str = "http-b1", lot: str = "HTTP-1") -> dict:
    return {"type": "create", "batch": batch, "at": "2026-03-01T08:00:00+08:00", "data": {
        "product": "南江富硒稻谷", "lot": lot, "family": "produce", "quantity": "100", "unit": "KGM"}}


def step(type: str, at: str = "2026-03-02T08:00:00+08:00", **data) -> dict:
    return {"type": type, "batch": "http-b1", "at": at, "data": data}


REFUSED = {  # id: (draft after the batch's create at 2026-03-01T08:00+08:00, error code, field)
    "a sample whose lab is the producer itself": (step("sample", lab="nanjiang-se-rice", sample_id="S-1"),
                                                  "invalid_event", "data.lab"),
    "a sample whose lab is a regulator, not a lab": (step("sample", lab="bazhong-samr", sample_id="S-1"),
                                                     "invalid_event", "data.lab"),
    "the distillery's GTIN packed by the rice farm": (step("packed", gtin=GTINS["baijiu"], units="10"),
                                                      "invalid_event", "data.gtin"),
    "a lot code that is not the batch's": (step("packed", lot="PC0", units="10"), "invalid_event", "data.lot"),
    "an event in the year 9999": (step("observe", at="9999-12-31T23:59:59+08:00", step="x"), "invalid_time", "at"),
    "an event in 1970": (step("observe", at="1970-01-01T00:00:00Z", step="x"), "invalid_time", "at"),
    "an event before the batch was created": (step("observe", at="2026-02-28T08:00:00+08:00", step="x"),
                                              "invalid_time", "at"),
}


@pytest.mark.parametrize(("draft", "code", "field"), list(REFUSED.values()), ids=list(REFUSED))
def test_a_refused_lab_gtin_or_time_is_a_422_naming_its_field_and_writes_nothing(client, bearer, ledger, draft, code,
                                                                                field) -> None:
    assert client.post("/api/v1/events", json=create(), headers=bearer("rice")).status_code == 201
    before = ledger.row_counts()
    response = client.post("/api/v1/events", json=draft, headers=bearer("rice"))
    assert response.status_code == 422, response.get_json()
    error = response.get_json()["error"]
    assert (error["code"], error["field"]) == (code, field) and error["message"]
    assert ledger.row_counts() == before
    in_a_batch = client.post("/api/v1/events/batch", json={"items": [draft]}, headers=bearer("rice"))
    assert in_a_batch.status_code == 422 and in_a_batch.get_json()["error"]["field"] == f"items[0].{field}"
    assert ledger.row_counts() == before


def test_the_demo_lab_is_accredited_and_a_time_a_little_ahead_is_accepted(client, bearer) -> None:
    assert client.post("/api/v1/events", json=create(), headers=bearer("rice")).status_code == 201
    sent = client.post("/api/v1/events", json=step("sample", lab="bazhong-testing", sample_id="S-1"),
                       headers=bearer("rice"))
    assert sent.status_code == 201, sent.get_json()
    soon = (datetime.now(timezone.utc) + timedelta(minutes=5)).replace(microsecond=0).isoformat()
    later = client.post("/api/v1/events", json=step("observe", at=soon, step="dried"), headers=bearer("rice"))
    assert later.status_code == 201, later.get_json()
