"""The producer's own emissions per unit of product by month (企业能效碳排放绩效), with a CSV download:
the same report the desk shows for any org (docs/carbon.md)."""

from __future__ import annotations

from typing import Any

from flask import Response, render_template, url_for
from flask_babel import get_locale
from flask_login import current_user

from farmtrace.services.footprint import org_monthly
from farmtrace.services.producer import org_names

from farmtrace.web.footprint import months_csv, months_shown
from farmtrace.web.producer.blueprint import bp, ledger


def _lang() -> str:
    return "en" if str(get_locale() or "zh").startswith("en") else "zh"


@bp.get("/carbon")
def carbon() -> Any:
    org = current_user.account.org
    return render_template("producer/carbon.html", org_name=org_names(ledger()).get(org, org),
                           months=months_shown(org_monthly(ledger(), org), _lang()),
                           csv_href=url_for("producer.carbon_csv"))


@bp.get("/carbon.csv")
def carbon_csv() -> Any:
    org = current_user.account.org
    body = months_csv(org_monthly(ledger(), org), _lang())
    return Response(body.encode("utf-8"), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="carbon-{org}.csv"'})
