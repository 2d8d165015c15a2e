"""`run.py viz`'s launcher (analysis/cli/viz.py): its arguments, the server's command
line and environment, the page it serves, and a bad file refused before any server
starts."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from analysis.cli import viz as serve
from analysis.live import app, page
from sim.scenario import ScenarioError


def test_serve_arguments_and_command_line(tmp_path):
    parser = argparse.ArgumentParser()
    serve.add_arguments(parser)
    args = parser.parse_args([])
    assert (args.host, args.port, args.buyers) == ("127.0.0.1", 8765, None)
    assert args.scenario.endswith("baseline.toml")
    args = parser.parse_args(["x.toml", "--host", "0.0.0.0", "--port", "9000", "--buyers", "50"])
    assert (args.scenario, args.host, args.port, args.buyers) == ("x.toml", "0.0.0.0", 9000, 50)
    cmd = serve.server_command("127.0.0.1", 9000)
    assert cmd[1:3] == ["run", str(serve.APP)] and "--production" in cmd
    assert cmd[0].endswith("solara")
    env = serve.server_env(tmp_path / "s.toml", 50)
    assert env["BJS_SCENARIO"] == str((tmp_path / "s.toml").resolve())
    assert env["BJS_BUYERS"] == "50"
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    args = parser.parse_args([str(tmp_path / "missing.toml")])
    with pytest.raises(ScenarioError):
        serve.command(args)  # checked before any server starts


def test_the_served_file_is_the_page():
    """`solara run` serves APP: the file is there and its Page is the live view's."""
    assert serve.APP.is_file() and serve.APP.resolve() == Path(app.__file__).resolve()
    assert app.Page is page.Page
