"""A certificate's PDF, served inert at `/documents/<sha256>.pdf` (docs/certificates.md).

Anyone may fetch it (the consumer page links to it); it is a download, never a page: served as
application/pdf with Content-Disposition: attachment, nosniff, and a CSP sandbox, so even a file
that some reader took for HTML could run nothing on this site. An unknown or malformed hash is 404.
The file's SHA-256 is its name and is in the signed certificate record: a phone or a person can
re-hash what they downloaded and compare.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, current_app, request

from farmtrace.web.public.batch import bp

INERT_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",  # the name is the content's hash
    "Cross-Origin-Resource-Policy": "same-origin",
}


@bp.get("/documents/<name>.pdf")
def document(name: str) -> Any:
    """The stored PDF whose SHA-256 is `name`, as an attachment."""
    store = current_app.extensions["ledger"].documents
    content = None if store is None else store.read(name)  # at most the document limit (5 MiB by default)
    if content is None:
        abort(404)
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    response.headers.update(INERT_HEADERS)
    response.set_etag(name)
    return response.make_conditional(request)
