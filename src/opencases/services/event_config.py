"""The case event configuration: PutCaseEventConfiguration, GetCaseEventConfiguration.

One configuration per domain, replaced whole by every Put. The event delivery code reads it
with `tx.get_event_config(domain_id)`.
"""

from __future__ import annotations

import copy
from typing import Any

from opencases.services.common import live_field_ids, require_domain, require_live_fields
from opencases.services.context import RequestContext
from opencases.services.registry import operation

# Before any Put, event delivery is off (undocumented; nothing is published until enabled).
DEFAULT = {"enabled": False}


def _case_data(config: dict[str, Any]) -> dict[str, Any] | None:
    return (config.get("includedData") or {}).get("caseData")


@operation("PutCaseEventConfiguration")
def put_case_event_configuration(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    config = copy.deepcopy(params["eventBridge"])
    case_data = _case_data(config)
    with ctx.store.write() as tx:
        require_domain(ctx, tx, domain_id)
        if case_data is not None:
            # A field listed twice is listed once: the set of fields is what counts.
            ids = list(dict.fromkeys(f["id"] for f in case_data["fields"]))
            require_live_fields(tx, domain_id, ids, "includedData.caseData.fields")
            case_data["fields"] = [{"id": f} for f in ids]
        # A full replacement: members left out of this request are gone afterwards.
        tx.put_event_config(domain_id, config, ctx.now_ms())
    return {}


@operation("GetCaseEventConfiguration")
def get_case_event_configuration(ctx: RequestContext, params: dict[str, Any]) -> dict[str, Any]:
    domain_id = params["domainId"]
    with ctx.store.read() as tx:
        require_domain(ctx, tx, domain_id)
        config = tx.get_event_config(domain_id)
        if config is None:
            return {"eventBridge": dict(DEFAULT)}
        config = copy.deepcopy(config)
        case_data = _case_data(config)
        if case_data is not None:
            # "Deleted field ids are omitted" (DeleteField doc).
            live = live_field_ids(tx, domain_id, [f["id"] for f in case_data["fields"]])
            case_data["fields"] = [f for f in case_data["fields"] if f["id"] in live]
    return {"eventBridge": config}
