"""Words out of tools and queries: identifiers split, HTTP methods said the way people say them, API
abbreviations spelled out. What comes out is plain lowercase words, never engine syntax."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from toolgate.spec.models import CanonicalTool

#: The longest query searched, in characters; a longer one is refused rather than cut silently.
MAX_QUERY_CHARS = 1_000
#: The most words of one query the lexical stage matches on (after stop words are dropped).
MAX_QUERY_WORDS = 32

#: The longest description line taken as the title of a tool with no summary.
TITLE_CHARS = 120

_WORD = re.compile(r"[^\W_]+")
#: Boundaries inside identifiers: `listPods` → list Pods, `HTTPServer` → HTTP Server, `v1beta1` stays.
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: The words people use for what each HTTP method does.
METHOD_WORDS: dict[str, tuple[str, ...]] = {
    "GET": ("get", "list", "show", "read", "fetch", "view", "find", "retrieve", "see"),
    "HEAD": ("check", "exists"),
    "POST": ("create", "add", "new", "send", "make", "submit", "start", "run"),
    "PUT": ("update", "replace", "set", "edit", "change", "put"),
    "PATCH": ("update", "edit", "change", "modify", "set", "patch"),
    "DELETE": ("delete", "remove", "kill", "drop", "destroy", "erase", "unset"),
}

#: Abbreviations of API nouns, spelled out on both sides (tool text and query), so either form matches.
ABBREVIATIONS: dict[str, str] = {
    "repo": "repository",
    "repos": "repositories",
    "org": "organization",
    "orgs": "organizations",
    "pr": "pull",
    "prs": "pulls",
    "config": "configuration",
    "configs": "configurations",
    "env": "environment",
    "envs": "environments",
    "msg": "message",
    "msgs": "messages",
    "ns": "namespace",
    "k8s": "kubernetes",
    "info": "information",
    "cert": "certificate",
    "certs": "certificates",
    "creds": "credentials",
    "perms": "permissions",
    "admin": "administrator",
    "admins": "administrators",
    "app": "application",
    "apps": "applications",
}

#: Words too common in requests to say anything about the tool wanted.
STOP_WORDS = frozenset(
    """a an the and or of to in on for from by with at as is are be was were it its this that these those
    i me my we our us you your he she they them their what which who whom how when where why can could
    would should will shall do does did please want need like just some any all about into onto out up
    there here so then than too very also get let lets s t""".split()  # noqa: SIM905 - a word list
)


def identifier_words(identifier: str) -> list[str]:
    """`apps_get_webhook_config_for_app`, `listCoreV1NamespacedPod`, `/repos/{owner}/{repo}` → words."""
    return [word.lower() for part in _WORD.findall(identifier) for word in _CAMEL.split(part) if word]


def expand(words: Iterable[str]) -> Iterator[str]:
    """Each word, followed by its spelled-out form when it is a known abbreviation."""
    for word in words:
        yield word
        full = ABBREVIATIONS.get(word)
        if full is not None:
            yield full


def clean_query(query: str) -> str:
    """The query with control characters (NUL included) turned into spaces and outer space trimmed."""
    return _CONTROL.sub(" ", query).strip()


def query_words(query: str) -> list[str]:
    """The words the lexical stage matches: identifier-split, lowercased, spelled out, no stop words,
    each once, at most MAX_QUERY_WORDS."""
    seen: dict[str, None] = {}
    for word in expand(identifier_words(query)):
        if word not in STOP_WORDS:
            seen.setdefault(word, None)
    return list(seen)[:MAX_QUERY_WORDS]


@dataclass(frozen=True, slots=True)
class ToolText:
    """One tool's searchable text, by field (each a string of plain words)."""

    name: str
    title: str
    description: str
    tags: str
    parameters: str
    path: str
    verbs: str

    def sentence(self, description_chars: int) -> str:
        """What the semantic stage embeds: the title, the name's words and the start of the description."""
        head = self.description[:description_chars]
        return ". ".join(part for part in (self.title, self.name, head) if part)


def tool_text(tool: CanonicalTool) -> ToolText:
    title = tool.annotations.title or _first_line(tool.description)
    description = tool.description
    if title and description.startswith(title):
        description = description[len(title) :].lstrip()
    properties = tool.input_schema.get("properties")
    parameter_names = list(properties) if isinstance(properties, dict) else []
    return ToolText(
        name=_joined(expand(identifier_words(tool.name))),
        title=title,
        description=" ".join(description.split()),
        tags=_joined(expand(w for tag in tool.tags for w in identifier_words(tag))),
        parameters=_joined(expand(w for p in parameter_names for w in identifier_words(str(p)))),
        path=_joined(expand(identifier_words(tool.path))),
        verbs=" ".join(METHOD_WORDS.get(tool.method.upper(), (tool.method.lower(),))),
    )


def _first_line(text: str) -> str:
    """A title for a tool whose spec gives no summary: its description's first line, if short."""
    line = text.strip().split("\n", 1)[0].strip()
    return line if len(line) <= TITLE_CHARS else ""


def _joined(words: Iterable[str]) -> str:
    return " ".join(words)
