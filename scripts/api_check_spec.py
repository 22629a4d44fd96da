"""The OpenAPI side of scripts/api-check.py: the document's shape, schema validation of answers
(Draft 2020-12, `$ref`s resolved inside the document), and the routes NodeAPI.swift declares."""
import os, re, urllib.parse

from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
API_SOURCE = os.path.join(ROOT, "Sources/MeshNode/API/NodeAPI.swift")
SPEC_FILE = os.path.join(ROOT, "Sources/MeshNode/API/openapi.json")
DOC_URI = "urn:meshwork:openapi"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def pointer_escape(segment):
    return segment.replace("~", "~0").replace("/", "~1")


class Spec:
    """The served document, with a registry so schemas are checked by JSON pointer into it."""

    def __init__(self, doc):
        self.doc = doc
        self.registry = Registry().with_resource(DOC_URI, Resource.from_contents(doc, default_specification=DRAFT202012))

    def validator(self, pointer):
        schema = {"$ref": DOC_URI + "#" + urllib.parse.quote(pointer, safe="/~")}
        return Draft202012Validator(schema, registry=self.registry)

    def errors(self, pointer, instance):
        found = sorted(self.validator(pointer).iter_errors(instance), key=lambda e: list(e.absolute_path))
        return "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message[:200]}" for e in found[:3])

    def operations(self):
        return {(method.upper(), path) for path, item in self.doc.get("paths", {}).items()
                for method in item if method in METHODS}

    def conform(self, method, template, reply):
        """Error text if the reply is not one the document allows for this operation, else ''."""
        operation = self.doc["paths"].get(template, {}).get(method.lower())
        if operation is None:
            return f"{method} {template} is not documented"
        response = operation["responses"].get(str(reply.status))
        pointer = f"/paths/{pointer_escape(template)}/{method.lower()}/responses/{reply.status}"
        if response is None:
            return f"status {reply.status} not documented (documented: {sorted(operation['responses'])}); body {reply.body[:200]!r}"
        if "$ref" in response:
            pointer = response["$ref"][1:]
            response = resolve_in(self.doc, response["$ref"])
        content = response.get("content")
        if not content:
            return ""
        if reply.content_type not in content:
            return f"content type {reply.content_type!r} not documented for {reply.status} ({sorted(content)})"
        if reply.content_type == "application/json":
            try:
                instance = reply.json()
            except ValueError as error:
                return f"body is not JSON: {error}: {reply.body[:200]!r}"
            return self.errors(f"{pointer}/content/{pointer_escape(reply.content_type)}/schema", instance)
        if reply.content_type == "application/octet-stream":
            return "" if reply.body else "empty body"
        try:
            text = reply.body.decode("utf-8")
        except UnicodeDecodeError:
            return "body is not UTF-8 text"
        return "" if text.strip() else "empty body"


def all_refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from all_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from all_refs(value)


def check_openapi_shape(doc):
    problems = []
    if not str(doc.get("openapi", "")).startswith("3.1."):
        problems.append(f"openapi is {doc.get('openapi')!r}, not 3.1.x")
    info = doc.get("info", {})
    if not (isinstance(info.get("title"), str) and isinstance(info.get("version"), str)):
        problems.append("info.title and info.version are required strings")
    if not isinstance(doc.get("paths"), dict) or not doc["paths"]:
        problems.append("paths is missing or empty")
    operation_ids = []
    for path, item in doc.get("paths", {}).items():
        if not path.startswith("/"):
            problems.append(f"path {path} does not start with /")
        for method, operation in item.items():
            if method not in METHODS:
                continue
            operation_ids.append(operation.get("operationId"))
            responses = operation.get("responses", {})
            if not responses or any(not re.fullmatch(r"[1-5][0-9][0-9]|default", code) for code in responses):
                problems.append(f"{method.upper()} {path}: responses missing or with bad status keys")
            declared = set()
            for parameter in operation.get("parameters", []) + item.get("parameters", []):
                if "$ref" in parameter:
                    try:
                        parameter = resolve_in(doc, parameter["$ref"])
                    except (KeyError, IndexError, ValueError):
                        continue  # reported below with every other unresolved $ref
                if parameter.get("in") == "path":
                    declared.add(parameter["name"])
            if declared != set(re.findall(r"{([^}]+)}", path)):
                problems.append(f"{method.upper()} {path}: path parameters declared {sorted(declared)}")
    if len(operation_ids) != len(set(operation_ids)) or None in operation_ids:
        problems.append("operationIds are missing or not unique")
    for reference in all_refs(doc):
        try:
            resolve_in(doc, reference)
        except (KeyError, IndexError, ValueError):
            problems.append(f"$ref {reference} does not resolve")
    for name, schema in doc.get("components", {}).get("schemas", {}).items():
        try:
            Draft202012Validator.check_schema(schema)
        except Exception as error:
            problems.append(f"schema {name}: {str(error)[:200]}")
    try:
        from openapi_spec_validator import validate  # optional, when installed
        validate(doc)
    except ImportError:
        pass
    except Exception as error:
        problems.append(f"openapi-spec-validator: {str(error)[:300]}")
    return problems


def resolve_in(doc, reference):
    if not reference.startswith("#/"):
        raise ValueError(reference)
    node = doc
    for segment in reference[2:].split("/"):
        node = node[segment.replace("~1", "/").replace("~0", "~")]
    return node


def source_routes():
    """`NodeAPI.routes` (NodeAPI.swift) and the routes the router registers (NodeAPI*.swift)."""
    directory = os.path.dirname(API_SOURCE)
    text = "\n".join(open(os.path.join(directory, name)).read() for name in sorted(os.listdir(directory))
                     if name.startswith("NodeAPI") and name.endswith(".swift"))
    listed = re.search(r"static let routes\s*=\s*\[(.*?)\]", text, re.S)
    routes = set(re.findall(r'"([A-Z]+ /[^"]*)"', listed.group(1))) if listed else set()
    registered = set()
    for method, path in re.findall(r'\brouter\.(get|post|put|delete|patch|head)\("([^"]*)"\)', text):
        registered.add(f"{method.upper()} /" + re.sub(r":(\w+)", r"{\1}", path).lstrip("/"))
    for path in re.findall(r'\.ws\("([^"]*)"\)', text):
        registered.add("GET /" + path.lstrip("/"))
    assets = re.search(r"let assets\b[^=]*=\s*\[(.*?)\n\s*\]", text, re.S)
    for path in re.findall(r'^\s*\(\s*"([^"]*)"', assets.group(1) if assets else "", re.M):
        registered.add("GET /" + path.lstrip("/"))
    return routes, registered
