"""The CBV 2.0 event hash ID of an EPCIS event (`ni:///sha-256;…?ver=CBV2.0`), as GS1's reference
implementation (PyPI `epcis-event-hash-generator`, MIT) computes it.

The pre-hash string (the fields in CBV's order, extensions after them, sorted, times in UTC at
millisecond precision, numbers and GS1 Digital Links in canonical form) is built by the reference
implementation's own functions. What we do differently: its reader expands the whole JSON-LD
document (pyld) only to learn which bare values (`shipping`, `desadv`, …) stand for CBV web
vocabulary URIs, and its document loader falls back to fetching unknown contexts over the network.
We know which EPCIS fields take CBV vocabulary (VOCABULARY below), so each event is hashed alone,
without JSON-LD processing or network, and the same event has the same ID in every document.
tests/services/test_exports_standards.py checks every exported event against the reference tool's
whole path (pyld included).

Rules:
1. a bare value of a vocabulary field becomes its URI (`shipping` -> https://ref.gs1.org/cbv/BizStep-shipping),
   and, as the reference tool does, any other string value of the event that is the same bare word too;
2. `eventID`, `recordTime`, `type` and `errorDeclaration` are not hashed;
3. extension fields (`ft:…`) are hashed with their prefix expanded from the document's @context.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping
from typing import Any

CBV = "https://ref.gs1.org/cbv/"
VOCABULARY = {  # field -> where its bare values live (EPCIS 2.0 JSON-LD context)
    "bizStep": CBV + "BizStep-", "disposition": CBV + "Disp-", "set": CBV + "Disp-", "unset": CBV + "Disp-",
    "bizTransactionList.type": CBV + "BTT-", "sourceList.type": CBV + "SDT-", "destinationList.type": CBV + "SDT-",
    "sensorReport.type": "https://gs1.org/voc/", "errorDeclaration.reason": CBV + "ER-",
}
_LOCK = threading.Lock()  # the reference implementation keeps its namespaces and separator in module globals


def prefixes(context: Any) -> dict[str, str]:
    """The prefix definitions of a JSON-LD @context (string values only: `{"ft": "https://…/ns/"}`)."""
    found: dict[str, str] = {}
    for item in context if isinstance(context, list) else [context]:
        if isinstance(item, Mapping):
            found.update({k: v for k, v in item.items() if isinstance(v, str) and ":" not in k})
    return found


def cbv_event_id(event: Mapping[str, Any], namespaces: Mapping[str, str] | None = None) -> str:
    """The CBV 2.0 event hash ID of one EPCIS 2.0 JSON(-LD) event (`namespaces`: the document's prefixes)."""
    from epcis_event_hash_generator import hash_generator, json_to_py
    from epcis_event_hash_generator.json_xml_model_mismatch_correction import deep_structure_correction

    expanded = _expand_vocabulary(copy.deepcopy(dict(event)))
    with _LOCK:
        json_to_py._namespaces = {k: "{" + v + "}" for k, v in (namespaces or {}).items()}
        simple = deep_structure_correction(json_to_py._json_to_py(expanded))
        pre_hash = hash_generator.derive_prehashes_from_events(("EventList", "", [simple]))
    if len(pre_hash) != 1:
        raise ValueError("the event could not be brought to its CBV pre-hash form")
    return str(hash_generator.calculate_hashes_from_pre_hashes(pre_hash)[0])


def _expand_vocabulary(event: dict[str, Any]) -> dict[str, Any]:
    uris: set[str] = set()
    _collect(event, "", uris)
    return _replace(event, uris) if uris else event


def _collect(value: Any, path: str, uris: set[str]) -> None:
    """The vocabulary URIs the event names; extension fields (`ft:…`) hold none (JSON-LD leaves them as written)."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if ":" in key:
                continue
            where = VOCABULARY.get(f"{path}.{key}") if key in ("type", "reason") else VOCABULARY.get(key)
            for word in (item if isinstance(item, list) else [item]) if where else []:
                if isinstance(word, str) and word and ":" not in word and where is not None:
                    uris.add(where + word)
                elif isinstance(word, str) and word.startswith((CBV, "https://gs1.org/voc/")):
                    uris.add(word)
            _collect(item, key, uris)
    elif isinstance(value, list):
        for item in value:
            _collect(item, path, uris)


def _replace(value: Any, uris: set[str]) -> Any:
    """Any string whose bare word names exactly one vocabulary URI of the event becomes that URI."""
    if isinstance(value, str):
        matches = [u for u in uris if u.endswith("-" + value) or u.endswith("/" + value)]
        return matches[0] if len(matches) == 1 else value
    if isinstance(value, list):
        return [_replace(v, uris) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, uris) for k, v in value.items()}
    return value
