"""`make demo`: compile the Support Desk spec and print its tools as two model APIs take them."""

from __future__ import annotations

import json

from toolgate.demo import support_desk_spec
from toolgate.dialects import Dialect, render_tools
from toolgate.spec.compiler import compile_document, read_spec
from toolgate.spec.lint import format_findings, lint_spec


def main() -> None:
    path = support_desk_spec()
    spec = read_spec(path)
    compiled = compile_document(spec)
    print(f"== Compiled {compiled.title} {compiled.version} ({path.name}): {len(compiled.tools)} tools")
    for tool in compiled.tools:
        arguments = ", ".join(
            f"{b.argument} ({b.location.value}{', required' if b.required else ''})" for b in tool.bindings
        )
        print(f"  {tool.name}: {tool.method} {tool.path}  <- {arguments}")
    for dialect in (Dialect.OPENAI, Dialect.ANTHROPIC):
        rendered = render_tools(compiled.tools, dialect)
        print(f"\n== {dialect.value} tools")
        print(json.dumps(rendered.definitions, indent=2))
    findings = lint_spec(spec.document, compiled)
    print(f"\n== Agent-readiness lint: {len(findings)} findings")
    if findings:
        print(format_findings(findings))


if __name__ == "__main__":
    main()
