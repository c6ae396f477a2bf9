import io
import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from openpyxl import load_workbook

from tests.web.test_account import log_in

DOWNLOAD = "/desk/exports/download"


@pytest.fixture(scope="module")
def epcis_schema(shared_dir: Path) -> Draft7Validator:
    schema = json.loads((shared_dir / "vectors" / "epcis" / "EPCIS-JSON-Schema.json").read_text())
    return Draft7Validator(schema)


def test_a_regulator_downloads_a_lineage_as_epcis_that_gs1s_schema_accepts(client, epcis_schema) -> None:
    log_in(client, "regulator")
    assert "EPCIS 2.0" in client.get("/desk/exports?lang=en").get_data(as_text=True)
    both = client.get(DOWNLOAD, query_string={"format": "epcis", "scope": "lineage", "batch": "rice-nj-0",
                                              "direction": "both"})
    assert both.status_code == 200 and both.mimetype == "application/ld+json"
    assert 'filename="epcis-rice-nj-0-both.jsonld"' in both.headers["Content-Disposition"]
    doc = json.loads(both.get_data(as_text=True))
    assert not list(epcis_schema.iter_errors(doc))
    batches = {e["ft:batch"] for e in doc["epcisBody"]["eventList"]}
    assert {"rice-nj-0", "paddy-nj-0-0"} <= batches
    forward = client.get(DOWNLOAD, query_string={"format": "epcis", "scope": "lineage", "batch": "paddy-nj-0-0",
                                                 "direction": "forward"})
    forward_batches = {e["ft:batch"] for e in json.loads(forward.get_data())["epcisBody"]["eventList"]}
    assert "rice-nj-0" in forward_batches and "paddy-nj-0-0" in forward_batches
    backward = client.get(DOWNLOAD, query_string={"format": "epcis", "scope": "lineage", "batch": "paddy-nj-0-0",
                                                  "direction": "backward"})
    assert "rice-nj-0" not in {e["ft:batch"] for e in json.loads(backward.get_data())["epcisBody"]["eventList"]}


def test_an_admin_downloads_a_date_range_as_an_fsma204_spreadsheet_openpyxl_opens(client) -> None:
    log_in(client, "admin")
    xlsx = client.get(DOWNLOAD, query_string={"format": "xlsx", "scope": "range", "from": "2026-01-01",
                                              "to": "2026-12-31", "sheet_lang": "zh"})
    assert xlsx.status_code == 200 and xlsx.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "关键追踪事件" and len(rows) > 10
    csv = client.get(DOWNLOAD, query_string={"format": "csv", "scope": "lineage", "batch": "rice-nj-0",
                                             "sheet_lang": "en"})
    lines = csv.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert csv.status_code == 200 and lines[0].startswith("Critical tracking event") and len(lines) > 3
    assert all("rice-nj-0" in line or "paddy-nj-0" in line for line in lines[1:])


BAD_FORMS = {  # id: (the form, the field whose error is shown)
    "no batch": ({"scope": "lineage", "batch": ""}, "batch"),
    "no such batch": ({"scope": "lineage", "batch": "no-such-lot"}, "batch"),
    "a batch id with a slash": ({"scope": "lineage", "batch": "../etc"}, "batch"),
    "no from": ({"scope": "range", "to": "2026-12-31"}, "from"),
    "not a date": ({"scope": "range", "from": "2026-13-45", "to": "2026-12-31"}, "from"),
    "to before from": ({"scope": "range", "from": "2026-12-31", "to": "2026-01-01"}, "to"),
    "an unknown format": ({"scope": "range", "format": "pdf", "from": "2026-01-01", "to": "2026-02-01"}, "format"),
    "an unknown direction": ({"scope": "lineage", "batch": "rice-nj-0", "direction": "sideways"}, "direction"),
}


@pytest.mark.parametrize(("form", "field"), list(BAD_FORMS.values()), ids=list(BAD_FORMS))
def test_bad_form_input_is_shown_beside_its_field_never_a_500(client, form, field) -> None:
    log_in(client, "regulator")
    response = client.get(DOWNLOAD, query_string=form)
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and response.mimetype == "text/html"
    assert f'id="{field}-error"' in page and 'class="error-summary"' in page
