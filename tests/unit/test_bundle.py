"""Multi-file specs (a folder or a zip whose files `$ref` each other) bundle into one document whose
refs are all local, and compile."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from spec_builders import assert_valid_json_schema, tool_named
from toolgate.errors import BundleError, SpecTooLargeError
from toolgate.settings import CompileLimits
from toolgate.spec.bundle import BUNDLE_KEY, bundle_path
from toolgate.spec.compiler import compile_path
from toolgate.spec.models import ArgumentLocation, CompiledSpec
from toolgate.spec.refs import iter_refs

ENTRY: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "Shop", "version": "1"},
    "paths": {
        "/orders": {"$ref": "paths/orders.yaml"},
        "/orders/{order_id}": {"$ref": "./paths/orders.yaml#/single"},
        "/customers/{customer_id}": {"$ref": "paths/customers/customer.yaml"},
    },
    "components": {
        "schemas": {
            "Money": {
                "type": "object",
                "properties": {"amount": {"type": "integer"}, "currency": {"type": "string"}},
            }
        },
        "parameters": {
            "Limit": {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}}
        },
    },
}

FILES: dict[str, Any] = {
    "paths/orders.yaml": {
        "get": {
            "operationId": "listOrders",
            "parameters": [{"$ref": "../openapi.yaml#/components/parameters/Limit"}],
            "responses": {
                "200": {
                    "description": "orders",
                    "content": {
                        "application/json": {
                            "schema": {"type": "array", "items": {"$ref": "../schemas/order.yaml"}}
                        }
                    },
                }
            },
        },
        "post": {
            "operationId": "createOrder",
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": "../schemas/new-order.yaml"}}},
            },
            "responses": {"201": {"description": "created"}},
        },
        "single": {
            "get": {
                "operationId": "getOrder",
                "parameters": [{"$ref": "#/orderId"}],
                "responses": {
                    "200": {
                        "description": "one order",
                        "content": {"application/json": {"schema": {"$ref": "../schemas/order.yaml"}}},
                    }
                },
            }
        },
        "orderId": {"name": "order_id", "in": "path", "required": True, "schema": {"type": "string"}},
    },
    "paths/customers/customer.yaml": {
        "get": {
            "operationId": "getCustomer",
            "parameters": [
                {"name": "customer_id", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {
                "200": {
                    "description": "a customer",
                    "content": {"application/json": {"schema": {"$ref": "../../schemas/customer.yaml"}}},
                }
            },
        }
    },
    "schemas/order.yaml": {
        "type": "object",
        "required": ["id"],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "total": {"$ref": "../openapi.yaml#/components/schemas/Money"},
            "customer": {"$ref": "customer.yaml"},
        },
    },
    "schemas/customer.yaml": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "last_order": {"$ref": "./order.yaml"},
        },
    },
    "schemas/new-order.yaml": {
        "type": "object",
        "required": ["customer_id", "total"],
        "properties": {
            "customer_id": {"type": "string"},
            "total": {"$ref": "../openapi.yaml#/components/schemas/Money"},
            "lines": {"type": "array", "items": {"$ref": "common/line.yaml#/definitions/Line"}},
        },
    },
    "schemas/common/line.yaml": {
        "definitions": {
            "Line": {
                "type": "object",
                "properties": {"sku": {"type": "string"}, "quantity": {"type": "integer"}},
            }
        }
    },
}


def write_folder(root: Path, entry: dict[str, Any] = ENTRY, files: dict[str, Any] = FILES) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "openapi.yaml").write_text(yaml.safe_dump(entry, sort_keys=False))
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(content, sort_keys=False))
    return root


def zip_folder(folder: Path, archive: Path) -> Path:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                bundle.write(file, file.relative_to(folder).as_posix())
    return archive


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return write_folder(tmp_path / "shop")


def test_every_ref_is_local_and_resolves_after_bundling(folder: Path) -> None:
    document, findings = bundle_path(folder, "openapi.yaml")

    assert sorted(document[BUNDLE_KEY]) == sorted(FILES)
    assert [f.code for f in findings] == ["SPEC_BUNDLED"]
    refs = [ref for _, ref in iter_refs(document)]
    assert refs
    for ref in refs:
        assert ref.startswith("#/"), ref
    assert "#/components/parameters/Limit" in refs, (
        "a ref back into the entry file points at the entry itself"
    )
    assert f"#/{BUNDLE_KEY}/paths~1orders.yaml/orderId" in refs, "a local ref inside another file stays in it"


ORDER = {"id": "o1", "customer": {"name": "c", "last_order": {"id": "o0", "total": {"amount": 1}}}}
#: An instance each tool's output schema must accept: the order <-> customer cycle spans two files.
OUTPUTS = {"list_orders": [ORDER], "get_order": ORDER, "get_customer": ORDER["customer"]}


def assert_shop_tools(compiled: CompiledSpec) -> None:
    """The tools the shop spec must yield, whichever way it was uploaded."""
    assert compiled.failed_operations == []
    assert sorted(t.name for t in compiled.tools) == [
        "create_order",
        "get_customer",
        "get_order",
        "list_orders",
    ]
    create = tool_named(compiled, "create_order")
    assert create.input_schema["required"] == ["customer_id", "total"]
    assert create.input_schema["properties"]["total"] == ENTRY["components"]["schemas"]["Money"]
    line = FILES["schemas/common/line.yaml"]["definitions"]["Line"]
    assert create.input_schema["properties"]["lines"]["items"] == line
    listing = tool_named(compiled, "list_orders")
    assert listing.input_schema["properties"] == {"limit": {"type": "integer", "maximum": 100}}
    get_order = tool_named(compiled, "get_order")
    assert [(b.argument, b.location) for b in get_order.bindings] == [("order_id", ArgumentLocation.PATH)]
    for tool in compiled.tools:
        assert_valid_json_schema(tool.input_schema)
    for name, instance in OUTPUTS.items():
        output = tool_named(compiled, name).output_schema
        assert output is not None
        assert "$defs" in output
        validator = assert_valid_json_schema(output)
        assert validator.is_valid(instance)
        assert not validator.is_valid({"name": 5} if name == "get_customer" else {"customer": {"name": 5}})


def test_folder_spec_compiles_with_refs_across_subfolders_and_a_cycle_across_files(folder: Path) -> None:
    assert_shop_tools(compile_path(folder, "openapi.yaml"))


def test_zip_spec_compiles_like_the_folder(folder: Path, tmp_path: Path) -> None:
    archive = zip_folder(folder, tmp_path / "shop.zip")

    from_zip = compile_path(archive)
    assert_shop_tools(from_zip)
    assert from_zip.tools == compile_path(folder, "openapi.yaml").tools


def test_zip_with_its_spec_in_a_subfolder_takes_an_explicit_entry(folder: Path, tmp_path: Path) -> None:
    archive = tmp_path / "nested.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for file in sorted(folder.rglob("*")):
            if file.is_file():
                bundle.write(file, "api/" + file.relative_to(folder).as_posix())
        bundle.writestr("README.md", "not a spec")

    assert_shop_tools(compile_path(archive, "api/openapi.yaml"))


def test_zip_without_a_recognisable_entry_needs_one(tmp_path: Path) -> None:
    archive = tmp_path / "specs.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.writestr("a/openapi.yaml", yaml.safe_dump(ENTRY))
        bundle.writestr("b/openapi.yaml", yaml.safe_dump(ENTRY))

    with pytest.raises(BundleError):
        compile_path(archive)


def test_folder_without_an_entry_is_refused(folder: Path) -> None:
    with pytest.raises(BundleError):
        bundle_path(folder, None)


def test_entry_missing_from_the_folder_is_refused(folder: Path) -> None:
    with pytest.raises(BundleError):
        bundle_path(folder, "missing.yaml")


def test_missing_file_fails_only_the_operations_that_need_it(tmp_path: Path) -> None:
    files = {name: content for name, content in FILES.items() if name != "schemas/new-order.yaml"}
    compiled = compile_path(write_folder(tmp_path / "shop", files=files), "openapi.yaml")

    assert compiled.failed_operations == ["/paths/~1orders/post"]
    assert {"get_customer", "get_order", "list_orders"} == {t.name for t in compiled.tools}
    missing = [f for f in compiled.findings if f.code == "SPEC_BUNDLE_FILE_MISSING"]
    assert len(missing) == 1
    assert "new-order.yaml" in missing[0].message


def test_unparseable_file_is_reported_and_the_rest_compiles(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "shop")
    (folder / "paths" / "customers" / "customer.yaml").write_text("get: [unclosed\n")

    compiled = compile_path(folder, "openapi.yaml")

    unreadable = [f for f in compiled.findings if f.code == "SPEC_BUNDLE_FILE_UNREADABLE"]
    assert len(unreadable) == 1
    assert "paths/customers/customer.yaml" in unreadable[0].message
    assert "get_customer" not in {t.name for t in compiled.tools}
    assert {"create_order", "get_order", "list_orders"} <= {t.name for t in compiled.tools}


def test_each_file_is_loaded_once_however_its_path_is_spelled(folder: Path) -> None:
    document, _ = bundle_path(folder, "openapi.yaml")

    assert list(document[BUNDLE_KEY]).count("paths/orders.yaml") == 1
    assert "./paths/orders.yaml" not in document[BUNDLE_KEY]


def test_too_many_files_is_refused_with_typed_error(folder: Path) -> None:
    with pytest.raises(SpecTooLargeError):
        bundle_path(folder, "openapi.yaml", CompileLimits(max_bundle_files=3))


def test_too_many_bytes_across_files_is_refused_with_typed_error(folder: Path) -> None:
    with pytest.raises(SpecTooLargeError):
        bundle_path(folder, "openapi.yaml", CompileLimits(max_bundle_bytes=2_000))
