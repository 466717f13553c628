"""The search function: tool search for the api, invoke and MCP functions, which invoke it directly
(never API Gateway). Its layers hold the search engine's runtime (onnxruntime, numpy, tokenizers, the
model), which does not fit beside the dependency layer of the other functions.

- `{"action": "search", "tenant_id", "assistant_id", "query", "limit"}` → `{"names": [...]}`, best first;
- `{"action": "prepare", "tenant_id", "integration_id"}` (asynchronous, after an upload): the revision's
  tool vectors and its assistants' indexes.

The tenant is the calling function's verified caller's; every read and write uses that tenant's scoped
session. A typed error answers `{"error": {"code", "message"}}`; the query is never logged.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.bedrock import configured_embedder
from toolgate.adapters.aws.telemetry import logger, metrics, tracer
from toolgate.errors import RouteNotFoundError, ToolgateError
from toolgate.service.search_index import SearchIndexes
from toolgate.service.tenancy import check_resource_id
from toolgate.settings import get_search_settings
from toolgate.wiring import Wiring

wiring = Wiring()
#: The loaded indexes (and the catalogs they were built from), kept while the environment is warm. Made
#: here, not in `Wiring`: only this function ships the search engine's runtime. The embedder (offline
#: model or Bedrock) is the one `TOOLGATE_SEARCH_EMBEDDINGS` names.
indexes = SearchIndexes(get_search_settings(), embedder=configured_embedder(get_search_settings()))


def _handle(event: dict[str, Any]) -> dict[str, Any]:
    action = event.get("action")
    tenant_id = check_resource_id(str(event.get("tenant_id", "")), "tenant")
    logger.append_keys(tenant_id=tenant_id, action=str(action)[:20])
    resources = wiring.resources.for_tenant(tenant_id)
    if action == "search":
        names = indexes.search(
            resources, str(event.get("assistant_id", "")), event.get("query"), event.get("limit")
        )
        return {"names": names}
    if action == "prepare":
        indexes.prepare(resources, check_resource_id(str(event.get("integration_id", "")), "integration"))
        return {"prepared": True}
    raise RouteNotFoundError(f"The search function has no action {str(action)[:20]!r}.")


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    try:
        return _handle(event)
    except ToolgateError as error:
        logger.info("search refused", extra={"error_code": error.code})
        return {"error": {"code": error.code, "message": error.message}}
