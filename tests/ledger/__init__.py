"""Pure formats and proofs (farmtrace.ledger): no database, no Flask; tested against ../shared/vectors."""

import farmtrace.rules  # noqa: F401  (declares the event types the tests parse, as verify-offline does)
