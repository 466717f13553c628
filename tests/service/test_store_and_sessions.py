"""The AWS adapters under moto: tenant sessions, conditional writes, and what a lost race leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from service_harness import TENANT_ROLE_ARN
from service_world import Service
from toolgate.adapters.aws.resources import AwsResourceProvider
from toolgate.adapters.aws.session import TenantSessionFactory, new_session
from toolgate.errors import AlreadyExistsError, ConflictError
from toolgate.service.ingest import SpecUpload, ingest_spec
from toolgate.service.models import IntegrationRecord, UploadSource, utc_now
from toolgate.service.stored_tools import load_tool
from toolgate.settings import get_service_settings
from toolgate_demo import support_desk_spec


class RecordingSts:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[dict[str, Any]] = []

    def assume_role(self, **arguments: Any) -> Any:
        self.calls.append(arguments)
        return self.client.assume_role(**arguments)


class RecordingBase:
    """A base session whose STS calls are recorded."""

    def __init__(self) -> None:
        self.session = new_session(region_name="us-east-1")
        self.sts = RecordingSts(self.session.client("sts"))
        self.region_name = "us-east-1"
        self.clients_made = 0

    def client(self, name: str) -> Any:
        assert name == "sts"
        self.clients_made += 1
        return self.sts


def test_tenant_session_is_assumed_with_the_tenant_tag_and_reused(service: Service) -> None:
    base = RecordingBase()
    now = [1_000.0]
    factory = TenantSessionFactory(TENANT_ROLE_ARN, base_session=base, clock=lambda: now[0])  # type: ignore[arg-type]
    first = factory.for_tenant("t1")
    assert factory.for_tenant("t1") is first
    assert base.sts.calls == [
        {
            "RoleArn": TENANT_ROLE_ARN,
            "RoleSessionName": "toolgate-t1",
            "DurationSeconds": 3600,
            "Tags": [{"Key": "tenant_id", "Value": "t1"}],
        }
    ]
    assert factory.for_tenant("t10") is not first
    assert base.sts.calls[-1]["Tags"] == [{"Key": "tenant_id", "Value": "t10"}]


def test_one_sts_client_assumes_every_tenants_role_each_with_its_own_tag(service: Service) -> None:
    base = RecordingBase()
    factory = TenantSessionFactory(TENANT_ROLE_ARN, base_session=base)  # type: ignore[arg-type]
    sessions = {tenant: factory.for_tenant(tenant) for tenant in ("acme", "globex", "initech")}
    assert base.clients_made == 1
    assert [call["Tags"] for call in base.sts.calls] == [
        [{"Key": "tenant_id", "Value": tenant}] for tenant in sessions
    ]
    credentials = [session.get_credentials() for session in sessions.values()]
    assert len({c.get_frozen_credentials().access_key for c in credentials if c is not None}) == 3


def test_tenant_session_is_renewed_before_its_credentials_expire(service: Service) -> None:
    base = RecordingBase()
    factory = TenantSessionFactory(TENANT_ROLE_ARN, base_session=base)  # type: ignore[arg-type]
    first = factory.for_tenant("acme")
    credentials = first.get_credentials()
    assert credentials is not None
    assert credentials.get_frozen_credentials().access_key
    factory._clock = lambda: 10**12  # far past the expiry
    assert factory.for_tenant("acme") is not first
    assert len(base.sts.calls) == 2


@pytest.mark.parametrize("tenant", ["", "T1", "a/b", "x" * 64])
def test_no_session_for_an_invalid_tenant_id(service: Service, tenant: str) -> None:
    with pytest.raises(ValueError):
        TenantSessionFactory(TENANT_ROLE_ARN).for_tenant(tenant)


def test_conditional_writes_refuse_stale_versions_and_duplicates(service: Service) -> None:
    store = AwsResourceProvider(get_service_settings()).for_tenant("acme").store
    now = utc_now()
    record = IntegrationRecord(integration_id="crm", created_at=now, updated_at=now)
    store.save_integration(record, expected_version=None)
    with pytest.raises(AlreadyExistsError):
        store.save_integration(record, expected_version=None)
    newer = record.model_copy(update={"version": 2})
    store.save_integration(newer, expected_version=1)
    with pytest.raises(ConflictError):
        store.save_integration(record.model_copy(update={"version": 2}), expected_version=1)
    with pytest.raises(ConflictError):
        store.delete_integration("crm", expected_version=1)
    store.delete_integration("crm", expected_version=2)
    assert store.get_integration("crm") is None


def test_upload_that_loses_a_race_leaves_no_tool_items_and_the_winner_in_service(service: Service) -> None:
    resources = AwsResourceProvider(get_service_settings()).for_tenant("acme")
    config = get_service_settings()
    spec = support_desk_spec().read_bytes()

    def upload(title: str) -> SpecUpload:
        return SpecUpload(
            integration_id="support",
            data=spec.replace(b"Support Desk API", title.encode(), 1),
            filename="openapi.yaml",
            source=UploadSource(kind="api"),
        )

    ingest_spec(resources, upload("First"), config)
    real_get = resources.store.get_integration
    stale = real_get("support")

    # The second upload read version 1; meanwhile another upload commits version 2.
    resources.store.get_integration = lambda integration_id: stale  # type: ignore[method-assign]
    ingest_spec(resources, upload("Winner"), config)
    with pytest.raises(ConflictError):
        ingest_spec(resources, upload("Loser"), config)
    resources.store.get_integration = real_get  # type: ignore[method-assign]

    current = real_get("support")
    assert current is not None and current.ready is not None
    assert current.ready.title == "Winner"
    revisions = {
        str(item["sk"]).split("#")[2] for item in service.table_items() if str(item["sk"]).startswith("TOOL#")
    }
    assert revisions == {current.ready.revision}
    listed = service.s3.list_objects_v2(Bucket="toolgate-test-specs", Prefix="artifacts/")["Contents"]
    artifact_folders = {entry["Key"].split("/")[5] for entry in listed}
    assert len(artifact_folders) == 2, "the first and the winning revision; the loser's folder is removed"
    assert current.ready.revision in artifact_folders


def test_invoke_path_reads_one_tool_and_the_bound_credential(service: Service) -> None:
    service.api("PUT", "/v1/integrations/support", body=support_desk_spec().read_text(), headers={})
    service.api("PUT", "/v1/integrations/support/credential", body={"type": "bearer", "token": "desk-token"})
    resources = AwsResourceProvider(get_service_settings()).for_tenant("acme")
    integration = resources.store.get_integration("support")
    assert integration is not None and integration.ready is not None
    item = resources.store.get_tool("support", integration.ready.revision, "create_support_case")
    assert item is not None
    tool = load_tool(item, resources)
    assert (tool.method.lower(), tool.path) == ("post", "/support/cases")
    assert resources.store.get_tool("support", integration.ready.revision, "no_such_tool") is None
    stored = resources.credentials.get(integration.credential_slot)
    assert stored == '{"type": "bearer", "token": "desk-token"}'
    assert resources.credentials.get("unbound") is None
    other = AwsResourceProvider(get_service_settings()).for_tenant("other")
    assert other.store.get_tool("support", integration.ready.revision, "create_support_case") is None
    assert other.credentials.get("support") is None
