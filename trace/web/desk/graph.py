"""The desk: trace a batch backward to every farm and forward to every retail lot and holder, drawn as a
server-rendered SVG graph beside a table of the same edges with quantities and holders."""

from __future__ import annotations

from typing import Any

from flask import render_template, url_for
from flask_babel import get_locale, gettext
from markupsafe import Markup

from farmtrace.services.desk import org_choices
from farmtrace.services.graph import render_svg, trace_graph

from farmtrace.web.desk.blueprint import bp, ledger


@bp.get("/batches/<batch_id>/trace")
def trace(batch_id: str) -> Any:
    """The batch's lineage, both ways, drawn and tabulated."""
    graph = trace_graph(ledger(), batch_id)
    names = {o.id: o.name for o in org_choices(ledger())}
    root = graph.nodes[batch_id]
    lang = "en" if str(get_locale() or "zh").startswith("en") else "zh"
    svg = render_svg(graph, lang=lang, names=names,
                     href=lambda b: url_for("desk.trace", batch_id=b),
                     words={"title": gettext("Lineage of %(product)s, lot %(lot)s: from farms (left) to retail lots "
                                             "(right)", product=root["product"], lot=root["lot"]),
                            "recalled": gettext("recalled")})
    return render_template("desk/trace.html", graph=graph, root=root, names=names, svg=Markup(svg))  # nosec B704
