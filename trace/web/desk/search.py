"""The desk: search any batch by lot code, GTIN, serial, org, product, family, county, dates and status,
sorted and paged on the server. A bad parameter is named beside its field, with a 400, never a 500."""

from __future__ import annotations

from typing import Any

from flask import render_template, request
from flask_babel import get_locale, gettext

from farmtrace.rules.declare import COUNTIES
from farmtrace.rules.steps import FAMILIES
from farmtrace.services.desk import STATUSES, SearchQuery, org_choices, search

from farmtrace.web.desk.blueprint import bp, ledger


@bp.get("/")
@bp.get("/search")  # registered first, so url_for("desk.index") names /desk/search (see docs/desk.md)
def index() -> Any:
    """Search every batch in the ledger."""
    orgs = org_choices(ledger())
    query, problems = SearchQuery.parse(request.args, orgs={o.id: o for o in orgs})
    results = None if problems else search(ledger(), query)
    english = str(get_locale() or "zh").startswith("en")
    statuses = {"in_stock": gettext("in stock"), "in_transit": gettext("in transit"), "recalled": gettext("recalled"),
                "warnings": gettext("with warnings"), "closed": gettext("used up or sold")}
    return render_template(
        "desk/search.html", query=query, results=results, problems=problems, families=FAMILIES,
        org_choices=[(o.id, o.name) for o in orgs],
        family_choices=[(k, v[1] if english else v[0]) for k, v in FAMILIES.items()],
        county_choices=[(k, v[1] if english else v[0]) for k, v in COUNTIES.items()],
        status_choices=[(k, statuses[k]) for k in STATUSES], args=request.args), 400 if problems else 200
