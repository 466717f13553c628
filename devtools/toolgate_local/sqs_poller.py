"""Deliver an SQS queue to its Lambda function the way Lambda's event source mapping does.

moto's server invokes the function inside `SendMessage` itself, one message per invocation, and treats a
`batchItemFailures` answer as success. This poller receives up to the mapping's batch size, invokes the
function through moto's Lambda `Invoke` (so the routing hook runs the real handler), and then:

- deletes the whole batch when the function succeeds;
- with `ReportBatchItemFailures`, deletes all but the reported messages (an answer naming an unknown
  message, or no `itemIdentifier`, fails the whole batch, as Lambda does);
- deletes nothing when the function fails.

Messages not deleted come back after the queue's visibility timeout, and moto moves them to the
dead-letter queue after the redrive policy's `maxReceiveCount`.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from toolgate_local.provision import QueueEventSource

#: SQS returns at most this many messages per ReceiveMessage.
MAX_RECEIVE = 10
#: Long-poll wait: how soon a stopping poller notices.
WAIT_SECONDS = 1

_logger = logging.getLogger("toolgate-local")


class SqsPoller:
    def __init__(self, source: QueueEventSource, *, sqs: Any, lambda_client: Any, region: str) -> None:
        self.source = source
        self._sqs = sqs
        self._lambda = lambda_client
        self._region = region
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-poller-{source.logical_id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()

    def poll_once(self) -> int:
        """Receive one batch and deliver it; the number of messages received."""
        received = self._sqs.receive_message(
            QueueUrl=self.source.queue_url,
            MaxNumberOfMessages=min(self.source.batch_size, MAX_RECEIVE),
            WaitTimeSeconds=WAIT_SECONDS,
            MessageSystemAttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = received.get("Messages", [])
        if messages:
            self._deliver(messages)
        return len(messages)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._stopping.is_set():
                    return
                _logger.exception("polling %s failed; retrying", self.source.queue_url)
                self._stopping.wait(WAIT_SECONDS)

    def _deliver(self, messages: Sequence[Mapping[str, Any]]) -> None:
        event = {"Records": [self._record(message) for message in messages]}
        response = self._lambda.invoke(FunctionName=self.source.function_name, Payload=json.dumps(event))
        payload = response["Payload"].read()
        if response.get("FunctionError"):
            _logger.warning(
                "%s failed on a batch of %d; the messages return after the visibility timeout",
                self.source.function_name,
                len(messages),
            )
            return
        failed = self._failed_ids(payload, {str(message["MessageId"]) for message in messages})
        done = [message for message in messages if message["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self.source.queue_url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(done)
                ],
            )

    def _failed_ids(self, payload: bytes, batch: set[str]) -> set[str]:
        if not self.source.report_batch_item_failures:
            return set()
        try:
            answer = json.loads(payload) if payload else None
        except ValueError:
            return batch
        if not isinstance(answer, dict):
            return set()
        failures = answer.get("batchItemFailures")
        if failures is None:
            return set()
        if not isinstance(failures, list):
            return batch
        failed: set[str] = set()
        for failure in failures:
            identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
            if not isinstance(identifier, str) or identifier not in batch:
                return batch
            failed.add(identifier)
        return failed

    def _record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message.get("Body", ""),
            "attributes": dict(message.get("Attributes", {})),
            "messageAttributes": {
                name: _lambda_message_attribute(value)
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.source.queue_arn,
            "awsRegion": self._region,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


def _lambda_message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    """An SQS message attribute as Lambda's SQS event spells it (lower camel case)."""
    converted: dict[str, Any] = {
        "stringListValues": list(value.get("StringListValues", [])),
        "binaryListValues": [_base64(item) for item in value.get("BinaryListValues", [])],
        "dataType": value.get("DataType", "String"),
    }
    if "StringValue" in value:
        converted["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        converted["binaryValue"] = _base64(value["BinaryValue"])
    return converted


def _base64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
