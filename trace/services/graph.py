"""The trace graph: a batch's ancestors and descendants as one layered drawing, rendered on the server as
inline SVG (no script, no CDN), farms on the left, retail lots on the right.

Layout (Sugiyama-style, kept small): each lot gets a column by its longest path from the traced batch
(ancestors negative, descendants positive, so every edge points left to right); within a column lots
are ordered by the mean row of their neighbours in the column nearer the traced batch, which keeps
most edges from crossing; edges are cubic curves labelled with the quantity that went along them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from html import escape
from typing import Any

from farmtrace.rules.declare import number_text, unit_name
from farmtrace.services.ledger import Ledger
from farmtrace.services.lineage import trace

NODE_W, NODE_H = 210, 62
COL_GAP, ROW_GAP = 110, 22
PAD = 16


@dataclass(frozen=True)
class TraceGraph:
    """Both walks from `root`: every lot reached (with its column) and every edge, parent -> child."""

    root: str
    nodes: dict[str, dict[str, Any]]        # batch summaries (uow.batch_summaries) + "layer", "row"
    edges: list[dict[str, str]]             # {child, parent, via, quantity, unit}
    ancestors: int
    descendants: int


def trace_graph(ledger: Ledger, batch_id: str) -> TraceGraph:
    """The batch's whole lineage: backward to every farm and forward to every retail lot, laid out."""
    back, forth = trace(ledger, batch_id, "backward"), trace(ledger, batch_id, "forward")
    nodes = {b["id"]: dict(b) for b in back.batches + forth.batches}
    seen: set[tuple[str, str]] = set()
    edges = []
    for edge in back.edges + forth.edges:
        if (edge["parent"], edge["child"]) not in seen:
            seen.add((edge["parent"], edge["child"]))
            edges.append(edge)
    _layout(batch_id, nodes, back.edges, forth.edges)
    return TraceGraph(batch_id, nodes, edges, len(back.batches) - 1, len(forth.batches) - 1)


def _longest(root: str, edges: list[dict[str, str]], step: str, back: str) -> dict[str, int]:
    """Longest path length from `root` to each node along `edges` (from field `back` to field `step`)."""
    out: dict[str, list[str]] = {}
    indegree: dict[str, int] = {}
    for e in edges:
        out.setdefault(e[back], []).append(e[step])
        indegree[e[step]] = indegree.get(e[step], 0) + 1
    depth = {root: 0}
    ready = [root]
    while ready:  # Kahn's order from the root: a node's depth is final once every edge into it is seen
        node = ready.pop()
        for nxt in out.get(node, []):
            depth[nxt] = max(depth.get(nxt, 0), depth[node] + 1)
            indegree[nxt] -= 1
            if indegree[nxt] == 0:
                ready.append(nxt)
    return depth


def _layout(root: str, nodes: dict[str, dict[str, Any]], back: list[dict[str, str]],
            forth: list[dict[str, str]]) -> None:
    up = _longest(root, back, "parent", "child")
    down = _longest(root, forth, "child", "parent")
    for node_id, node in nodes.items():
        node["layer"] = -up[node_id] if node_id in up and node_id != root else down.get(node_id, 0)
    neighbours: dict[str, list[str]] = {}
    for e in back + forth:
        neighbours.setdefault(e["child"], []).append(e["parent"])
        neighbours.setdefault(e["parent"], []).append(e["child"])
    layers: dict[int, list[str]] = {}
    for node_id, node in nodes.items():
        layers.setdefault(node["layer"], []).append(node_id)
    row: dict[str, float] = {root: 0.0}
    for direction in (-1, 1):  # outward from the root: order a column by its neighbours nearer the root
        layer = direction
        while layer in layers:
            nearer = layer - direction

            def centre(node_id: str) -> float:
                rows = [row[n] for n in neighbours.get(node_id, []) if nodes.get(n, {}).get("layer") == nearer
                        and n in row]
                return sum(rows) / len(rows) if rows else 0.0
            ordered = sorted(layers[layer], key=lambda n: (centre(n), nodes[n]["product"], nodes[n]["lot"]))
            for index, node_id in enumerate(ordered):
                row[node_id] = float(index)
            layers[layer] = ordered
            layer += direction
    for node_id, node in nodes.items():
        node["row"] = int(row.get(node_id, 0))


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def render_svg(graph: TraceGraph, *, lang: str, names: Mapping[str, str], href: Callable[[str], str],
               words: Mapping[str, str]) -> str:
    """The graph as one inline <svg>: a box per lot (product, lot, holder) linking to `href(id)`, an arrow per
    edge labelled with its quantity. `words`: "title", "recalled", "traced" in the page's language."""
    layers = [n["layer"] for n in graph.nodes.values()]
    first = min(layers, default=0)
    columns = max(layers, default=0) - first + 1
    tallest: dict[int, int] = {}
    for node in graph.nodes.values():
        tallest[node["layer"]] = max(tallest.get(node["layer"], 0), node["row"] + 1)
    height_rows = max(tallest.values(), default=1)
    width = PAD * 2 + columns * NODE_W + (columns - 1) * COL_GAP
    height = PAD * 2 + height_rows * NODE_H + (height_rows - 1) * ROW_GAP

    def box(node: dict[str, Any]) -> tuple[int, int]:
        # each column is centred vertically, so a short column sits beside the middle of a tall one
        offset = (height_rows - tallest[node["layer"]]) * (NODE_H + ROW_GAP) // 2
        return (PAD + (node["layer"] - first) * (NODE_W + COL_GAP), PAD + offset + node["row"] * (NODE_H + ROW_GAP))

    title = escape(words.get("title", ""))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="trace-graph" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="group" aria-labelledby="trace-graph-title">'
           f'<title id="trace-graph-title">{title}</title>'
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5a4d"/></marker></defs>']
    for edge in graph.edges:
        parent, child = graph.nodes.get(edge["parent"]), graph.nodes.get(edge["child"])
        if parent is None or child is None:
            continue
        (px, py), (cx, cy) = box(parent), box(child)
        x1, y1, x2, y2 = px + NODE_W, py + NODE_H // 2, cx, cy + NODE_H // 2
        bend = max(30, (x2 - x1) // 2)
        label = escape(f"{number_text(edge['quantity'])} {unit_name(edge['unit'], lang)}".strip())
        out.append(f'<path class="edge" d="M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}" fill="none" '
                   f'stroke="#4a5a4d" stroke-width="1.6" marker-end="url(#arrow)"/>'
                   f'<text class="qty" x="{(x1 + x2) // 2}" y="{(y1 + y2) // 2 - 5}" text-anchor="middle" '
                   f'font-size="12" fill="#1d2b1f" paint-order="stroke" stroke="#fff" stroke-width="4">{label}</text>')
    for node_id, node in sorted(graph.nodes.items(), key=lambda item: (item[1]["layer"], item[1]["row"])):
        x, y = box(node)
        recalled = bool(node.get("recall"))
        is_root = node_id == graph.root
        stroke = "#b3261e" if recalled else ("#1d2b1f" if is_root else "#2e6b34")
        fill = "#fff5f4" if recalled else ("#e8f3e6" if is_root else "#ffffff")
        holder = names.get(node["holder"], node["holder"])
        mark = f' · {words.get("recalled", "")}' if recalled else ""
        out.append(f'<a href="{escape(href(node_id))}" class="node{" root" if is_root else ""}'
                   f'{" recalled" if recalled else ""}">'
                   f'<rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="6" fill="{fill}" stroke="{stroke}" '
                   f'stroke-width="{3 if is_root or recalled else 1.5}"/>'
                   f'<text x="{x + 10}" y="{y + 19}" font-size="14" font-weight="600" fill="#1d2b1f">'
                   f'{escape(_short(str(node["product"]), 14))}</text>'
                   f'<text x="{x + 10}" y="{y + 37}" font-size="12" fill="#33413a">{escape(_short(str(node["lot"]), 18))}'
                   f'{escape(mark)}</text>'
                   f'<text x="{x + 10}" y="{y + 54}" font-size="12" fill="#33413a">{escape(_short(holder, 16))}</text>'
                   f'<title>{escape(str(node["product"]))} · {escape(str(node["lot"]))} · {escape(holder)}</title></a>')
    out.append("</svg>")
    return "".join(out)
