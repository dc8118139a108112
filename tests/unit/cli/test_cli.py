"""The command line's own contract: help that teaches, usage errors as exit 3, clear one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.cli_options import EXIT_USAGE

SUBCOMMANDS = ["gate", "run", "check", "capacity", "report", "validate", "up", "down", "status"]


def test_top_level_help_lists_commands_and_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    for name in SUBCOMMANDS:
        assert f"    {name} " in out
    assert "2  INVALID" in out and "1  NO-GO" in out


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_each_subcommand_help_explains_itself(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main([name, "--help"])
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: loadgate {name}")
    description = out.split("\n\n")[1]
    assert len(description.split()) >= 5, f"'{name} --help' has no real description"


def test_usage_error_exits_3_not_2_which_means_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["gate", "--no-such-option"])
    assert done.value.code == EXIT_USAGE
    assert "unrecognized arguments: --no-such-option" in capsys.readouterr().err


def test_bad_time_names_the_value(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["check", "--prometheus-url", "http://127.0.0.1:9", "--since", "yesterday-ish"])
    assert done.value.code == EXIT_USAGE
    assert "'yesterday-ish' is not a time" in capsys.readouterr().err


def test_status_without_a_running_stack_says_so(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["status", "--state-file", str(tmp_path / "none.json")])
    assert code == EXIT_USAGE
    assert "no stack is running here" in capsys.readouterr().err


def test_a_bug_outside_a_run_exits_3_in_one_line_with_its_traceback_in_a_file(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import harness.cli as cli

    def broken(args: object) -> int:
        return {}["planted"]

    monkeypatch.setitem(cli.COMMANDS, "report", broken)
    assert main(["report", "nowhere"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("loadgate: error: internal error: KeyError: 'planted'")
    saved = Path(err.rsplit("(traceback in ", 1)[1].rstrip(")\n"))
    try:
        assert 'return {}["planted"]' in saved.read_text()
    finally:
        saved.unlink()


def test_help_never_teaches_a_secret_on_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    for command in ([], ["gate"], ["run"], ["capacity"], ["up"]):
        with pytest.raises(SystemExit):
            main([*command, "--help"])
        out = capsys.readouterr().out
        for flag in ("--api-key ", "--api-key-2 ", "--admin-token ", "--api-key $", "--api-key=", "$KEY"):
            assert flag not in out, f"`loadgate {' '.join(command)} --help` shows {flag!r}"
    with pytest.raises(SystemExit):
        main(["gate", "--help"])
    out = capsys.readouterr().out
    assert "--api-key-file FILE" in out and "LOADGATE_API_KEY" in out and "--admin-token-file" in out


def test_keys_come_from_a_file_or_the_environment_and_argv_warns(tmp_path, capsys, monkeypatch) -> None:
    from harness.cli import _stack_settings, build_parser

    key = tmp_path / "key"
    key.write_text("from-file\n")
    key.chmod(0o600)
    monkeypatch.setenv("LOADGATE_ADMIN_TOKEN", "from-env")
    settings = _stack_settings(build_parser().parse_args(["gate", "--api-key-file", str(key)]))
    assert (settings.api_key, settings.admin_token, settings.api_key_2) == ("from-file", "from-env", None)
    assert capsys.readouterr().err == ""

    key.chmod(0o644)
    _stack_settings(build_parser().parse_args(["gate", "--api-key-file", str(key)]))
    assert "readable by others (mode 644): chmod 600" in capsys.readouterr().err

    settings = _stack_settings(build_parser().parse_args(["gate", "--api-key", "on-argv"]))
    assert settings.api_key == "on-argv"
    assert "--api-key on the command line is visible to every user" in capsys.readouterr().err

    code = main(["gate", "--api-key-file", str(tmp_path / "missing"), "--target-url", "http://127.0.0.1:9"])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "field '--api-key-file': cannot read the secret file" in err and err.count("\n") == 1


@pytest.mark.parametrize(("scenario", "content", "expected"), [
    ("trace_replay", "timestamp\n1\nnot-a-time\n", ":3: 'not-a-time' is not a timestamp"),
    ("trace_replay", None, "cannot read the trace"),
    ("target_2x", "timestamp\n1\n", "--trace replays with scenario trace_replay, not 'target_2x'"),
])
def test_a_bad_trace_is_refused_before_anything_starts(tmp_path, capsys, scenario: str, content: str | None,
                                                       expected: str) -> None:
    trace = tmp_path / "trace.csv"
    if content is not None:
        trace.write_text(content)
    code = main(["run", scenario, "--trace", str(trace), "--reports-dir", str(tmp_path / "reports"),
                 "--no-progress"])
    assert code == EXIT_USAGE
    assert expected in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()  # no run folder, no process
