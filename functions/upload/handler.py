"""The upload function: SQS batches of S3 ObjectCreated events (S3 notifications or EventBridge), each
compiled into its integration with the same `ingest_spec` the API uses.

A typed failure (bad spec, bad settings) is recorded on the integration and the message is done; an
unexpected or transient error fails only that message, which SQS delivers again and finally dead-letters.
"""

from __future__ import annotations

import gc

# Cold start: no collection pass while the modules load; `resume_after_init()` ends the handler.
gc.disable()

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from toolgate.adapters.aws.telemetry import logger, metrics, record_ingest, tracer
from toolgate.gc_pause import resume_after_init
from toolgate.service.layout import parse_upload_key
from toolgate.service.uploads import object_created_notices, process_object_created
from toolgate.settings import get_service_settings
from toolgate.wiring import Wiring

processor = BatchProcessor(event_type=EventType.SQS)
wiring = Wiring()


@tracer.capture_method(capture_response=False)
def record_handler(record: SQSRecord) -> None:
    logger.set_correlation_id(record.message_id)
    for notice in object_created_notices(record.body):
        location = parse_upload_key(notice.key)
        if location is None:
            logger.info(
                "object is not an upload; ignored", extra={"bucket": notice.bucket, "key": notice.key}
            )
            continue
        logger.append_keys(tenant_id=location.tenant_id, integration_id=location.integration_id)
        try:
            outcome = process_object_created(wiring.resources, notice, get_service_settings())
            if outcome is not None:
                record_ingest(outcome, location.integration_id)
            if outcome is not None and outcome.status == "ready" and wiring.searcher is not None:
                # Embeds the new revision's tools and builds its assistants' search indexes (async).
                wiring.searcher.prepare(location.tenant_id, location.integration_id)
        finally:
            logger.remove_keys(["tenant_id", "integration_id"])


@logger.inject_lambda_context(log_event=False, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response = process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
    return dict(response)


# Init is done: what it made leaves the collector's generations, and collection resumes.
resume_after_init()
