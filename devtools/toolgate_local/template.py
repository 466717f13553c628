"""The synthesized CloudFormation template the local stack is built from, as `cdk synth` wrote it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

from toolgate.errors import LocalTemplateError, LocalTemplateMissingError

from toolgate_local.intrinsics import references

TEMPLATE_SUFFIX = ".template.json"
_STACK_ARTIFACT = "aws:cloudformation:stack"


@dataclass(frozen=True)
class Template:
    path: Path
    stack_name: str
    document: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path, *, stack_name: str | None = None) -> Template:
        if not path.is_file():
            raise LocalTemplateMissingError(
                f"No template at {path}: synthesize it first (`make synth`, or `npx cdk synth`)."
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            raise LocalTemplateError(f"{path} is not a JSON template: {error}.") from None
        if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
            raise LocalTemplateError(f"{path} is not a CloudFormation template: it has no Resources.")
        name = stack_name or path.name.removesuffix(TEMPLATE_SUFFIX)
        return cls(path=path, stack_name=name, document=document)

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources: Mapping[str, Mapping[str, Any]] = self.document["Resources"]
        return resources

    @property
    def outputs(self) -> Mapping[str, Mapping[str, Any]]:
        outputs: Mapping[str, Mapping[str, Any]] = self.document.get("Outputs", {})
        return outputs

    def resource_type(self, logical_id: str) -> str:
        return str(self.resources[logical_id]["Type"])

    def properties(self, logical_id: str) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.resources[logical_id].get("Properties", {})
        return properties

    def metadata(self, logical_id: str) -> Mapping[str, Any]:
        metadata: Mapping[str, Any] = self.resources[logical_id].get("Metadata", {})
        return metadata

    def of_type(self, resource_type: str) -> list[str]:
        return [key for key, value in self.resources.items() if value.get("Type") == resource_type]

    def dependency_order(self, logical_ids: Iterable[str]) -> list[str]:
        """`logical_ids` ordered so that each comes after every resource among them it refers to."""
        chosen = set(logical_ids)
        graph: dict[str, set[str]] = {}
        for logical_id in sorted(chosen):
            resource = self.resources[logical_id]
            depends_on = resource.get("DependsOn", [])
            needed = references(resource.get("Properties", {})) | set(
                [depends_on] if isinstance(depends_on, str) else depends_on
            )
            graph[logical_id] = needed & chosen
        try:
            return list(TopologicalSorter(graph).static_order())
        except CycleError as error:
            raise LocalTemplateError(
                f"The template's resources refer to each other in a cycle: {error}."
            ) from None


def find_stack_template(cdk_out: Path, stack_name: str | None = None) -> Path:
    """The template of the stack in `cdk_out` (the only one, or the one named `stack_name`)."""
    manifest_path = cdk_out / "manifest.json"
    if not manifest_path.is_file():
        raise LocalTemplateMissingError(
            f"No cloud assembly in {cdk_out} (manifest.json is missing): synthesize it first "
            "(`make synth`, or `npx cdk synth`)."
        )
    artifacts: Mapping[str, Any] = json.loads(manifest_path.read_text(encoding="utf-8")).get("artifacts", {})
    stacks: dict[str, str] = {
        name: str(artifact["properties"]["templateFile"])
        for name, artifact in artifacts.items()
        if artifact.get("type") == _STACK_ARTIFACT
    }
    if stack_name is not None:
        if stack_name not in stacks:
            raise LocalTemplateMissingError(
                f"{cdk_out} has no stack {stack_name!r}; it has {sorted(stacks) or 'none'}."
            )
        return cdk_out / stacks[stack_name]
    if len(stacks) != 1:
        raise LocalTemplateMissingError(
            f"{cdk_out} holds {len(stacks)} stacks ({sorted(stacks)}): name one with --stack."
        )
    (template_file,) = stacks.values()
    return cdk_out / template_file


def physical_name(stack_name: str, logical_id: str, *, max_length: int, lowercase: bool = False) -> str:
    """A name like CloudFormation generates (`{stack}-{logical id}-{SUFFIX}`), stable across runs."""
    digest = hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()
    suffix = base64.b32encode(digest).decode("ascii")[:12]
    head = f"{stack_name}-{logical_id}"[: max_length - len(suffix) - 1]
    name = f"{head}-{suffix}"
    return name.lower() if lowercase else name
