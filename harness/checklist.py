"""Load ``checklist.yaml`` into a validated ``Checklist``; every mistake is one line naming file:line.

The YAML is composed (not just loaded) so each pydantic error location (``items.3.threshold``)
can be walked back to the node it came from and its line reported.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from harness.errors import ConfigError
from harness.promql import parse_errors
from harness.schemas.checklist import Checklist, ItemKind, render_query
from harness.schemas.params import PARAMS
from harness.schemas.service import SERVICE_PROFILE_TAG, ServiceProfile, expand_service
from harness.schemas.verdict import Attestation

# What a user should have written, by pydantic error type; the message pydantic gives is the fallback.
_EXPECTED = {
    "missing": "is required but missing",
    "extra_forbidden": "is not a known field (typo?)",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
    "int_parsing": "expected an integer",
    "int_type": "expected an integer",
    "int_from_float": "expected an integer",
    "string_type": "expected a string",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "list_type": "expected a list",
    "enum": "expected one of",
    "literal_error": "expected one of",
}


def checklist_sha256(path: Path) -> str:
    """Hash of the file's bytes, recorded in run.json so a verdict names the exact checklist."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def parse_attestation(text: str, checklist: Checklist) -> Attestation:
    """``ITEM=WHO`` or ``ITEM=WHO@WHEN`` (``--attest`` on the command line) for a manual item;
    WHEN defaults to now (UTC, ISO 8601)."""
    item, sep, who = text.partition("=")
    by, _, at = who.partition("@")
    if not sep or not item.strip() or not by.strip():
        raise ConfigError(f"attestation {text!r} is not ITEM=WHO or ITEM=WHO@WHEN", field="attest")
    manual = [i.id for i in checklist.items if i.kind == ItemKind.manual]
    if item.strip() not in manual:
        raise ConfigError(f"'{item.strip()}' is not a manual item; expected one of {manual}", field="attest")
    return Attestation(item=item.strip(), by=by.strip(),
                       at=at.strip() or time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))


def load_checklist(path: Path) -> Checklist:
    path = Path(path)
    data, root = _compose(path, "expected a mapping at the top (target_qps, profiles, items)")
    try:
        checklist = Checklist.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, path) from None
    _check_references(checklist, root, path)
    _check_params(checklist, root, path)
    _check_queries(checklist, root, path)
    return checklist


def load_service_file(path: Path) -> ServiceProfile:
    """``--service FILE``: the ``service:`` mapping of a checklist on its own (``preset`` + overrides),
    or a file with that mapping under a top-level ``service:`` key."""
    path = Path(path)
    data, root = _compose(path, "expected a mapping at the top (preset and overrides)")
    prefix: tuple[str, ...] = ()
    if set(data) == {"service"}:
        data, prefix = data["service"], ("service",)
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping (preset and overrides)", path=str(path), line=1)
    try:
        return ServiceProfile.model_validate(expand_service(data))
    except ValidationError as exc:
        errors = [{**e, "loc": (*prefix, *e["loc"])} for e in exc.errors()]
        raise _config_error_from(errors, root, path) from None


def _compose(path: Path, top_hint: str) -> tuple[dict[str, Any], yaml.Node]:
    """The file's data and its node tree (for lines), duplicate keys refused."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path.name}: {exc.strerror}", path=str(path)) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"not valid YAML: {problem}", path=str(path),
                          line=mark.line + 1 if mark else None) from exc
    if root is None or not isinstance(root, yaml.MappingNode):
        raise ConfigError(top_hint, path=str(path), line=root.start_mark.line + 1 if root is not None else 1)
    _reject_duplicate_keys(root, path)
    return yaml.SafeLoader(text).get_single_data(), root


def _config_error(exc: ValidationError, root: yaml.Node, path: Path) -> ConfigError:
    return _config_error_from(exc.errors(), root, path)


def _config_error_from(errors: list[ErrorDetails], root: yaml.Node, path: Path) -> ConfigError:
    first = errors[0]
    loc = tuple(first["loc"])
    if loc[:2] == ("service", SERVICE_PROFILE_TAG):
        loc = ("service", *loc[2:])
    more = f" (and {len(errors) - 1} more error{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return ConfigError(_describe(first) + more, path=str(path), line=_line_of(root, loc),
                       field=_dotted(loc) or None)


def _describe(error: ErrorDetails) -> str:
    kind = error["type"]
    got = error.get("input")
    if kind in ("missing", "extra_forbidden"):
        return _EXPECTED[kind]
    if kind == "value_error":  # a model validator's own sentence
        return str(error["msg"]).removeprefix("Value error, ")
    expected = _EXPECTED.get(kind)
    if expected == "expected one of":
        return f"{error['msg'].lower()}, got {got!r}"
    if expected:
        return f"{expected}, got {got!r}"
    return f"{error['msg']}, got {got!r}"


def _dotted(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _line_of(root: yaml.Node, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest node on ``loc`` that exists: a field's key, or for a missing field
    the mapping that lacks it."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if pair is None:
                break
            line, node = pair[0].start_mark.line, pair[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _reject_duplicate_keys(node: yaml.Node, path: Path) -> None:
    # YAML silently keeps the last of two equal keys: a checklist item edited twice must not pass.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                raise ConfigError(f"duplicate key '{key.value}'", path=str(path),
                                  line=key.start_mark.line + 1)
            seen.add(key.value)
            _reject_duplicate_keys(value, path)
    elif isinstance(node, yaml.SequenceNode):
        for value in node.value:
            _reject_duplicate_keys(value, path)


def _check_references(checklist: Checklist, root: yaml.Node, path: Path) -> None:
    """Items may only name profiles and scenarios the checklist defines; waivers only its items."""
    scenarios = {name for profile in checklist.profiles.values() for name in profile.scenarios}
    for index, item in enumerate(checklist.items):
        for profile in item.profiles:
            if profile not in checklist.profiles:
                known = sorted(checklist.profiles)
                raise ConfigError(f"unknown profile '{profile}', expected one of {known}",
                                  path=str(path), line=_line_of(root, ("items", index, "profiles")),
                                  field=f"items[{index}].profiles")
        if item.scenario and item.scenario not in scenarios:
            raise ConfigError(f"unknown scenario '{item.scenario}', expected one of {sorted(scenarios)}",
                              path=str(path), line=_line_of(root, ("items", index, "scenario")),
                              field=f"items[{index}].scenario")
    ids = [item.id for item in checklist.items]
    for index, waiver in enumerate(checklist.waive):
        if waiver.item not in ids:
            raise ConfigError(f"waives unknown item '{waiver.item}'", path=str(path),
                              line=_line_of(root, ("waive", index, "item")), field=f"waive[{index}].item")


def _check_params(checklist: Checklist, root: yaml.Node, path: Path) -> None:
    """Each item's ``params`` against its measure's or probe's model (unknown names: validate_names)."""
    for index, item in enumerate(checklist.items):
        model = PARAMS.get(item.grader or "")
        if model is None:
            continue
        try:
            model.of(item.params)
        except ValidationError as exc:
            errors = [{**e, "loc": ("items", index, "params", *e["loc"])} for e in exc.errors()]
            raise _config_error_from(errors, root, path) from None


# Values a template is rendered with for its parse check: any window will do.
_SAMPLE_VALUES = {"start": "1700000000.000", "end": "1700000060.000", "range": "60000ms", "job": "agent"}


def _check_queries(checklist: Checklist, root: yaml.Node, path: Path) -> None:
    """Every ``query:`` template rendered and parsed by promtool, so a typo fails now, not after the load."""
    rendered = {item.id: render_query(item.query, _SAMPLE_VALUES) for item in checklist.items if item.query}
    failures = parse_errors(rendered)
    for index, item in enumerate(checklist.items):
        if item.id in failures:
            raise ConfigError(f"PromQL does not parse: {failures[item.id]} (rendered: {rendered[item.id]})",
                              path=str(path), line=_line_of(root, ("items", index, "query")),
                              field=f"items[{index}].query")
