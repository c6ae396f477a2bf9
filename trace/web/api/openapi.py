"""/api/v1/openapi.json, generated from the views' `op` notes and the pydantic models in `schemas`.

Every /api/v1 and /log rule in the app's url_map becomes an operation; request bodies, query
parameters and responses are the JSON Schemas (2020-12, OpenAPI 3.1's dialect) of the very models
the views validate with, gathered under components/schemas.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from farmtrace.rules.declare import DECLARATIONS, json_schema
from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import models_json_schema

from farmtrace.web.api import schemas as s
from farmtrace.web.errors import MAX_HEADER_LINE, MAX_HEADERS, MAX_REQUEST_TARGET

REF = "#/components/schemas/{model}"
PATH_PARAMS: dict[str, dict[str, Any]] = {
    "batch_id": {"type": "string", "pattern": s.IDENT_PATTERN, "description": "a batch id"},
    "event_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "an event's hash"},
}
ERROR_TEXT = {400: "Bad request", 401: "No valid API token", 403: "Not allowed for this token's org or role",
              404: "Not found", 405: "Method not allowed", 409: "Conflict (chain head moved, id taken)",
              413: "Body too large (over 2 MiB, the Content-Length or as read; a certificate PDF: over the document "
                   "limit, 5 MiB by default)",
              415: "Not a plain PDF by its content (a certificate document)",
              414: f"Request target (path and query) over {MAX_REQUEST_TARGET:,} bytes",
              422: "Invalid input (the error names the field)",
              431: f"A header line over {MAX_HEADER_LINE:,} bytes (the error names the header), or all headers "
                   f"over {MAX_HEADERS:,} bytes together",
              429: "Too many failed authentication attempts from this address, or too many appends with this token "
                   "(see Retry-After)"}

SIZE_ERRORS = {413, 414, 431}  # any request may be too large (errors.RequestLimits, before any view)


def _models(app: Flask) -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [s.ErrorBody]
    for view in app.view_functions.values():
        note = getattr(view, "openapi", None)
        if not note:
            continue
        for item in [note["body"], *note["ok"].values()]:
            for model in getattr(item, "__args__", None) or ([item] if item is not None else []):
                if model not in found:
                    found.append(model)
    return found


def _schema(item: Any) -> dict[str, Any]:
    args = getattr(item, "__args__", None)
    if args:
        return {"oneOf": [{"$ref": REF.format(model=m.__name__)} for m in args]}
    return {"$ref": REF.format(model=item.__name__)}


def _query_params(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(by_alias=True, ref_template=REF)
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema["properties"].items():
        prop = dict(prop)
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document for `app`."""
    _, top = models_json_schema([(m, "serialization") for m in _models(app)], ref_template=REF)
    components: dict[str, Any] = dict(top.get("$defs", {}))
    for model in _models(app):  # request models are validated, so describe them as the validator sees them
        if issubclass(model, s.Strict):
            components[model.__name__] = TypeAdapter(model).json_schema(mode="validation", ref_template=REF)
            for name, sub in components[model.__name__].pop("$defs", {}).items():
                components.setdefault(name, sub)
    components.update(_event_data_schemas())
    paths: dict[str, Any] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith(("/api/v1/", "/log/")):
            continue
        note = getattr(app.view_functions[rule.endpoint], "openapi", None)
        if note is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(rule.endpoint, rule.arguments, note)
    return {
        "openapi": "3.1.0",
        "info": {"title": "farmtrace API", "version": "1",
                 "description": "Signed, hash-linked farm-to-table records and their transparency log. "
                                "Errors are always {\"error\": {\"code\", \"message\", \"field\"}}."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": components,
                       "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                      "description": "a per-user API token (farmtrace token create)"}}},
    }


def _operation(endpoint: str, arguments: Any, note: dict[str, Any]) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": endpoint.replace(".", "_"), "summary": note["summary"]}
    if note["doc"]:
        operation["description"] = note["doc"]
    params = [{"name": name, "in": "path", "required": True, "schema": PATH_PARAMS[name]}
              for name in sorted(arguments)]
    if note["query"] is not None:
        params += _query_params(note["query"])
    if params:
        operation["parameters"] = params
    if note["body"] is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": _schema(note["body"])}}}
    responses: dict[str, Any] = {}
    if note["text"]:
        responses["200"] = {"description": "OK", "content": {"text/plain": {"schema": {"type": "string"}}}}
    if note.get("media"):  # a 200 that is not JSON (EPCIS JSON-LD, CSV, XLSX), set by the view's module
        responses["200"] = {"description": "OK", "content": {name: {"schema": schema}
                                                             for name, schema in note["media"].items()}}
    elif not note["text"] and not note["ok"]:  # this document itself
        responses["200"] = {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
    for status, model in sorted(note["ok"].items()):
        responses[str(status)] = {"description": "Created" if status == 201 else "OK",
                                  "content": {"application/json": {"schema": _schema(model)}}}
    errors = set(note["errors"]) | ({401, 429} if note["auth"] else set()) | SIZE_ERRORS
    if not note["text"]:
        errors |= {401}  # a token in the query string is refused on every /api/v1 operation
    for status in sorted(errors):
        responses[str(status)] = {"description": ERROR_TEXT[status],
                                  "content": {"application/json": {"schema": _schema(s.ErrorBody)}}}
    operation["responses"] = responses
    if note["auth"]:
        operation["security"] = [{"bearer": []}]
    return operation


def _event_data_schemas() -> dict[str, Any]:
    """`data` of each event type, from its declaration (farmtrace.rules.declare): KDEs with their
    Chinese title, English description, kind and unit; one schema per type, `EventData.<type>`."""
    out: dict[str, Any] = {}
    for name, decl in sorted(DECLARATIONS.items()):
        schema = json_schema(decl)
        schema["x-farmtrace-family"] = decl.family or "all"
        schema["x-farmtrace-genesis"] = decl.genesis
        if decl.example is not None:
            schema["examples"] = [decl.example]
        out[f"EventData.{name}"] = schema
    return out
