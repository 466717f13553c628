"""The one exception hierarchy. Every error carries a stable code and a message a person or model can act on."""

from __future__ import annotations

from typing import Any, ClassVar


class ToolgateError(Exception):
    """Base of every error Toolgate raises on purpose."""

    code: ClassVar[str] = "TOOLGATE_ERROR"
    #: HTTP status an API handler maps this error to.
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, *, pointer: str | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.pointer is not None:
            body["pointer"] = self.pointer
        if self.details is not None:
            body["details"] = self.details
        return body

    def __str__(self) -> str:
        where = f" (at {self.pointer})" if self.pointer else ""
        return f"{self.message}{where}"


# --- Spec loading and compiling -------------------------------------------------------------


class SpecError(ToolgateError):
    """The spec as a whole cannot be used."""

    code = "SPEC_INVALID"
    http_status = 422


class SpecTooLargeError(SpecError):
    code = "SPEC_TOO_LARGE"
    http_status = 413


class SpecParseError(SpecError):
    code = "SPEC_PARSE_ERROR"


class SpecTooDeepError(SpecError):
    code = "SPEC_TOO_DEEP"


class SpecAliasExpansionError(SpecError):
    code = "SPEC_ALIAS_EXPANSION"


class SpecNotOpenAPIError(SpecError):
    code = "SPEC_NOT_OPENAPI"


class SpecUnsupportedVersionError(SpecError):
    code = "SPEC_UNSUPPORTED_VERSION"


class ExternalRefError(SpecError):
    """A `$ref` points outside the document (http, https, file, data, ...). It is never fetched."""

    code = "SPEC_EXTERNAL_REF"


class BundleError(SpecError):
    """A multi-file spec (folder or zip) cannot be bundled safely."""

    code = "SPEC_BUNDLE_INVALID"


class BundlePathEscapeError(BundleError):
    code = "SPEC_BUNDLE_PATH_ESCAPE"


class UnresolvableRefError(SpecError):
    code = "SPEC_UNRESOLVABLE_REF"


class OperationError(ToolgateError):
    """One operation cannot become a tool; the rest of the spec still compiles."""

    code = "OPERATION_INVALID"
    http_status = 422


class DialectError(ToolgateError):
    code = "DIALECT_UNKNOWN"
    http_status = 400
