"""Certificate PDFs: checked by content, stored outside the database, named by their SHA-256.

Rules (docs/certificates.md):
1. A document is judged by its bytes, never by its file name or declared type: at most
   `max_bytes` (FARMTRACE_MAX_DOCUMENT_BYTES, 5 MiB by default); it begins with `%PDF-`; a `%%EOF`
   marker lies in its last 1,024 bytes; no HTML or script hides in its first 1,024 bytes (a page a
   browser might sniff as HTML) and it carries no PDF JavaScript or launch action (/JavaScript,
   /JS, /Launch). A refusal raises DocumentTooLargeError (413) or DocumentTypeError (415) with a
   message in Chinese and English, and nothing is written.
2. Stored content-addressed under the instance folder, `documents/ab/abcdef….pdf` (the first two
   hex digits of the SHA-256 as a folder), written to a temporary file in that folder, flushed to
   disk, then renamed into place: a reader never sees half a file, and storing the same bytes again
   changes nothing (idempotent).
3. Only the SHA-256 enters the signed `certified` event (data.document); at append, the event is
   refused unless this server holds that file (`require_stored`, called from services/append.py).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from farmtrace.ledger.errors import DocumentTooLargeError, DocumentTypeError, InvalidEventError, Said
from farmtrace.rules.certified import HEX64, is_certificate

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024
TAIL = 1024  # bytes at the end that must hold %%EOF (PDF 1.7, ISO 32000-1 §7.5.5 allows trailing junk)
HEAD = 1024
PDF_MAGIC = b"%PDF-"
HTML_MARKERS = re.compile(rb"<\s*(!doctype|html|head|body|script|iframe|svg|object|embed|meta|a\s)|javascript:",
                          re.IGNORECASE)
ACTIVE_PDF = re.compile(rb"/(JavaScript|JS|Launch)\b")


@dataclass(frozen=True)
class StoredDocument:
    sha256: str
    size: int
    created: bool  # False: the same bytes were stored before


def _size(n: int) -> str:
    return f"{n / (1024 * 1024):g} MiB" if n >= 1024 * 1024 else f"{n / 1024:g} KiB"


def check_pdf(content: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
    """Refuse anything but a plain PDF of at most `max_bytes` (DocumentTooLargeError, DocumentTypeError)."""
    if len(content) > max_bytes:
        raise DocumentTooLargeError(Said(
            f"the file is too large: the limit is {_size(max_bytes)} ({max_bytes} bytes)",
            f"文件过大：上限为 {_size(max_bytes)}（{max_bytes} 字节）"), field="file")
    if not content:
        raise DocumentTypeError(Said("the file is empty; choose the certificate's PDF", "文件为空，请选择证书的 PDF 文件"),
                                field="file")
    if not content.startswith(PDF_MAGIC):
        raise DocumentTypeError(Said("the file is not a PDF: it does not begin with %PDF- (its name or type does not "
                                     "matter, its content does)",
                                     "文件不是 PDF：内容不以 %PDF- 开头（看的是文件内容，不是文件名或类型）"), field="file")
    if b"%%EOF" not in content[-TAIL:]:
        raise DocumentTypeError(Said("the PDF is incomplete: no %%EOF marker at its end",
                                     "PDF 不完整：文件末尾没有 %%EOF 结束标记"), field="file")
    if HTML_MARKERS.search(content[:HEAD]):
        raise DocumentTypeError(Said("the file holds HTML or script near its start; only a plain PDF is accepted",
                                     "文件开头含有网页或脚本代码，只接受普通 PDF"), field="file")
    if ACTIVE_PDF.search(content):
        raise DocumentTypeError(Said("the PDF carries JavaScript or a launch action; only a plain PDF is accepted",
                                     "PDF 含有 JavaScript 或启动动作，只接受普通 PDF"), field="file")


class DocumentStore:
    """Certificate PDFs in a folder, content-addressed: `<root>/ab/abcdef….pdf`."""

    def __init__(self, root: Path, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> None:
        self.root, self.max_bytes = Path(root), max_bytes

    def path(self, sha256: str) -> Path | None:
        """Where the document with this SHA-256 lives (None for a malformed hash)."""
        if not isinstance(sha256, str) or not HEX64.match(sha256):
            return None
        return self.root / sha256[:2] / f"{sha256}.pdf"

    def has(self, sha256: str) -> bool:
        path = self.path(sha256)
        return path is not None and path.is_file()

    def save(self, content: bytes) -> StoredDocument:
        """Check `content` (check_pdf) and store it; storing the same bytes again is a no-op."""
        check_pdf(content, max_bytes=self.max_bytes)
        sha = hashlib.sha256(content).hexdigest()
        target = self.path(sha)
        assert target is not None
        if target.is_file():
            return StoredDocument(sha, len(content), created=False)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".upload-", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return StoredDocument(sha, len(content), created=True)

    def discard(self, stored: StoredDocument) -> None:
        """Take back a document this request stored when the event naming it was refused."""
        path = self.path(stored.sha256)
        if stored.created and path is not None:
            path.unlink(missing_ok=True)

    def read(self, sha256: str) -> bytes | None:
        path = self.path(sha256)
        if path is None or not path.is_file():
            return None
        return path.read_bytes()


def require_stored(documents: DocumentStore | None, body_type: str, data: Mapping[str, Any]) -> None:
    """Refuse a `certified` record naming a document this server does not hold (field data.document)."""
    if body_type != "observe" or not is_certificate(data) or "document" not in data:
        return
    document = str(data["document"])
    if documents is None or not documents.has(document):
        raise InvalidEventError(Said(f"data.document {document[:12]}… is not a PDF stored on this server: upload it "
                                     "first (POST /api/v1/documents)",
                                     f"证书文件 {document[:12]}… 未在本服务器上传，请先上传 PDF"),
                                field="data.document")
