"""The model's constraints, checked generically -> ValidationException with member paths.

Rules, all read from the service model: required members, JSON types, string/list/map length
(`min`/`max`), numeric range, `enum`, `pattern`, unions (exactly one member set), map keys and
values, sparse lists/maps (only those may hold nulls). Choices where AWS leaves room:

- Unknown members of a structure are ignored, as AWS rest-json services do.
- A null structure member counts as absent (so a null required member is "must not be null").
- String length counts Unicode code points (`len()`), as Smithy's length trait specifies.
- `pattern` follows Smithy: not implicitly anchored, so it is applied with `re.search`.
- integer/long values must also fit in 32/64 bits (Java int/long on the AWS side).
- Nesting deeper than MAX_DEPTH containers is rejected, so hostile recursive filters cannot
  exhaust the stack.

Messages follow AWS's wording: `1 validation error detected: Value at 'fields[2].value' failed
to satisfy constraint: Member must have length less than or equal to 100`. At most MAX_ERRORS
errors are reported.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
import warnings
from collections.abc import Callable
from typing import Any

from botocore.model import Shape

from opencases.errors import ValidationException
from opencases.wire.model import Plan, all_plans, plan_for

MAX_DEPTH = 64
MAX_ERRORS = 10
_INT_RANGE = {"integer": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


class _Full(Exception):
    """Raised internally once MAX_ERRORS errors are collected."""


class _Errors(list[str]):
    def add(self, path: str, rule: str, null: bool = False) -> None:
        value = "Value null" if null else "Value"
        self.append(f"{value} at '{path}' failed to satisfy constraint: {rule}")
        if len(self) >= MAX_ERRORS:
            raise _Full


def validate(shape: Shape | None, params: dict[str, Any]) -> None:
    """Check params against an operation's input shape; raise ValidationException if invalid."""
    if shape is None:
        return
    errors = _Errors()
    try:  # noqa: SIM105 - contextlib.suppress would build a context manager per request
        _check(plan_for(shape), params, "", 0, errors)
    except _Full:
        pass
    if errors:
        count = len(errors)
        raise ValidationException(f"{count} validation error{'s' if count > 1 else ''} detected: " + "; ".join(errors))


def _check(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    _CHECKERS.get(plan.kind, _check_nothing)(plan, value, path, depth, errors)


def _check_nothing(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    return None


def _type_error(plan: Plan, path: str, errors: _Errors) -> None:
    # The top-level input is always a dict built by the parser, so path is never empty here.
    errors.add(path, f"Member must be of type {plan.kind}")


def _length(plan: Plan, size: int, path: str, errors: _Errors) -> None:
    if plan.min is not None and size < plan.min:
        errors.add(path, f"Member must have length greater than or equal to {plan.min}")
    if plan.max is not None and size > plan.max:
        errors.add(path, f"Member must have length less than or equal to {plan.max}")


def _too_deep(depth: int, path: str, errors: _Errors) -> bool:
    if depth >= MAX_DEPTH:
        errors.add(path, f"Member must not be nested deeper than {MAX_DEPTH} levels")
        return True
    return False


def _check_structure(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, dict):
        return _type_error(plan, path, errors)
    if depth >= MAX_DEPTH and _too_deep(depth, path or plan.name, errors):
        return None
    prefix = f"{path}." if path else ""
    if plan.union:
        chosen = [m.name for m in plan.members if value.get(m.name) is not None]
        if len(chosen) != 1:
            got = "none" if not chosen else f"{len(chosen)}: {', '.join(chosen)}"
            errors.add(path or plan.name, f"Member must set exactly one member of the union (got {got})")
            return None
    for name in plan.required:
        if value.get(name) is None:
            errors.add(prefix + name, "Member must not be null", null=True)
    checkers, depth = _CHECKERS, depth + 1
    for member in plan.members:
        item = value.get(member.name)
        if item is not None:  # unknown keys of `value` are never looked at: ignored
            checkers.get(member.plan.kind, _check_nothing)(member.plan, item, prefix + member.name, depth, errors)
    return None


def _check_list(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, list):
        return _type_error(plan, path, errors)
    _length(plan, len(value), path, errors)
    if depth >= MAX_DEPTH and _too_deep(depth, path, errors):
        return None
    member = plan.member
    assert member is not None
    check = _CHECKERS.get(member.kind, _check_nothing)
    for i, item in enumerate(value):
        if item is None:
            if not plan.sparse:
                errors.add(f"{path}[{i}]", "Member must not be null", null=True)
        else:
            check(member, item, f"{path}[{i}]", depth + 1, errors)
    return None


def _check_map(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, dict):
        return _type_error(plan, path, errors)
    _length(plan, len(value), path, errors)
    if _too_deep(depth, path, errors):
        return None
    key_plan, value_plan = plan.key, plan.value
    assert key_plan is not None and value_plan is not None
    for key, item in value.items():
        key_errors = _Errors()
        with contextlib.suppress(_Full):
            _check(key_plan, key, path, depth + 1, key_errors)
        for message in key_errors:
            # AWS words key failures as "Map keys must satisfy constraint: [...]".
            rule = message.split("failed to satisfy constraint: ", 1)[1]
            errors.add(path, f"Map keys must satisfy constraint: [{rule}]")
        if item is None:
            if not plan.sparse:
                errors.add(f"{path}[{key}]", "Member must not be null", null=True)
        else:
            _check(value_plan, item, f"{path}[{key}]", depth + 1, errors)
    return None


def _check_string(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, str):
        return _type_error(plan, path, errors)
    low, high = plan.min, plan.max
    if (low is not None and len(value) < low) or (high is not None and len(value) > high):
        _length(plan, len(value), path, errors)
    if plan.enum and value not in plan.enum:
        errors.add(path, f"Member must satisfy enum value set: [{', '.join(plan.enum)}]")
    if plan.pattern is not None and not pattern(plan.pattern).search(value):
        errors.add(path, f"Member must satisfy regular expression pattern: {plan.pattern}")
    return None


def _range(plan: Plan, value: float, path: str, errors: _Errors) -> None:
    if plan.min is not None and value < plan.min:
        errors.add(path, f"Member must have value greater than or equal to {plan.min}")
    if plan.max is not None and value > plan.max:
        errors.add(path, f"Member must have value less than or equal to {plan.max}")


def _check_integer(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    # bool is a subclass of int in Python, but `true` is not a number on the wire.
    if not isinstance(value, int) or isinstance(value, bool):
        return _type_error(plan, path, errors)
    low, high = _INT_RANGE[plan.kind]
    if not low <= value <= high:
        errors.add(path, f"Member must fit in a {'32' if plan.kind == 'integer' else '64'}-bit {plan.kind}")
        return None
    return _range(plan, value, path, errors)


def _check_double(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return _type_error(plan, path, errors)
    if isinstance(value, float) and not math.isfinite(value):
        errors.add(path, "Member must be a finite number")
        return None
    return _range(plan, value, path, errors)


def _check_boolean(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, bool):
        _type_error(plan, path, errors)


def _check_timestamp(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, dt.datetime):
        _type_error(plan, path, errors)


def _check_blob(plan: Plan, value: Any, path: str, depth: int, errors: _Errors) -> None:
    if not isinstance(value, (bytes, bytearray)):
        return _type_error(plan, path, errors)
    return _length(plan, len(value), path, errors)


_CHECKERS: dict[str, Callable[[Plan, Any, str, int, _Errors], None]] = {
    "structure": _check_structure,
    "list": _check_list,
    "map": _check_map,
    "string": _check_string,
    "integer": _check_integer,
    "long": _check_integer,
    "double": _check_double,
    "float": _check_double,
    "boolean": _check_boolean,
    "timestamp": _check_timestamp,
    "blob": _check_blob,
}


# --------------------------------------------------------------------------- patterns

_PATTERNS: dict[str, re.Pattern[str]] = {}

# Java regex constructs with no Python `re` spelling (model patterns are Java/ECMA flavoured).
# Possessive quantifiers and atomic groups need no translation on Python >= 3.11.
_JAVA_CLASSES = {
    "Lower": "a-z",
    "Upper": "A-Z",
    "ASCII": "\\x00-\\x7F",
    "Alpha": "a-zA-Z",
    "Digit": "0-9",
    "Alnum": "a-zA-Z0-9",
    "Punct": "!-/:-@\\[-`{-~",
    "Graph": "!-~",
    "Print": " -~",
    "Blank": " \\t",
    "Cntrl": "\\x00-\\x1F\\x7F",
    "XDigit": "0-9a-fA-F",
    "Space": " \\t\\n\\x0B\\f\\r",
}
_HSPACE = " \\t\\xA0\\u1680\\u180e\\u2000-\\u200a\\u202f\\u205f\\u3000"
_JAVA_TOKEN = re.compile(r"\\[pP]\{(\w+)\}|\\.|\[|\]", re.DOTALL)


def translate_java_regex(text: str) -> str:
    """Rewrite the Java-only constructs of a model pattern into Python `re` syntax."""
    out: list[str] = []
    in_class = False
    pos = 0
    for m in _JAVA_TOKEN.finditer(text):
        out.append(text[pos : m.start()])
        token = m.group(0)
        pos = m.end()
        # Escapes are whole tokens, so a bare `[` or `]` here is never escaped.
        if token == "[":
            in_class = True
        elif token == "]":
            in_class = False
        elif token == "\\z":
            token = "\\Z"  # Java's \z (absolute end) is Python's \Z
        elif token == "\\Z":
            token = "(?=\\n?\\Z)"  # Java's \Z allows one final line terminator
        elif token == "\\h":
            token = _HSPACE if in_class else f"[{_HSPACE}]"
        elif m.group(1) is not None:
            body = _JAVA_CLASSES.get(m.group(1))
            if body is None:
                raise ValueError(f"unsupported Java character class {token} in {text!r}")
            negate = token[1] == "P"
            if in_class:
                if negate:
                    raise ValueError(f"unsupported negated class {token} inside [] in {text!r}")
                token = body
            else:
                token = f"[{'^' if negate else ''}{body}]"
        out.append(token)
    out.append(text[pos:])
    return "".join(out)


def pattern(text: str) -> re.Pattern[str]:
    """The compiled form of a model `pattern` (cached); raises RuntimeError if it cannot be."""
    compiled = _PATTERNS.get(text)
    if compiled is None:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # e.g. FutureWarning on ambiguous nested sets
                compiled = re.compile(translate_java_regex(text))
        except (re.error, ValueError, FutureWarning) as exc:
            raise RuntimeError(f"model pattern {text!r} does not compile: {exc}") from exc
        _PATTERNS[text] = compiled
    return compiled


def compile_all_patterns() -> dict[str, re.Pattern[str]]:
    """Compile every pattern of the model up front (fails loudly on a bad one)."""
    return {p.pattern: pattern(p.pattern) for p in all_plans().values() if p.pattern}
