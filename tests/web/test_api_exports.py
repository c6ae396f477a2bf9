import io
import json

from openpyxl import load_workbook

from farmtrace.ledger.bundle import verify_bundle

RANGE = "from=2026-01-01&to=2026-12-31"


def test_epcis_exports_by_role_batch_or_range(client, bearer) -> None:
    regulator = client.get(f"/api/v1/exports/epcis?{RANGE}&product=大米", headers=bearer("regulator"))
    assert regulator.status_code == 200 and regulator.mimetype == "application/ld+json"
    doc = json.loads(regulator.get_data(as_text=True))
    assert doc["type"] == "EPCISDocument" and doc["epcisBody"]["eventList"]
    assert {e["ft:batch"] for e in doc["epcisBody"]["eventList"]} <= {"rice-nj-0", "rice-nj-1"}
    own = client.get("/api/v1/exports/epcis?batch=paddy-nj-0-0", headers=bearer("rice"))  # the farm's lot
    assert own.status_code == 200
    assert "rice-nj-0" in {e["ft:batch"] for e in json.loads(own.get_data())["epcisBody"]["eventList"]}
    refused = {
        "a producer's date range": (f"/api/v1/exports/epcis?{RANGE}", "rice", 403, "role"),
        "another org's batch": ("/api/v1/exports/epcis?batch=rice-nj-0", "tea", 403, "batch"),
        "no such batch": ("/api/v1/exports/epcis?batch=no-such-lot", "regulator", 404, "batch"),
        "another org's bundle": ("/api/v1/batches/tea-yd-0/bundle", "rice", 403, "batch"),
    }
    for case, (url, user, status, field) in refused.items():
        response = client.get(url, headers=bearer(user))
        assert (response.status_code, response.get_json()["error"]["field"]) == (status, field), case
    assert client.get(f"/api/v1/exports/epcis?{RANGE}").status_code == 401
    bundle = client.get("/api/v1/batches/rice-nj-0/bundle", headers=bearer("admin"))
    assert bundle.status_code == 200 and verify_bundle(bundle.get_json()).ok


def test_fsma204_is_a_csv_or_xlsx_attachment_for_regulators(client, bearer) -> None:
    csv = client.get(f"/api/v1/exports/fsma204?{RANGE}&lang=zh", headers=bearer("regulator"))
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert csv.headers["Content-Disposition"] == 'attachment; filename="fsma204-2026-01-01-2026-12-31.csv"'
    text = csv.get_data().decode("utf-8")
    assert text.startswith("\ufeff关键追踪事件") and "发运" in text
    xlsx = client.get(f"/api/v1/exports/fsma204?{RANGE}&format=xlsx", headers=bearer("admin"))
    assert xlsx.status_code == 200 and xlsx.headers["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert sheet.max_row == len(text.strip().splitlines())  # the same rows, one header
    assert client.get(f"/api/v1/exports/fsma204?{RANGE}", headers=bearer("rice")).status_code == 403


def test_a_bad_export_query_gets_422_naming_the_field(client, bearer) -> None:
    bad = {
        "/api/v1/exports/epcis?from=2026-13-01&to=2026-03-31": "from",
        "/api/v1/exports/epcis?from=2026-02-30&to=2026-03-31": "from",
        "/api/v1/exports/epcis?from=2026-03-31&to=2026-03-01": "to",
        "/api/v1/exports/epcis?from=2026-03-01": "to",
        "/api/v1/exports/epcis?batch=rice-nj-0&from=2026-03-01": "batch",
        "/api/v1/exports/epcis": "batch",
        "/api/v1/exports/fsma204?from=2026-03-01": "to",
        "/api/v1/exports/fsma204?from=yesterday&to=2026-03-01": "from",
        f"/api/v1/exports/fsma204?{RANGE}&format=pdf": "format",
        f"/api/v1/exports/fsma204?{RANGE}&lang=fr": "lang",
    }
    for url, field in bad.items():
        response = client.get(url, headers=bearer("regulator"))
        assert response.status_code == 422, (url, response.get_data(as_text=True)[:200])
        assert response.get_json()["error"]["field"] == field, url


CALENDAR_ENDS = {  # case: query -> 200 with every demo event, or with none
    "the first day to the last day there is": ("from=0001-01-01&to=9999-12-31", "everything"),
    "the first day alone": ("from=0001-01-01&to=0001-01-01", "nothing"),
    "the last day alone": ("from=9999-12-31&to=9999-12-31", "nothing"),
    "times at the ends": ("from=0001-01-01T00:00:00%2B23:59&to=9999-12-31T23:59:59-23:59", "everything"),
}
BAD_DATES = {  # case: query -> the field the 422 names
    "year zero": ("from=0000-01-01&to=2026-01-01", "from"),
    "a five-digit year": ("from=2026-01-01&to=10000-01-01", "to"),
    "an offset of 24 hours": ("from=2026-01-01T00:00:00%2B24:00&to=2026-02-01", "from"),
    "a day that does not exist": ("from=2026-01-01&to=2026-02-31", "to"),
}


def test_exports_at_the_ends_of_the_calendar_are_complete_or_empty_never_a_500(client, bearer) -> None:
    headers = bearer("regulator")
    wide = "from=1900-01-01&to=2099-12-31"  # wider than every demo event (the baijiu was laid down in 2019)
    everything = json.loads(client.get(f"/api/v1/exports/epcis?{wide}", headers=headers).get_data())
    for case, (query, holds) in CALENDAR_ENDS.items():
        epcis = client.get(f"/api/v1/exports/epcis?{query}", headers=headers)
        assert epcis.status_code == 200, (case, epcis.get_data(as_text=True)[:200])
        events = json.loads(epcis.get_data())["epcisBody"]["eventList"]
        assert events == (everything["epcisBody"]["eventList"] if holds == "everything" else []), case
        sheet = client.get(f"/api/v1/exports/fsma204?{query}", headers=headers)
        assert sheet.status_code == 200, (case, sheet.get_data(as_text=True)[:200])
        assert (len(sheet.get_data().splitlines()) > 1) == (holds == "everything"), case
    for case, (query, field) in BAD_DATES.items():
        for path in ("/api/v1/exports/epcis", "/api/v1/exports/fsma204"):
            refused = client.get(f"{path}?{query}", headers=headers)
            assert (refused.status_code, refused.get_json()["error"]["field"]) == (422, field), (case, path)


FOREIGN = {  # another system's document: a lot commissioned, then shipped
    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
    "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-01T08:00:00Z",
    "epcisBody": {"eventList": [
        {"type": "ObjectEvent", "eventTime": "2026-03-01T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
         "action": "ADD", "bizStep": "commissioning", "disposition": "active",
         "quantityList": [{"epcClass": "https://id.gs1.org/01/09521001005012/10/EXT-1", "quantity": 200,
                           "uom": "KGM"}]},
        {"type": "ObjectEvent", "eventTime": "2026-03-02T08:00:00+08:00", "eventTimeZoneOffset": "+08:00",
         "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
         "quantityList": [{"epcClass": "https://id.gs1.org/01/09521001005012/10/EXT-1"}]},
    ]},
}


def test_an_epcis_document_is_imported_once_by_a_producer_or_regulator_token(client, bearer) -> None:
    body = json.dumps(FOREIGN).encode()
    first = client.post("/api/v1/import/epcis", data=body, headers=bearer("mill"))
    assert first.status_code == 201, first.get_json()
    report = first.get_json()
    assert (report["events"], report["recorded"], len(report["batches"])) == (2, 2, 1)
    again = client.post("/api/v1/import/epcis", data=body, headers=bearer("mill"))
    assert again.status_code == 200 and again.get_json()["recorded"] == 0
    bad = dict(FOREIGN, epcisBody={"eventList": [dict(FOREIGN["epcisBody"]["eventList"][0], eventTime="soon")]})
    refused = client.post("/api/v1/import/epcis", data=json.dumps(bad), headers=bearer("regulator"))
    assert refused.status_code == 422
    assert refused.get_json()["error"]["field"] == "epcisBody.eventList.0.eventTime"
    assert client.post("/api/v1/import/epcis", data=body, headers=bearer("admin")).status_code == 403
    assert client.post("/api/v1/import/epcis", data=b"not json", headers=bearer("mill")).status_code == 422
