"""The producer app (/producer): an org's batches, one form per event type from the declarations,
shipping and receiving, transformations and labels. Signed custodially by the org's key until a
device key is registered (issue "The producer app"). Views call services only."""

from farmtrace.web.producer import carbon, device, labels, views  # noqa: F401  (register their routes on bp)
from farmtrace.web.producer.blueprint import bp

__all__ = ["bp"]
