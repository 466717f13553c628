"""Bundle a multi-file spec (folder or zip) into one document, offline and inside its root.

Every file reached by a relative `$ref` is placed under `x-toolgate-bundle` in the entry document and
the ref is rewritten to point there, so cycles across files keep working and all refs become local.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from toolgate.errors import BundleError, BundlePathEscapeError, SpecError, SpecTooLargeError
from toolgate.settings import CompileLimits, get_settings
from toolgate.spec.loader import load_document
from toolgate.spec.models import Finding, Severity
from toolgate.spec.refs import escape_token, is_external_url, pointer_join

BUNDLE_KEY = "x-toolgate-bundle"
#: Files in a zip upload (or beside an S3 upload) that are OpenAPI Overlays, by the specification's naming.
OVERLAY_SUFFIXES = (".overlay.yaml", ".overlay.yml", ".overlay.json")


class SpecSource(Protocol):
    """Read-only access to the files of a multi-file spec, by normalized relative POSIX path."""

    def read(self, relative_path: str) -> bytes | None: ...


@dataclass
class FolderSource:
    root: Path

    def read(self, relative_path: str) -> bytes | None:
        root = self.root.resolve()
        target = (root / relative_path).resolve()
        if not target.is_relative_to(root):
            raise BundlePathEscapeError(f"{relative_path!r} resolves outside the spec folder")
        return target.read_bytes() if target.is_file() else None


@dataclass
class ZipSource:
    archive: zipfile.ZipFile
    max_file_bytes: int
    _names: dict[str, zipfile.ZipInfo] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for info in self.archive.infolist():
            if info.is_dir():
                continue
            name = posixpath.normpath(info.filename.replace("\\", "/"))
            if name.startswith(("/", "../")) or name == "..":
                raise BundlePathEscapeError(f"zip member {info.filename!r} escapes the archive root")
            self._names[name] = info

    def names(self) -> Iterator[str]:
        return iter(self._names)

    def read(self, relative_path: str) -> bytes | None:
        info = self._names.get(relative_path)
        if info is None:
            return None
        if info.file_size > self.max_file_bytes:
            raise SpecTooLargeError(
                f"zip member {relative_path!r} is larger than {self.max_file_bytes:,} bytes"
            )
        try:
            with self.archive.open(info) as member:
                data = member.read(self.max_file_bytes + 1)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
            raise BundleError(f"zip member {relative_path!r} cannot be read: {exc}") from exc
        if len(data) > self.max_file_bytes:
            raise SpecTooLargeError(
                f"zip member {relative_path!r} is larger than {self.max_file_bytes:,} bytes"
            )
        return data


def normalize_relative(base_file: str, target: str) -> str:
    """Resolve `target` against `base_file`'s folder, refusing any path that leaves the root."""
    if target.startswith("/") or "\\" in target or "\x00" in target:
        raise BundlePathEscapeError(f"$ref path {target!r} must be relative to the spec folder")
    joined = posixpath.normpath(posixpath.join(posixpath.dirname(base_file), target))
    if joined == ".." or joined.startswith("../") or PurePosixPath(joined).is_absolute():
        raise BundlePathEscapeError(f"$ref path {target!r} from {base_file!r} escapes the spec folder")
    return joined


def bundle(
    source: SpecSource, entry: str, limits: CompileLimits | None = None
) -> tuple[dict[str, Any], list[Finding]]:
    """Load `entry` and every file it reaches; return one document whose refs are all local."""
    limits = limits or get_settings().compile
    entry = normalize_relative("", entry)
    data = source.read(entry)
    if data is None:
        raise BundleError(f"entry file {entry!r} is not in the spec folder")
    budget = _Budget(limits)
    budget.charge(entry, data)
    root = load_document(data, name=entry, limits=limits)
    files: dict[str, Any] = {}
    findings: list[Finding] = []
    queue: deque[tuple[str, Any]] = deque([(entry, root)])
    loaded = {entry}
    while queue:
        file_name, document = queue.popleft()
        for node, where in _ref_holders(document):
            ref = node["$ref"]
            if ref.startswith("#") or is_external_url(ref):
                if ref.startswith("#") and file_name != entry:
                    node["$ref"] = _bundle_pointer(file_name, ref[1:])
                continue
            path_part, _, fragment = ref.partition("#")
            target = normalize_relative(file_name, path_part)
            if target == entry:
                node["$ref"] = "#" + fragment
                continue
            if target not in loaded:
                content = source.read(target)
                if content is None:
                    findings.append(_missing(file_name, where, ref))
                    continue
                budget.charge(target, content)
                try:
                    files[target] = load_document(content, name=target, limits=limits)
                except SpecError as exc:
                    findings.append(
                        Finding(
                            code="SPEC_BUNDLE_FILE_UNREADABLE",
                            severity=Severity.WARNING,
                            message=f"{target}: {exc.message}",
                            pointer=_location(file_name, where),
                        )
                    )
                    continue
                loaded.add(target)
                queue.append((target, files[target]))
            node["$ref"] = _bundle_pointer(target, fragment)
    if files:
        root[BUNDLE_KEY] = files
        findings.append(
            Finding(
                code="SPEC_BUNDLED",
                severity=Severity.INFO,
                message=f"bundled {len(files) + 1} files reached from {entry}",
            )
        )
    return root, findings


def bundle_path(
    path: Path, entry: str | None, limits: CompileLimits | None = None
) -> tuple[dict[str, Any], list[Finding]]:
    """Bundle a folder (with `entry`) or a zip archive (entry optional when it holds one root spec)."""
    limits = limits or get_settings().compile
    if path.is_dir():
        if not entry:
            raise BundleError("a spec folder needs --entry naming its root file")
        return bundle(FolderSource(path), entry, limits)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{path.name} is not a valid zip archive") from exc
    with archive:
        source = ZipSource(archive, max_file_bytes=limits.max_spec_bytes)
        return bundle(source, entry or _guess_entry(source), limits)


def zip_overlay_files(path: Path, limits: CompileLimits | None = None) -> list[tuple[str, bytes]]:
    """The `*.overlay.yaml|yml|json` members of a zip, in the order of their paths, with their bytes."""
    limits = limits or get_settings().compile
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise BundleError(f"{path.name} is not a valid zip archive") from exc
    with archive:
        source = ZipSource(archive, max_file_bytes=limits.max_spec_bytes)
        names = sorted(name for name in source.names() if name.lower().endswith(OVERLAY_SUFFIXES))
        budget = _Budget(limits)
        files = []
        for name in names:
            data = source.read(name) or b""
            budget.charge(name, data)
            files.append((name, data))
        return files


def _guess_entry(source: ZipSource) -> str:
    candidates = [
        name
        for name in source.names()
        if name.rsplit("/", 1)[-1].lower()
        in {"openapi.yaml", "openapi.yml", "openapi.json", "swagger.json", "swagger.yaml"}
    ]
    if len(candidates) != 1:
        raise BundleError("the zip needs exactly one openapi.(yaml|json) at its top, or an explicit entry")
    return min(candidates, key=lambda name: name.count("/"))


class _Budget:
    def __init__(self, limits: CompileLimits) -> None:
        self.limits = limits
        self.files = 0
        self.bytes = 0

    def charge(self, name: str, data: bytes) -> None:
        self.files += 1
        self.bytes += len(data)
        if self.files > self.limits.max_bundle_files:
            raise SpecTooLargeError(f"the spec reaches more than {self.limits.max_bundle_files:,} files")
        if self.bytes > self.limits.max_bundle_bytes:
            raise SpecTooLargeError(f"the spec's files exceed {self.limits.max_bundle_bytes:,} bytes in all")


def _bundle_pointer(file_name: str, fragment: str) -> str:
    return f"#/{BUNDLE_KEY}/{escape_token(file_name)}{fragment}"


def _ref_holders(document: Any) -> Iterator[tuple[dict[str, Any], str]]:
    """Each dict holding a string `$ref`, once (YAML aliases share nodes)."""
    stack: list[tuple[Any, str]] = [(document, "")]
    seen: set[int] = set()
    while stack:
        node, where = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node, where
            stack.extend(
                (value, pointer_join(where, key))
                for key, value in node.items()
                if isinstance(value, dict | list)
            )
        elif isinstance(node, list):
            stack.extend(
                (value, pointer_join(where, i))
                for i, value in enumerate(node)
                if isinstance(value, dict | list)
            )


def _location(file_name: str, where: str) -> str:
    return f"/{BUNDLE_KEY}/{escape_token(file_name)}{where}"


def _missing(file_name: str, where: str, ref: str) -> Finding:
    return Finding(
        code="SPEC_BUNDLE_FILE_MISSING",
        severity=Severity.WARNING,
        message=f"{file_name} refers to {ref[:200]!r}, which is not in the spec folder",
        pointer=_location(file_name, where),
    )
