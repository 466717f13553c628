"""Hidden arguments (`x-toolgate.hidden`): refused from the model, filled from the admin's values.

A hidden argument is absent from the tool's input schema in every dialect. A model that sends one anyway
is refused with ARGUMENT_HIDDEN. Its value, fixed in the spec or read from the integration's parameter
settings, is checked against the parameter's schema on every call and goes through the same binding (and
so the same style) as any argument.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from toolgate.errors import ArgumentHiddenError, ParameterSettingInvalidError, ParameterSettingMissingError
from toolgate.spec.models import CanonicalTool
from toolgate.spec.x_toolgate import fixed_value_problem


def refuse_hidden(tool: CanonicalTool, arguments: Mapping[str, Any]) -> None:
    """ArgumentHiddenError when the model sent an argument the admin fills."""
    sent = [hidden.argument for hidden in tool.hidden if hidden.argument in arguments]
    if not sent:
        return
    names = ", ".join(f"'{name}'" for name in sent)
    raise ArgumentHiddenError(
        f"Tool '{tool.name}' does not take {names}: the admin fixed {'its' if len(sent) == 1 else 'their'} "
        "value. Call the tool again without it.",
        details=[
            {"path": f"/{name}", "message": "fixed by the admin; do not send it", "expected": "no value"}
            for name in sent
        ],
    )


def with_hidden(
    tool: CanonicalTool, values: Mapping[str, Any], parameters: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The validated `values` with every hidden argument's value added.

    `parameters` are the integration's parameter settings (`from:`). A required hidden argument whose
    setting is not set raises ParameterSettingMissingError; a value that does not match the parameter's
    schema raises ParameterSettingInvalidError. Neither says anything of other settings.
    """
    filled = dict(values)
    for hidden in tool.hidden:
        value = hidden.value
        if hidden.setting is not None:
            value = (parameters or {}).get(hidden.setting)
            if value is None:
                if hidden.required:
                    raise ParameterSettingMissingError(
                        f"Tool '{tool.name}' needs the integration parameter setting '{hidden.setting}' (for "
                        f"'{hidden.argument}'), which is not set; an admin sets it in the integration's "
                        "settings (`parameters`). Retrying will not help until then."
                    )
                continue
        problem = fixed_value_problem(hidden.value_schema, value)
        if problem is not None:
            source = f"integration parameter setting '{hidden.setting}'" if hidden.setting else "fixed value"
            raise ParameterSettingInvalidError(
                f"The {source} for '{hidden.argument}' of tool '{tool.name}' does not match the parameter's "
                f"schema ({problem}); an admin must correct it. Retrying will not help until then."
            )
        filled[hidden.argument] = value
    return filled
