"""The JSON API (/api/v1) and the log's read API (/log): bearer tokens, JSON errors, OpenAPI.

`events` holds the blueprints and the batch and event views; `exports` adds the export views to
the same blueprint; `schemas` are the request and response models the OpenAPI document is built from.
"""

from farmtrace.web.api import exports  # noqa: F401  (registers the export views on bp)
from farmtrace.web.api import documents  # noqa: F401  (registers POST /documents on bp)
from farmtrace.web.api.events import bp, log_bp

__all__ = ["bp", "log_bp"]
