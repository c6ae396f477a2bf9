"""Commands and queries over the store: append, keys, the log, verification, lineage and recall,
tokens and accounts, scans, views for pages and exports. Each command runs in one unit of work
(`farmtrace.storage.uow`); web and CLI call these and nothing below them."""
