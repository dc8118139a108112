"""PromQL parsed before anything runs. Prometheus 2.42 has no parse API and no ``promtool promql``, so
the expressions go into a generated rule file that ``promtool check rules`` parses (one recording rule
per expression, named after it)."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import yaml

from harness.errors import ConfigError
from harness.process import require_binary

RULE_PREFIX = "loadgate_check_"
CHECK_TIMEOUT_S = 30
# promtool's line per bad rule: ... rule 2, "loadgate_check_<name>": could not parse expression: 1:51: ...
_FAILED = re.compile(rf'"{RULE_PREFIX}(?P<name>[a-z0-9_]+)": (?P<why>.*)')


def parse_errors(expressions: dict[str, str]) -> dict[str, str]:
    """Why each expression that does not parse fails, by name (names: ``[a-z0-9_]+``); {} when all do."""
    if not expressions:
        return {}
    promtool = require_binary("promtool", "prometheus")
    rules = [{"record": f"{RULE_PREFIX}{name}", "expr": expr} for name, expr in expressions.items()]
    with tempfile.TemporaryDirectory(prefix="loadgate-promql-") as tmp:
        path = Path(tmp) / "checklist_queries.yml"
        path.write_text(yaml.safe_dump({"groups": [{"name": "loadgate-checklist", "rules": rules}]}),
                        encoding="utf-8")
        done = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True,
                              timeout=CHECK_TIMEOUT_S, check=False)
    if done.returncode == 0:
        return {}
    errors = {m["name"]: m["why"].strip() for m in _FAILED.finditer(done.stdout + done.stderr)}
    if not errors:  # promtool failed without naming a rule: say what it said
        said = " ".join((done.stderr or done.stdout).split())
        raise ConfigError(f"promtool could not check the checklist's PromQL: {said}")
    return errors
