"""Pure formats and proofs (farmtrace.ledger): no database, no Flask; tested against ../shared/vectors."""
