"""The tour `netkeep demo` prints, run line by line as a newcomer would, the doctor after each.

Each `curl` line goes to the API, each `netkeep` line to the CLI (an `ENV=value` prefix sets
that variable for the one command; `[...]` optional parts and `# comments` are left out), and
`cat var/mail/*.txt` reads the mail sink. Every line must succeed first time.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

from netkeep.demo import tour
from tests.journeys.conftest import Journey

ROOT = Path(__file__).resolve().parents[2]


def _commands(text: str) -> list[str]:
    """The tour's runnable lines, continuation lines joined, comments and options dropped."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or not line:
            continue
        if raw.startswith("       ") and lines and lines[-1].endswith("\\"):
            lines[-1] = lines[-1][:-1] + " " + line
            continue
        if raw.startswith("  ") and re.match(r"^(curl|netkeep|cat|[A-Z_]+=\S+ netkeep)\b", line):
            lines.append(line)
    cleaned = []
    for line in lines:
        line = re.sub(r"\s+#.*$", "", line)
        line = re.sub(r"\s*\[[^\]]*\]", "", line)
        cleaned.append(line.strip())
    return cleaned


def _local(arg: str) -> str:
    """A path of the repository (the tour runs from its root) made absolute."""
    return str(ROOT / arg) if "/" in arg and (ROOT / arg).exists() else arg


def _run(j: Journey, line: str) -> None:
    words = shlex.split(line)
    if words[0] == "cat":
        assert list(j.folder.glob(words[1])), f"`{line}`: the mail sink kept nothing there"
        return
    if words[0] == "curl":
        method = words[words.index("-X") + 1] if "-X" in words else "GET"
        [url] = [w for w in words if w.startswith("http")]
        if "/_sandbox/" in url:  # the sandbox's admin API, with this sandbox's own token
            body = json.loads(words[words.index("-d") + 1]) if "-d" in words else None
            j.sandbox.admin(method, url.split("/_sandbox", 1)[1], json=body)
            return
        path = url.split("/api/v1", 1)[1]
        j.http(method, path)
        return
    actor = None
    if "=" in words[0]:
        name, _, value = words.pop(0).partition("=")
        assert name == "NETKEEP_ACTOR", line
        actor = value
    assert words[0] == "netkeep", line
    j.cli(*[_local(w) for w in words[1:]], actor=actor)


def test_the_printed_tour_runs_first_time(journey: Journey) -> None:
    j = journey
    text = tour(
        token=j.admin_token,
        api_url="http://testserver",
        sandbox_url=j.settings.meraki_base_url,
        mail=j.mail,
    )
    commands = _commands(text)
    assert len(commands) >= 20, commands
    for line in commands:
        _run(j, line)
    j.finish()
