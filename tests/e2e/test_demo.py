"""`make demo`'s script: it shows each config (secrets masked) and ends with the next steps.

The demo is run as `make demo` runs it (demo/run_demo.py with the venv's Python); it starts
its own moto server on 127.0.0.1 and makes its own gpg key.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHOWN = "config.json (secrets shown as ****):"
NEXT = "== Next: export to your own bucket =="


def configs(lines: list[str]) -> list[dict]:
    """Each config the demo printed, parsed back from its JSON."""
    found = []
    for start in (i for i, line in enumerate(lines) if line == SHOWN):
        end = lines.index("}", start)
        found.append(json.loads("\n".join(lines[start + 1 : end + 1])))
    return found


def test_the_demo_shows_its_configs_and_the_next_steps() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "demo" / "run_demo.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()

    plain, encrypted = configs(lines)
    for config in (plain, encrypted):
        assert config["aws_access_key_id"] == "****"
        assert config["aws_secret_access_key"] == "****"
        assert config["endpoint_url"].startswith("http://127.0.0.1:")
    assert "testing" not in done.stdout + done.stderr  # the demo's key values, never shown
    assert "pgp_public_key" not in plain
    assert re.fullmatch(
        r"-----BEGIN PGP PUBLIC KEY BLOCK----- \.\.\. \(\d+ lines\)", encrypted["pgp_public_key"]
    )
    assert encrypted["compression"] == "gzip"

    listed = [line.strip() for line in lines if line.startswith(("   acme/", "   partner/"))]
    assert len([key for key in listed if key.endswith(".csv")]) == 3
    assert len([key for key in listed if key.endswith(".csv.gz.gpg")]) == 3

    steps = "\n".join(lines[lines.index(NEXT) :])  # the last section
    assert "remove endpoint_url" in steps
    assert "target-adobe-s3 --config config.json --check" in steps
    assert "<your tap> | " in steps
    named = re.findall(r"docs/[\w-]+\.md", steps)
    assert "docs/try-it-locally.md" in named
    assert [doc for doc in named if not (ROOT / doc).is_file()] == []
