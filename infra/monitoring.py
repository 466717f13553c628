"""Alarms that page an operator: the invoke function failing or throttled, and uploads dead-lettered.

They notify an SNS topic encrypted with its own KMS key: CloudWatch cannot publish to a topic encrypted
with the AWS managed `aws/sns` key, whose key policy no one can extend to the CloudWatch service.
"""

from __future__ import annotations

import re

from aws_cdk import Aws, Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

#: Every alarm looks at five-minute sums (or maxima), the resolution alarms are billed at the base rate for.
ALARM_PERIOD = Duration.minutes(5)
#: Percent of invocations that end in a function error (an unhandled exception or a timeout; a failed tool
#: call is a result, not a function error). Two bad periods out of three trip the alarm.
INVOKE_ERROR_RATE_PERCENT = 5
INVOKE_ERROR_RATE_PERIODS = 3
INVOKE_ERROR_RATE_BREACHING_PERIODS = 2
#: One throttled invocation means the reserved concurrency was reached: a caller was turned away.
INVOKE_THROTTLES = 1

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_CLOUDWATCH = "cloudwatch.amazonaws.com"


class AlarmEmailError(ValueError):
    """The `toolgate:alarmEmail` context value is not an email address."""


class OperationsAlarms(Construct):
    """The alarm topic, its key, and the alarms on the invoke function and the upload dead-letter queue."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        invoke_function: lambda_.IFunction,
        upload_dead_letter_queue: sqs.IQueue,
        email: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.topic = self._topic()
        if email:
            if not _EMAIL.fullmatch(email):
                raise AlarmEmailError(f"toolgate:alarmEmail must be one email address, not {email!r}.")
            # SNS mails a confirmation link first; nothing is delivered until it is followed.
            self.topic.add_subscription(subscriptions.EmailSubscription(email))

        errors = invoke_function.metric_errors(period=ALARM_PERIOD, statistic="Sum")
        invocations = invoke_function.metric_invocations(period=ALARM_PERIOD, statistic="Sum")
        self.invoke_error_rate = cloudwatch.MathExpression(
            expression="100 * errors / invocations",
            using_metrics={"errors": errors, "invocations": invocations},
            label="Invoke function errors (% of invocations)",
            period=ALARM_PERIOD,
        ).create_alarm(
            self,
            "InvokeErrorRate",
            alarm_description=(
                f"More than {INVOKE_ERROR_RATE_PERCENT}% of tool invocations ended in a function error "
                "(crash or timeout). Read the invoke function's logs and X-Ray traces."
            ),
            threshold=INVOKE_ERROR_RATE_PERCENT,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=INVOKE_ERROR_RATE_PERIODS,
            datapoints_to_alarm=INVOKE_ERROR_RATE_BREACHING_PERIODS,
            # No invocations, no rate: an idle service is not failing.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.invoke_throttles = invoke_function.metric_throttles(
            period=ALARM_PERIOD, statistic="Sum"
        ).create_alarm(
            self,
            "InvokeThrottles",
            alarm_description=(
                "Tool invocations were throttled: the invoke function is at its reserved concurrency. "
                "Look for a slow target holding calls open, or raise the reservation."
            ),
            threshold=INVOKE_THROTTLES,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.upload_dead_letters = upload_dead_letter_queue.metric_approximate_number_of_messages_visible(
            period=ALARM_PERIOD, statistic="Maximum"
        ).create_alarm(
            self,
            "UploadDeadLetters",
            alarm_description=(
                "Spec uploads failed three times and wait in the upload dead-letter queue. Fix the cause, "
                "then redrive them (docs/deploy.md, Operations)."
            ),
            threshold=0,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluation_periods=1,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )

        action = cloudwatch_actions.SnsAction(self.topic)
        for alarm in self.alarms:
            alarm.add_alarm_action(action)
            alarm.add_ok_action(action)

    @property
    def alarms(self) -> tuple[cloudwatch.Alarm, ...]:
        return (self.invoke_error_rate, self.invoke_throttles, self.upload_dead_letters)

    def _topic(self) -> sns.Topic:
        key = kms.Key(
            self,
            "TopicKey",
            description="Encrypts the Toolgate alarm topic.",
            enable_key_rotation=True,
            # The topic keeps no messages at rest; a key left behind would only cost money.
            removal_policy=RemovalPolicy.DESTROY,
            pending_window=Duration.days(7),
        )
        topic = sns.Topic(self, "Topic", display_name="Toolgate alarms", master_key=key, enforce_ssl=True)
        # CloudWatch publishes alarm notifications as its service principal, on behalf of alarms in this
        # account only (the condition keeps other accounts' alarms from using this topic or its key).
        from_own_alarms = {"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}}
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsOfThisAccountPublish",
                principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions=from_own_alarms,
            )
        )
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AlarmsOfThisAccountEncrypt",
                principals=[iam.ServicePrincipal(_CLOUDWATCH)],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],
                conditions=from_own_alarms,
            )
        )
        return topic
