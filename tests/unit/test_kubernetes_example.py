"""examples/kubernetes: every manifest valid against the Kubernetes JSON schemas kept in the repository
(tests/fixtures/kubernetes_schemas: v1.34 strict, from the kubernetes-validate package, cut to the
kinds used and what they reference), and the pieces agree with each other and with loadgate's CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from harness.checklist import load_checklist
from harness.cli_options import build_parser
from harness.hosts import HostAllowlist

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "kubernetes"
SCHEMAS = ROOT / "tests" / "fixtures" / "kubernetes_schemas"


def _documents() -> list[dict[str, Any]]:
    docs = []
    for path in sorted(EXAMPLE.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def _schema_file(doc: dict[str, Any]) -> Path:
    group_version = doc["apiVersion"].replace("/", "-").split(".")[0]  # apps/v1 -> apps-v1; v1 -> v1
    return SCHEMAS / f"{doc['kind'].lower()}-{group_version}.json"


def _by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in _documents() if d["kind"] == kind}


@pytest.mark.parametrize("doc", _documents(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_each_manifest_is_valid_against_the_kept_schema(doc: dict[str, Any]) -> None:
    definitions = json.loads((SCHEMAS / "_definitions.json").read_text())
    schema = json.loads(_schema_file(doc).read_text())
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in Draft202012Validator(schema, registry=registry).iter_errors(doc)]
    assert not errors, errors


def test_the_schemas_catch_a_mistake() -> None:
    """The check can fail: a misspelt field and a wrong type are refused (the schemas are strict)."""
    job = _by_kind("Job")["loadgate-gate"]
    definitions = json.loads((SCHEMAS / "_definitions.json").read_text())
    schema = json.loads(_schema_file(job).read_text())
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(schema) @ Registry())
    validator = Draft202012Validator(schema, registry=registry)
    broken = json.loads(json.dumps(job))
    broken["spec"]["template"]["spec"]["containers"][0]["comand"] = ["loadgate"]
    broken["spec"]["backoffLimit"] = "none"
    assert len(list(validator.iter_errors(broken))) >= 2


def _container(job: dict[str, Any]) -> dict[str, Any]:
    return job["spec"]["template"]["spec"]["containers"][0]


def test_master_workers_service_and_config_agree(tmp_path: Path) -> None:
    jobs, services = _by_kind("Job"), _by_kind("Service")
    config = _by_kind("ConfigMap")["loadgate-config"]
    parser = build_parser()
    gate = parser.parse_args(_container(jobs["loadgate-gate"])["args"])
    worker = parser.parse_args(_container(jobs["loadgate-workers"])["args"])
    service = services["loadgate-master"]
    # The workers reach the master through the Service, on the port the master binds.
    bind_port = int(gate.master_bind.rpartition(":")[2])
    assert service["spec"]["ports"][0]["targetPort"] == bind_port
    assert worker.master == f"{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"
    labels = jobs["loadgate-gate"]["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    # The gate waits for as many workers as the worker Job runs at once.
    assert gate.expect_workers == jobs["loadgate-workers"]["spec"]["parallelism"]
    # Every host the gate and the workers talk to is allowed (loopback-only otherwise).
    allow = HostAllowlist.parse(env=config["data"]["LOADGATE_ALLOW_HOSTS"])
    for url in (gate.target_url, gate.prometheus_url, gate.master_bind, worker.master):
        assert allow.refusal(url) is None, url
    # The checklist the gate mounts is a valid loadgate checklist.
    mount = {m["name"]: m["mountPath"] for m in _container(jobs["loadgate-gate"])["volumeMounts"]}
    assert gate.checklist == Path(mount["config"]) / "checklist.yaml"
    path = tmp_path / "checklist.yaml"
    path.write_text(config["data"]["checklist.yaml"])
    assert load_checklist(path).items[0].scenario == "target_2x"
