"""Runs the docs' snippets and the example agent the way an integrator does:
as separate programs that import ``amp_protocol`` and are configured only
through AMP_* environment variables."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional

#: sdk/python
PKG_ROOT = Path(__file__).resolve().parent.parent
SNIPPETS = PKG_ROOT / "tests" / "snippets"
EXAMPLE = PKG_ROOT.parent.parent / "examples" / "python" / "agent.py"
#: The docs page the authentication snippet is copied from, beside the repository.
AUTH_PAGE = PKG_ROOT.parent.parent.parent / "shared" / "reference" / "authentication.txt"

#: Each program is a concatenation of snippets as written.
PROGRAMS: Dict[str, List[str]] = {
    # The authentication page's client set-up, then the docs' examples.
    "docs": ["authentication.py", "get_context.py", "report_outcome.py", "update_profile.py"],
    # AMP() with the key and base URL from the environment only.
    "no_arguments": ["no_arguments.py", "get_context.py"],
}


def snippet(name: str) -> str:
    return (SNIPPETS / name).read_text(encoding="utf-8")


def program(name: str) -> str:
    return "\n".join(snippet(part) for part in PROGRAMS[name])


def auth_page() -> Optional[str]:
    """The auth page's text, or None when shared/ is not beside the repository."""
    return AUTH_PAGE.read_text(encoding="utf-8") if AUTH_PAGE.exists() else None


def _env(env: Dict[str, str]) -> Dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("AMP_")}
    # The installed package is this checkout; an integrator would pip install it.
    base["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PKG_ROOT), os.environ.get("PYTHONPATH")]))
    base.update(env)
    return base


def run_program(name: str, env: Dict[str, str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-c", program(name)],
        env=_env(env),
        cwd=tempfile.gettempdir(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def run_agent(env: Dict[str, str], stdin: str, args: List[str]) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, str(EXAMPLE), *args],
        env=_env(env),
        cwd=tempfile.gettempdir(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
