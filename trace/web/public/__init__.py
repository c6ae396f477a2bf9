"""Pages anyone may open without signing in: the home page, a batch's page with its verification,
its bundle and certificate (`batch`), and the consumer's page behind a QR code (`consumer`)."""

from farmtrace.web.public import consumer
from farmtrace.web.public import documents  # noqa: F401  (registers /documents/<sha256>.pdf)
from farmtrace.web.public.batch import bp as batch_bp
from farmtrace.web.public.consumer import bp as consumer_bp

__all__ = ["batch_bp", "consumer", "consumer_bp"]
