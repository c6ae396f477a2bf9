"""Pure food knowledge: each product family's event types, key data elements, thresholds and
compliance rules (`families/`), GS1 identifiers (`gs1`). No database and no web; imports only
`farmtrace.ledger`."""
