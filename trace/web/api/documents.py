"""Certificate PDFs through the API: `POST /api/v1/documents` (multipart `file`) stores one, checked by
its content (services/documents.py), and answers its SHA-256 for a `certified` event's data.document."""

from __future__ import annotations

from typing import Any

from flask import request
from pydantic import BaseModel

from farmtrace.ledger.errors import InvalidRequestError, Said
from farmtrace.web.api.events import bp, ledger, op, out
from farmtrace.web.auth import current_actor, require_role


class DocumentOut(BaseModel):
    sha256: str
    size: int


@bp.post("/documents")
@op("Store a certificate PDF (multipart field `file`, checked by content: at most 5 MiB by default, %PDF- ... "
    "%%EOF, no HTML or script); answers its SHA-256 for a certified event's data.document", auth=True,
    ok={201: DocumentOut, 200: DocumentOut}, errors=(401, 403, 413, 415, 422))
def upload_document() -> tuple[dict[str, Any], int]:
    """201 when stored now; 200 when the same bytes were stored before (content-addressed)."""
    actor = current_actor()
    require_role(actor, "producer", "regulator")
    upload = request.files.get("file")
    if upload is None:
        raise InvalidRequestError(Said("send the PDF as the multipart form field `file`",
                                       "请以表单字段 file 上传 PDF 文件"), field="file")
    store = ledger().documents
    if store is None:
        raise InvalidRequestError(Said("this server stores no documents", "本服务器不保存文件"), field="file")
    saved = store.save(upload.read(store.max_bytes + 1))
    return out(DocumentOut, {"sha256": saved.sha256, "size": saved.size}), 201 if saved.created else 200
