"""The search function, called from the api, invoke and MCP functions (`lambda:InvokeFunction`).

Search runs in a function of its own: onnxruntime, numpy, tokenizers and the model do not fit beside the
dependency layer under Lambda's 250 MB (docs/deploy.md). The caller passes the tenant of its verified
caller; only the stack's own functions may invoke the search function. Typed errors come back as
`{"error": {"code", "message"}}` and are raised again here as the same class.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from toolgate.errors import SearchUnavailableError, ToolgateError

logger = logging.getLogger(__name__)


class LambdaToolSearcher:
    def __init__(self, client: Any, function_name: str) -> None:
        self._client = client
        self._function_name = function_name

    def search(self, tenant_id: str, assistant_id: str, query: str, limit: int) -> list[str]:
        answer = self._call(
            "RequestResponse",
            {
                "action": "search",
                "tenant_id": tenant_id,
                "assistant_id": assistant_id,
                "query": query,
                "limit": limit,
            },
        )
        names = answer.get("names")
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise SearchUnavailableError(
                "Tool search answered something other than tool names; retry shortly."
            )
        return names

    def prepare(self, tenant_id: str, integration_id: str) -> None:
        """Asynchronous: the upload does not wait for the embedding. A failure to start it is logged, not
        raised: the upload is done, and the first search builds what is missing."""
        payload = {"action": "prepare", "tenant_id": tenant_id, "integration_id": integration_id}
        try:
            self._call("Event", payload)
        except (BotoCoreError, ClientError) as error:
            logger.warning("search preparation not started", extra={"error": type(error).__name__})

    def _call(self, invocation: str, payload: dict[str, Any]) -> dict[str, Any]:
        response = self._client.invoke(
            FunctionName=self._function_name,
            InvocationType=invocation,
            Payload=json.dumps(payload).encode(),
        )
        if invocation == "Event":
            return {}
        body = response["Payload"].read()
        if response.get("FunctionError"):
            raise SearchUnavailableError("Tool search failed unexpectedly; retry shortly.")
        answer = json.loads(body or b"{}")
        if not isinstance(answer, dict):
            raise SearchUnavailableError("Tool search answered something unreadable; retry shortly.")
        error = answer.get("error")
        if isinstance(error, dict):
            raise error_from_answer(error)
        return answer


def error_from_answer(error: dict[str, Any]) -> ToolgateError:
    """The typed error the search function answered, as its own class (SEARCH_UNAVAILABLE if unknown)."""
    code, message = str(error.get("code", "")), str(error.get("message", "Tool search failed."))
    for cls in _subclasses(ToolgateError):
        if cls.code == code:
            return cls(message, details=error.get("details"))
    return SearchUnavailableError(message)


def _subclasses(cls: type[ToolgateError]) -> list[type[ToolgateError]]:
    found = []
    for sub in cls.__subclasses__():
        found.append(sub)
        found.extend(_subclasses(sub))
    return found
