"""The SDK's models against the API's own OpenAPI document (``GET /openapi.json``).

Each model reads the API's JSON in its ``from_json``; the keys it reads must be properties of
the response schema the document gives for that route, and every property the document marks
required must be read (or be listed below with why not). A renamed or new field on either side
fails here instead of reaching users as a silently empty attribute.
"""

from __future__ import annotations

import ast
import inspect
import json
import textwrap
import urllib.request
from typing import Any, Dict, Set, Tuple

import pytest

from hks_sdk.async_invocations import AsyncInvocation
from hks_sdk.executor import ErrorInfo, ExecutionResult
from hks_sdk.functions import FunctionInfo, Invocation, InvocationError, Revision, TrafficTarget

# Where each model's JSON is: method, path, status, then the way into the body ("[]": items).
CONTRACT: Dict[type, Tuple[str, str, str, Tuple[str, ...]]] = {
    ExecutionResult: ("post", "/internal/v1/operations/execute", "200", ()),
    ErrorInfo: ("post", "/internal/v1/operations/execute", "200", ("error",)),
    FunctionInfo: ("get", "/api/v1/projects/{project}/functions/{name}", "200", ()),
    TrafficTarget: ("get", "/api/v1/projects/{project}/functions/{name}", "200", ("traffic", "[]")),
    Revision: ("get", "/api/v1/projects/{project}/functions/{name}/revisions", "200", ("items", "[]")),
    Invocation: ("get", "/api/v1/projects/{project}/functions/{name}/invocations/{id}", "200", ()),
    InvocationError: (
        "get",
        "/api/v1/projects/{project}/functions/{name}/invocations/{id}",
        "200",
        ("error",),
    ),
    AsyncInvocation: ("get", "/api/v1/projects/{project}/functions/{name}/async-invocations/{id}", "200", ()),
}

# Models read inside another model's from_json: (that model, the variable holding their JSON).
READ_BY: Dict[type, Tuple[type, str]] = {InvocationError: (Invocation, "error")}

# Required properties a model does not read, with why.
NOT_READ: Dict[type, Dict[str, str]] = {
    Invocation: {"project": "a Functions client is bound to one project, which it asked for"},
    AsyncInvocation: {"project": "a Functions client is bound to one project, which it asked for"},
}


@pytest.fixture(scope="module")
def document(api) -> Dict[str, Any]:
    with urllib.request.urlopen(api.url.rstrip("/") + "/openapi.json", timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def resolve(document: Dict[str, Any], schema: Dict[str, Any]) -> Dict[str, Any]:
    """Follows a local ``$ref`` and merges ``allOf`` parts, as far as the checks need."""
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        schema = node
    if "allOf" in schema:
        merged: Dict[str, Any] = {"properties": {}, "required": []}
        for part in schema["allOf"]:
            part = resolve(document, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    if "anyOf" in schema:
        objects = [resolve(document, s) for s in schema["anyOf"] if s.get("type") != "null"]
        if len(objects) == 1:
            return objects[0]
    return schema


def schema_of(document: Dict[str, Any], model: type) -> Dict[str, Any]:
    method, path, status, way = CONTRACT[model]
    operation = document["paths"][path][method]
    schema = operation["responses"][status]["content"]["application/json"]["schema"]
    schema = resolve(document, schema)
    for step in way:
        schema = resolve(document, schema["items"] if step == "[]" else schema["properties"][step])
    return schema


def keys_read(model: type) -> Set[str]:
    """The JSON keys ``from_json`` reads: ``doc.get("k")`` and ``doc["k"]``."""
    reader, name = READ_BY.get(model, (model, "doc"))
    tree = ast.parse(textwrap.dedent(inspect.getsource(reader.from_json)))  # type: ignore[attr-defined]
    keys: Set[str] = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == name
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            keys.add(str(node.args[0].value))
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
            and isinstance(node.slice, ast.Constant)
        ):
            keys.add(str(node.slice.value))
    return keys


def test_every_model_reads_something():
    # Guards the reader above: a model whose from_json it cannot see would pass vacuously.
    assert all(len(keys_read(model)) >= 2 for model in CONTRACT), {
        model.__name__: sorted(keys_read(model)) for model in CONTRACT
    }


@pytest.mark.parametrize("model", list(CONTRACT), ids=lambda model: model.__name__)
def test_model_reads_only_documented_properties(document, model):
    properties = set(schema_of(document, model).get("properties", {}))
    assert properties, "%s: the document describes no properties at %s" % (model.__name__, CONTRACT[model])
    assert sorted(keys_read(model) - properties) == []


@pytest.mark.parametrize("model", list(CONTRACT), ids=lambda model: model.__name__)
def test_model_reads_every_required_property(document, model):
    required = set(schema_of(document, model).get("required", []))
    unread = required - keys_read(model) - set(NOT_READ.get(model, {}))
    assert sorted(unread) == []
