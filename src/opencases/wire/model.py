"""The connectcases service model, loaded once from the installed botocore package.

The model file is never copied into this repository (see DESIGN.md, principle 1): botocore
ships it, and the other wire modules walk its shapes. To keep that walk cheap, every shape is
compiled once into a `Plan` (its type, constraints and member table), keyed by shape name.
botocore creates a fresh Shape object per reference, and an endless chain of them for
recursive shapes such as CaseFilter, so caching per Shape object would not be bounded.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from botocore.loaders import Loader
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

SERVICE_NAME = "connectcases"
# The API as of botocore 1.44.8; older botocore releases lack the case-rule and merge operations.
EXPECTED_OPERATION_COUNT = 47


@functools.lru_cache(maxsize=1)
def _service_data() -> dict[str, Any]:
    data: dict[str, Any] = Loader().load_service_model(SERVICE_NAME, "service-2")
    return data


@functools.lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """The botocore ServiceModel for connectcases; fails loudly if botocore is too old."""
    model = ServiceModel(_service_data(), service_name=SERVICE_NAME)
    count = len(model.operation_names)
    if count < EXPECTED_OPERATION_COUNT:
        raise RuntimeError(
            f"the installed botocore's {SERVICE_NAME} model has {count} operations, "
            f"opencases needs all {EXPECTED_OPERATION_COUNT}: upgrade botocore"
        )
    return model


@functools.cache
def operation_model(name: str) -> OperationModel:
    """The OperationModel of one operation (botocore raises OperationNotFoundError if unknown)."""
    return service_model().operation_model(name)


def operation_names() -> list[str]:
    """Every operation name in the model, sorted."""
    return sorted(service_model().operation_names)


@functools.cache
def error_shape_names() -> frozenset[str]:
    """Names of the model's error shapes (ValidationException, ResourceNotFoundException, ...)."""
    return frozenset(shape.name for shape in service_model().error_shapes)


@dataclass(eq=False)
class Member:
    """One member of a structure: its name, wire name, HTTP binding and shape plan."""

    name: str
    wire: str  # the JSON key, header name, query key or URI label
    location: str | None  # None for the JSON body; "uri", "querystring", "header", ...
    plan: Plan


@dataclass(eq=False)
class Plan:
    """A shape compiled once: what the parser, validator and serializer need from it."""

    name: str
    kind: str  # botocore type name: structure, list, map, string, integer, long, ...
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    union: bool = False
    sparse: bool = False
    document: bool = False
    timestamp_format: str | None = None
    members: tuple[Member, ...] = ()
    required: tuple[str, ...] = ()
    member: Plan | None = None  # list element
    key: Plan | None = None  # map key
    value: Plan | None = None  # map value
    # True when the JSON form equals the params form (no structure/list/map/timestamp/blob
    # inside), so parser and serializer can pass such values through untouched.
    plain: bool = True


@functools.lru_cache(maxsize=1)
def _plans() -> dict[str, Plan]:
    model = service_model()
    raw_shapes = _service_data()["shapes"]
    plans: dict[str, Plan] = {}
    for name in model.shape_names:
        shape = model.shape_for(name)
        meta = shape.metadata
        plans[name] = Plan(
            name=name,
            kind=shape.type_name,
            min=meta.get("min"),
            max=meta.get("max"),
            pattern=meta.get("pattern"),
            enum=tuple(meta.get("enum", ())),
            union=bool(meta.get("union")),
            # botocore's Shape does not expose `sparse`; read it from the raw model.
            sparse=bool(raw_shapes[name].get("sparse")),
            document=bool(meta.get("document")),
            timestamp_format=shape.serialization.get("timestampFormat"),
        )
    for name, plan in plans.items():
        shape = model.shape_for(name)
        if isinstance(shape, StructureShape):
            plan.members = tuple(
                Member(
                    member_name,
                    member.serialization.get("name", member_name),
                    member.serialization.get("location"),
                    plans[member.name],
                )
                for member_name, member in shape.members.items()
            )
            plan.required = tuple(shape.required_members)
        elif isinstance(shape, ListShape):
            plan.member = plans[shape.member.name]
        elif isinstance(shape, MapShape):
            plan.key = plans[shape.key.name]
            plan.value = plans[shape.value.name]
    for plan in plans.values():
        plan.plain = _is_plain(plan, set())
    return plans


def _is_plain(plan: Plan, seen: set[str]) -> bool:
    if plan.kind in ("structure", "timestamp", "blob") or plan.document:
        return False
    if plan.name in seen:
        return True
    seen.add(plan.name)
    children = (plan.member, plan.key, plan.value)
    return all(_is_plain(child, seen) for child in children if child is not None)


def plan_for(shape: Shape | str) -> Plan:
    """The compiled Plan of a shape (or shape name) of the connectcases model."""
    return _plans()[shape if isinstance(shape, str) else shape.name]


def all_plans() -> dict[str, Plan]:
    """Every shape's Plan, by shape name."""
    return dict(_plans())
