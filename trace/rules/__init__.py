"""Pure food knowledge: each product family's event types, key data elements, thresholds and
compliance rules (`families/`), GS1 identifiers (`gs1`). No database and no web; imports only
`farmtrace.ledger`."""

from farmtrace.rules import steps  # noqa: E402,F401  (declares the shared steps)
from farmtrace.rules.families import load_all  # noqa: E402

load_all()  # every family declares its own steps on import: the registry is whole once rules is imported
