"""The curl examples of `docs/*.md`, run in order against a real server on a fresh database.

Each page's ```bash blocks run in one bash process (variables carry over); a ```text block right
after a bash block is what that block must print, line by line, `...` matching anything. The
process sees the server's `BASE` and `DATABASE_URL`, this environment's `app` command, and
`MAILDIR`, where an SMTP server the server sends to drops the text of each mail it receives.
"""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.live import LiveServerFactory
from tests.mail import SmtpServer

PAGES = sorted((REPO_ROOT / "docs").glob("*.md"))
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)
END_OF_BLOCK = "@@end-of-example@@"

pytestmark = pytest.mark.skipif(
    shutil.which("curl") is None or shutil.which("jq") is None, reason="needs curl and jq"
)


def examples(page: Path) -> list[tuple[str, str | None]]:
    """(bash code, expected output or None) in the page's order."""
    found: list[tuple[str, str | None]] = []
    for kind, body in FENCE.findall(page.read_text()):
        if kind == "bash":
            found.append((body, None))
        elif kind == "text" and found and found[-1][1] is None:
            found[-1] = (found[-1][0], body)
    return found


def matches(expected: str, printed: str) -> bool:
    want, got = expected.strip("\n").splitlines(), printed.strip("\n").splitlines()
    patterns = [re.escape(line.rstrip()).replace(re.escape("..."), ".*") for line in want]
    return len(want) == len(got) and all(
        re.fullmatch(pattern, line.rstrip()) for pattern, line in zip(patterns, got, strict=True)
    )


def test_every_page_has_checked_examples() -> None:
    assert {page.name for page in PAGES} >= {"auth.md", "lists.md"}
    for page in PAGES:
        checked = [expected for _, expected in examples(page) if expected is not None]
        assert len(checked) >= 5, page.name


@pytest.mark.parametrize("page", PAGES, ids=[page.name for page in PAGES])
def test_examples_print_what_the_page_says(
    page: Path, live_server: LiveServerFactory, fresh_database_url: str, tmp_path: Path
) -> None:
    maildir = tmp_path / "mail"
    maildir.mkdir()
    smtp = SmtpServer(folder=maildir).start()
    server = live_server(
        fresh_database_url,
        SMTP_PORT=str(smtp.port),
        OUTBOX_MAX_ATTEMPTS="8",
        # docs/webhooks.md delivers to a receiver on loopback.
        WEBHOOKS_ALLOW_PRIVATE="true",
    )
    blocks = examples(page)
    script = "".join(f"{code}\nprintf '\\n{END_OF_BLOCK}\\n'\n" for code, _ in blocks)

    try:
        finished = subprocess.run(
            [shutil.which("bash") or "bash", "-euo", "pipefail", "-c", script],
            env={
                # `app` of this virtual environment first, as `uv run app` would find it.
                "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
                "BASE": server.base_url,
                "DATABASE_URL": fresh_database_url,
                "HOME": str(tmp_path),
                "TMPDIR": str(tmp_path),
                "MAILDIR": str(maildir),
            },
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        smtp.stop()
    outputs = finished.stdout.split(f"\n{END_OF_BLOCK}\n")
    assert finished.returncode == 0, f"{finished.stdout}\n{finished.stderr}"
    for number, ((code, expected), printed) in enumerate(zip(blocks, outputs, strict=False), 1):
        if expected is not None:
            where = f"{page.name}, example {number}:\n{code}"
            assert matches(expected, printed), f"{where}\nprinted:\n{printed}\nwanted:\n{expected}"
