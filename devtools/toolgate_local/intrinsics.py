"""CloudFormation's intrinsic functions, resolved over the physical ids and attributes of a local stack.

Supported: `Ref` (resources, parameters with a default, pseudo parameters), `Fn::GetAtt`, `Fn::Join`,
`Fn::Sub` (string and list forms), `Fn::Select`, `Fn::Split`, `Fn::Base64`, `Fn::FindInMap`, and
`Fn::If` with the condition functions. Anything else, or a reference to a resource that has no local
value, raises `LocalTemplateError` naming it: a wrong value is never guessed.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from toolgate.errors import LocalTemplateError

#: `Ref: AWS::NoValue` removes the property or list item that holds it.
NO_VALUE: Any = object()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_CONDITION_FUNCTIONS = frozenset({"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Condition"})


@dataclass(frozen=True)
class PseudoParameters:
    account_id: str
    region: str
    stack_name: str
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    @property
    def stack_id(self) -> str:
        return (
            f"arn:{self.partition}:cloudformation:{self.region}:{self.account_id}:stack/{self.stack_name}/"
            "00000000-0000-0000-0000-000000000000"
        )

    def values(self) -> dict[str, Any]:
        return {
            "AWS::AccountId": self.account_id,
            "AWS::Region": self.region,
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.stack_id,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }


class UnresolvedReferenceError(LocalTemplateError):
    """A `Ref` or `Fn::GetAtt` names a resource (or attribute) that has no local value."""

    def __init__(self, message: str, *, logical_id: str) -> None:
        super().__init__(message, details={"logical_id": logical_id})
        self.logical_id = logical_id


class Resolver:
    """Resolves template values once the resources they name have been given physical values."""

    def __init__(self, template: Mapping[str, Any], pseudo: PseudoParameters) -> None:
        self._resources: Mapping[str, Any] = template.get("Resources", {})
        self._parameters: Mapping[str, Any] = template.get("Parameters", {})
        self._mappings: Mapping[str, Any] = template.get("Mappings", {})
        self._conditions: Mapping[str, Any] = template.get("Conditions", {})
        self._pseudo = pseudo.values()
        self._refs: dict[str, Any] = {}
        self._attributes: dict[str, dict[str, Any]] = {}
        self._unavailable: dict[str, str] = {}
        self._condition_values: dict[str, bool] = {}

    def provide(self, logical_id: str, ref: Any, attributes: Mapping[str, Any] | None = None) -> None:
        """Record what `Ref` and `Fn::GetAtt` of `logical_id` give."""
        self._refs[logical_id] = ref
        self._attributes[logical_id] = dict(attributes or {})

    def mark_unavailable(self, logical_id: str, reason: str) -> None:
        """`logical_id` has no local value; references to it fail with `reason`."""
        self._unavailable[logical_id] = reason

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self.resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self._ref(self._string(argument, "Ref"))
            if key.startswith("Fn::"):
                return self._function(key, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def resolve_string(self, value: Any, where: str) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, bool) or not isinstance(resolved, str | int | float):
            raise LocalTemplateError(f"{where} resolves to {type(resolved).__name__}, not a string.")
        return str(resolved)

    def condition(self, name: str) -> bool:
        """The value of a named condition of the template."""
        if name not in self._condition_values:
            if name not in self._conditions:
                raise LocalTemplateError(f"The template has no condition {name!r}.")
            self._condition_values[name] = self._truth(self._conditions[name])
        return self._condition_values[name]

    # --- References ------------------------------------------------------------------------------

    def _ref(self, name: str) -> Any:
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._refs:
            return self._refs[name]
        if name in self._parameters:
            parameter = self._parameters[name]
            if "Default" not in parameter or str(parameter.get("Type", "")).startswith("AWS::SSM::"):
                raise UnresolvedReferenceError(
                    f"Parameter {name} has no default the local stack can use.", logical_id=name
                )
            return parameter["Default"]
        raise self._unresolved(name, "Ref")

    def _get_att(self, logical_id: str, attribute: str) -> Any:
        attributes = self._attributes.get(logical_id)
        if attributes is None:
            raise self._unresolved(logical_id, f"Fn::GetAtt {attribute}")
        if attribute not in attributes:
            kind = self._resources.get(logical_id, {}).get("Type", "resource")
            raise UnresolvedReferenceError(
                f"Fn::GetAtt {logical_id}.{attribute}: the local {kind} has no attribute {attribute!r}.",
                logical_id=logical_id,
            )
        return attributes[attribute]

    def _unresolved(self, logical_id: str, what: str) -> UnresolvedReferenceError:
        if logical_id in self._unavailable:
            kind = self._resources.get(logical_id, {}).get("Type", "resource")
            return UnresolvedReferenceError(
                f"{what} {logical_id}: the {kind} is not created locally ({self._unavailable[logical_id]}).",
                logical_id=logical_id,
            )
        if logical_id in self._resources:
            return UnresolvedReferenceError(
                f"{what} {logical_id}: the resource has no local value yet.", logical_id=logical_id
            )
        return UnresolvedReferenceError(
            f"{what} {logical_id}: no such resource or parameter.", logical_id=logical_id
        )

    # --- Functions -------------------------------------------------------------------------------

    def _function(self, name: str, argument: Any) -> Any:
        if name == "Fn::GetAtt":
            logical_id, attribute = self._get_att_argument(argument)
            return self._get_att(logical_id, attribute)
        if name == "Fn::Join":
            separator, items = self._pair(argument, name)
            parts = self.resolve(items)
            if not isinstance(parts, list):
                raise LocalTemplateError("Fn::Join needs a list of values.")
            return self._string(separator, name).join(self._string(part, name) for part in parts)
        if name == "Fn::Sub":
            return self._sub(argument)
        if name == "Fn::Select":
            index, items = self._pair(argument, name)
            chosen = self.resolve(items)
            position = int(self.resolve(index))
            if not isinstance(chosen, list) or not 0 <= position < len(chosen):
                raise LocalTemplateError(f"Fn::Select index {position} is outside the list.")
            return chosen[position]
        if name == "Fn::Split":
            separator, source = self._pair(argument, name)
            return self._string(self.resolve(source), name).split(self._string(separator, name))
        if name == "Fn::Base64":
            text = self._string(self.resolve(argument), name)
            return base64.b64encode(text.encode("utf-8")).decode("ascii")
        if name == "Fn::FindInMap":
            return self._find_in_map(argument)
        if name == "Fn::If":
            return self._if(argument)
        if name in _CONDITION_FUNCTIONS:
            return self._truth({name: argument})
        raise LocalTemplateError(f"The local stack does not support the intrinsic function {name}.")

    def _get_att_argument(self, argument: Any) -> tuple[str, str]:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        elif isinstance(argument, list) and len(argument) == 2:
            logical_id = self._string(argument[0], "Fn::GetAtt")
            attribute = self._string(self.resolve(argument[1]), "Fn::GetAtt")
        else:
            raise LocalTemplateError(f"Fn::GetAtt takes [logical id, attribute], not {argument!r}.")
        if not logical_id or not attribute:
            raise LocalTemplateError(f"Fn::GetAtt takes [logical id, attribute], not {argument!r}.")
        return logical_id, attribute

    def _sub(self, argument: Any) -> str:
        if isinstance(argument, str):
            text, variables = argument, {}
        elif isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            text = self._string(argument[0], "Fn::Sub")
            variables = {key: self.resolve(value) for key, value in argument[1].items()}
        else:
            raise LocalTemplateError(f"Fn::Sub takes a string or [string, variables], not {argument!r}.")

        def substitute(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"
            if expression in variables:
                return self._string(variables[expression], "Fn::Sub")
            if "." in expression and not expression.startswith("AWS::"):
                logical_id, _, attribute = expression.partition(".")
                return self._string(self._get_att(logical_id, attribute), "Fn::Sub")
            return self._string(self._ref(expression), "Fn::Sub")

        return _SUB_VARIABLE.sub(substitute, text)

    def _find_in_map(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise LocalTemplateError("Fn::FindInMap takes [map, top-level key, second-level key].")
        map_name, top, second = (self._string(self.resolve(part), "Fn::FindInMap") for part in argument)
        try:
            return self._mappings[map_name][top][second]
        except KeyError:
            raise LocalTemplateError(f"Fn::FindInMap: no {map_name}.{top}.{second} in Mappings.") from None

    def _if(self, argument: Any) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise LocalTemplateError("Fn::If takes [condition, value if true, value if false].")
        condition, when_true, when_false = argument
        return self.resolve(when_true if self.condition(self._string(condition, "Fn::If")) else when_false)

    def _truth(self, expression: Any) -> bool:
        if not isinstance(expression, dict) or len(expression) != 1:
            raise LocalTemplateError(f"Not a condition: {expression!r}.")
        ((name, argument),) = expression.items()
        if name == "Condition":
            return self.condition(self._string(argument, name))
        if name == "Fn::Equals" and isinstance(argument, list) and len(argument) == 2:
            left, right = (self.resolve(side) for side in argument)
            return bool(left == right)
        if name == "Fn::Not" and isinstance(argument, list) and len(argument) == 1:
            return not self._truth(argument[0])
        if name == "Fn::And" and isinstance(argument, list):
            return all(self._truth(item) for item in argument)
        if name == "Fn::Or" and isinstance(argument, list):
            return any(self._truth(item) for item in argument)
        raise LocalTemplateError(f"Not a condition: {expression!r}.")

    @staticmethod
    def _pair(argument: Any, name: str) -> tuple[Any, Any]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise LocalTemplateError(f"{name} takes two arguments, not {argument!r}.")
        return argument[0], argument[1]

    @staticmethod
    def _string(value: Any, name: str) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise LocalTemplateError(f"{name} needs a string here, not {value!r}.")
        return str(value)


def references(value: Any) -> set[str]:
    """The logical ids (and parameter names) a template value refers to."""
    found: set[str] = set()
    _collect_references(value, found)
    return found


def _collect_references(value: Any, found: set[str]) -> None:
    if isinstance(value, list):
        for item in value:
            _collect_references(item, found)
        return
    if not isinstance(value, dict):
        return
    if len(value) == 1:
        ((key, argument),) = value.items()
        if key == "Ref" and isinstance(argument, str):
            if not argument.startswith("AWS::"):
                found.add(argument)
            return
        if key == "Fn::GetAtt":
            if isinstance(argument, str):
                found.add(argument.partition(".")[0])
            elif isinstance(argument, list) and argument and isinstance(argument[0], str):
                found.add(argument[0])
            return
        if key == "Fn::Sub":
            text = (
                argument if isinstance(argument, str) else argument[0] if isinstance(argument, list) else ""
            )
            variables = argument[1] if isinstance(argument, list) and len(argument) == 2 else {}
            if isinstance(text, str):
                found.update(_sub_references(text, variables if isinstance(variables, dict) else {}))
            _collect_references(variables, found)
            return
    for item in value.values():
        _collect_references(item, found)


def _sub_references(text: str, variables: Mapping[str, Any]) -> Iterable[str]:
    for match in _SUB_VARIABLE.finditer(text):
        expression = match.group(1)
        if expression.startswith("!") or expression in variables or expression.startswith("AWS::"):
            continue
        yield expression.partition(".")[0]
