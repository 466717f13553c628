"""Logger, tracer and metrics shared by the service's functions (Powertools; one of each per process).

Log lines carry the tenant id and a correlation id, never an event. The tracer never captures responses,
since tenant data and credentials pass through every function.
"""

from __future__ import annotations

import logging
import os
import warnings
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

if TYPE_CHECKING:
    from toolgate.service.ingest import IngestOutcome

logger = Logger(service="toolgate")
#: Only AWS SDK calls are traced: patching the HTTP client too would send tenant API URLs (which carry model
#: arguments) to X-Ray and add a trace header to every call to a tenant's API.
tracer = Tracer(service="toolgate", patch_modules=["botocore"])
#: The stack sets POWERTOOLS_METRICS_NAMESPACE; without it, metrics still go to the Toolgate namespace.
metrics = Metrics(service="toolgate", namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or "Toolgate")

# Most API requests record no metric; Powertools would warn about that on every one of them.
warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)

# botocore logs request parameters, and Powertools' event handler logs route arguments (request bodies),
# at DEBUG: credential values among them. Keep both quiet whatever LOG_LEVEL or POWERTOOLS_DEBUG say.
for _name in ("botocore", "boto3", "urllib3", "aws_lambda_powertools"):
    logging.getLogger(_name).setLevel(logging.WARNING)


def record_ingest(outcome: IngestOutcome, integration_id: str) -> None:
    """Log one ingest and count it: uploads, failures by error code, compile time."""
    error_code = outcome.error.code if outcome.error is not None else None
    logger.info(
        "spec ingest finished",
        extra={
            "integration_id": integration_id,
            "outcome": outcome.status,
            "tool_count": outcome.tool_count,
            "error_code": error_code,
            "skipped_reason": outcome.skipped_reason,
            "compile_ms": round(outcome.compile_seconds * 1000, 1),
        },
    )
    if outcome.status == "skipped":
        metrics.add_metric(name="SpecUploadsSkipped", unit=MetricUnit.Count, value=1)
        return
    metrics.add_metric(name="SpecUploads", unit=MetricUnit.Count, value=1)
    metrics.add_metric(
        name="SpecCompileTime", unit=MetricUnit.Milliseconds, value=outcome.compile_seconds * 1000
    )
    if error_code is not None and not is_metrics_disabled():  # `single_metric` does not read the switch
        with single_metric(
            name="SpecUploadFailures", unit=MetricUnit.Count, value=1, namespace=metrics.namespace
        ) as metric:
            metric.add_dimension(name="error_code", value=error_code)
