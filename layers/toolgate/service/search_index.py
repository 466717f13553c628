"""Building, storing and searching assistants' tool search indexes: the search function's side of
`toolgate.service.search` (which describes the lifecycle). Only the search function imports this module:
it alone ships the search engine's runtime (onnxruntime, numpy, tokenizers, the model).

Pure: S3 and DynamoDB are reached through `TenantResources`; the engine is `toolgate.search`.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from toolgate.errors import NotFoundError, SearchIndexError, TenantForbiddenError, ToolgateError
from toolgate.search import SearchIndex, build_index, embed_tools, load_index
from toolgate.search.embedding import OfflineEmbedder, TextEmbedder
from toolgate.service.catalog import AssistantCatalog, CatalogCache, assistant_catalog, catalog_key
from toolgate.service.models import AssistantRecord
from toolgate.service.ports import TenantResources
from toolgate.service.search import (
    assistant_index_key,
    assistant_index_prefix,
    checked_limit,
    checked_query,
    revision_vectors_key,
)
from toolgate.service.stored_tools import load_tool
from toolgate.service.tenancy import check_resource_id
from toolgate.settings import SearchSettings

logger = logging.getLogger(__name__)

#: The largest stored index read back; GitHub's 1,078 tools take about 2 MB.
MAX_INDEX_BYTES = 256 * 1024 * 1024
_CONTENT_TYPE = "application/octet-stream"


class SearchIndexes:
    """Assistants' loaded indexes, least recently used dropped first, keyed as catalogs are."""

    def __init__(
        self,
        settings: SearchSettings,
        catalogs: CatalogCache | None = None,
        *,
        embedder: TextEmbedder | None = None,
    ) -> None:
        self._settings = settings
        #: The semantic stage's embedder (`TOOLGATE_SEARCH_EMBEDDINGS`): an index another one built is
        #: refused on load and rebuilt with this one.
        self._embedder = embedder or OfflineEmbedder()
        self._catalogs = catalogs or CatalogCache(settings.index_cache_entries)
        self._entries: OrderedDict[tuple[object, ...], SearchIndex] = OrderedDict()
        self._lock = threading.Lock()

    def search(
        self, resources: TenantResources, assistant_id: str, query: object, limit: object
    ) -> list[str]:
        """The names of the assistant's tools best matching `query`, best first."""
        text, count = checked_query(query), checked_limit(limit, self._settings)
        assistant = resources.store.get_assistant(check_resource_id(assistant_id, "assistant"))
        if assistant is None:
            raise NotFoundError(f"No assistant '{assistant_id}'.")
        catalog = self._catalogs.catalog(resources, assistant).catalog
        index = self._index(resources, assistant, catalog)
        return [hit.name for hit in index.search(text, count)]

    def prepare(self, resources: TenantResources, integration_id: str) -> None:
        """Embed the integration's ready revision once, then build the indexes of its assistants."""
        integration = resources.store.get_integration(integration_id)
        if integration is None or integration.ready is None:
            return
        revision = integration.ready.revision
        items = resources.store.list_tools(integration_id, revision)
        tools = [load_tool(item, resources) for item in items]
        key = revision_vectors_key(resources.tenant_id, integration_id, revision)
        resources.objects.put(key, embed_tools(tools, embedder=self._embedder), _CONTENT_TYPE)
        for assistant in resources.store.list_assistants():
            if integration_id not in assistant.integrations:
                continue
            try:
                catalog = assistant_catalog(resources, assistant)
                self._index(resources, assistant, catalog, rebuild=True)
            except ToolgateError as error:
                # Built on its first search instead; the listing says what is wrong (e.g. a name clash).
                logger.warning(
                    "search index not built at upload",
                    extra={"assistant_id": assistant.assistant_id, "error_code": error.code},
                )

    def _index(
        self,
        resources: TenantResources,
        assistant: AssistantRecord,
        catalog: AssistantCatalog,
        *,
        rebuild: bool = False,
    ) -> SearchIndex:
        key = catalog_key(resources.tenant_id, assistant, catalog.revisions)
        names = [tool.name for tool in catalog.tools]
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None and not rebuild:
                self._entries.move_to_end(key)
                return cached
        object_key = assistant_index_key(key)
        index = None if rebuild else self._stored_index(resources, object_key)
        if index is None or index.names != names:
            data = self._built(resources, catalog)
            resources.objects.put(object_key, data, _CONTENT_TYPE)
            self._forget_older_indexes(resources, assistant.assistant_id, object_key)
            index = load_index(data, embedder=self._embedder)
        with self._lock:
            self._entries[key] = index
            self._entries.move_to_end(key)
            while len(self._entries) > self._settings.index_cache_entries:
                self._entries.popitem(last=False)
        return index

    @staticmethod
    def _forget_older_indexes(resources: TenantResources, assistant_id: str, current_key: str) -> None:
        """Delete the assistant's other index objects: older catalogs' indexes are never read again. A
        concurrent build for another catalog may lose its object; the next search of it builds it again.
        Best effort: a failure leaves garbage, never fails the search that built the index."""
        try:
            resources.objects.delete_prefix(
                assistant_index_prefix(resources.tenant_id, assistant_id), keep={current_key}
            )
        except ToolgateError as error:
            logger.warning("older search indexes not deleted", extra={"error_code": error.code})

    def _built(self, resources: TenantResources, catalog: AssistantCatalog) -> bytes:
        """The catalog's index from its revisions' stored vectors; tools without one are embedded."""
        stored = []
        for integration_id, revision in catalog.revisions:
            if revision is not None:
                data = _read(resources, revision_vectors_key(resources.tenant_id, integration_id, revision))
                if data is not None:
                    stored.append(data)
        return build_index(catalog.tools, stored_vectors=stored, embedder=self._embedder)

    def _stored_index(self, resources: TenantResources, key: str) -> SearchIndex | None:
        """The stored index, or None when it is missing or unusable, e.g. built by another embedder
        (SEARCH_INDEX_UNSUPPORTED): then it is rebuilt."""
        data = _read(resources, key)
        if data is None:
            return None
        try:
            return load_index(data, embedder=self._embedder)
        except SearchIndexError as error:
            logger.warning("stored search index unusable; rebuilding", extra={"error_code": error.code})
            return None


def _read(resources: TenantResources, key: str) -> bytes | None:
    try:
        return resources.objects.read_upload(key, None, MAX_INDEX_BYTES)
    except TenantForbiddenError:
        # Without s3:ListBucket on the key, S3 answers a missing object with AccessDenied.
        return None
