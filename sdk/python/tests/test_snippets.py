"""The docs' snippets and the example agent, run as separate programs
against the local emulator of the AMP API. The same programs run against the
real server in test_integration.py."""

from __future__ import annotations

import socket
import unittest

from _consumer import auth_page, run_agent, run_program, snippet
from _fake_server import FakeServer, amp_emulator

# Fake: built from parts so that secret scanners do not take it for a key.
KEY = "amp_sk_test_" + "snippet" * 3 + "000AA"


class SnippetTest(unittest.TestCase):
    server: FakeServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = FakeServer()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def setUp(self) -> None:
        self.server.reset(amp_emulator(KEY))

    def test_python_snippet_is_verbatim_from_the_authentication_page(self) -> None:
        page = auth_page()
        if page is None:
            self.skipTest("shared/reference/authentication.txt is not beside the repository")
        self.assertIn(snippet("authentication.py").rstrip(), page)

    def test_docs_snippets_run_as_written(self) -> None:
        r = run_program("docs", {"AMP_API_KEY": KEY, "AMP_BASE_URL": self.server.base_url})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(
            [f"{q.method} {q.path}" for q in self.server.requests],
            ["POST /v1/context", "POST /v1/outcome", "PUT /v1/profile/user_123"],
        )
        ctx_req, out_req, put_req = self.server.requests
        self.assertEqual(list(ctx_req.body), ["userId", "task", "complexity", "taskType", "metadata"])
        self.assertEqual(
            out_req.body,
            {
                "requestId": "req_emu1",
                "started": True,
                "completed": True,
                "timeToStart": 15,
                "flowState": True,
                "satisfaction": 0.95,
            },
        )
        self.assertEqual(
            put_req.body,
            {
                "preferredFraming": "achievement",
                "communicationStyle": "brief_directive",
                "complexityPreference": "break_into_steps",
                "encouragementLevel": "minimal",
                "metadata": {"imported": True, "source": "legacy_system"},
            },
        )
        self.assertEqual(
            r.stdout.splitlines()[:5], ["micro_task", "brief_directive", "break_into_steps", "0.87", "achievement"]
        )

    def test_amp_without_arguments_reads_the_environment(self) -> None:
        for var in ("AMP_API_KEY", "AMP_KEY"):
            with self.subTest(var=var):
                self.server.reset(amp_emulator(KEY))
                r = run_program("no_arguments", {var: KEY, "AMP_BASE_URL": self.server.base_url})
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertEqual(self.server.requests[0].headers.get("Authorization"), f"Bearer {KEY}")

    def test_wrong_key_fails_with_unauthorized(self) -> None:
        r = run_program("docs", {"AMP_API_KEY": "amp_sk_test_wrong", "AMP_BASE_URL": self.server.base_url})
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("AMPError: UNAUTHORIZED", r.stderr)


class ExampleAgentTest(unittest.TestCase):
    def test_prompt_and_outcome(self) -> None:
        server = FakeServer()
        self.addCleanup(server.close)
        server.reset(amp_emulator(KEY))
        r = run_agent(
            {"AMP_API_KEY": KEY, "AMP_BASE_URL": server.base_url},
            "y\ny\nn\n8\n",
            ["--user", "alice", "--type", "writing", "write the release notes"],
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("Frame the task as a series of small, quick steps", r.stdout)
        self.assertIn("Be brief and directive", r.stdout)
        self.assertIn("Outcome reported for req_emu1.", r.stdout)
        self.assertEqual(server.requests[0].body, {"userId": "alice", "task": "write the release notes", "taskType": "writing"})
        outcome = server.requests[1].body
        self.assertEqual(
            {k: outcome[k] for k in ("requestId", "started", "completed", "flowState", "satisfaction")},
            {"requestId": "req_emu1", "started": True, "completed": True, "flowState": False, "satisfaction": 0.8},
        )
        self.assertIsInstance(outcome["timeToStart"], float)

    def test_carries_on_when_amp_is_unreachable(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        r = run_agent({"AMP_API_KEY": KEY, "AMP_BASE_URL": f"http://127.0.0.1:{port}/v1"}, "n\n", [])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("AMP unavailable (CONNECTION_ERROR", r.stderr)
        self.assertIn("Frame the task as an achievement", r.stdout)
        self.assertNotIn("Outcome reported", r.stdout)


if __name__ == "__main__":
    unittest.main()
