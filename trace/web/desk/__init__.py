"""The regulator's desk (/desk): search, a batch's audit view, the trace graph, recall and the mock
recall drill (search, audit, graph, recall modules); the dashboard, whole-log verification as a
background job and exports from a browser session (dashboard, verification, exports modules).
Desktop first (1366 px), usable on a tablet. Views call services only (issue "The regulator's desk")."""

from farmtrace.web.desk import audit, carbon, dashboard, exports, graph, recall, search, verification  # noqa: F401
from farmtrace.web.desk.blueprint import bp

__all__ = ["bp"]
