"""The client against the real server: ``amp serve`` from AMP_BIN on a free
port with a fresh data directory, keys and accounts from ``amp keys create``
and ``amp accounts create``. Skipped, with the reason, when AMP_BIN is unset."""

from __future__ import annotations

import os
import sqlite3
import sys
import time
import unittest
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any, List, Optional

from _consumer import run_agent, run_program
from _real_server import RealServer, skip_reason

from amp_protocol import (
    AMP,
    COMMUNICATION_STYLES,
    COMPLEXITY_LEVELS,
    ENCOURAGEMENT_LEVELS,
    FRAMING_TYPES,
    PROFILE_PHASES,
    AMPError,
)

SKIP = skip_reason()
server: Optional[RealServer] = None
account = ""
key = ""


def setUpModule() -> None:
    global server, account, key
    if SKIP:
        # Visible without -v too: a silent skip would pass for a run.
        sys.stderr.write(f"\ntest_integration skipped: {SKIP}\n")
        return
    server = RealServer(os.environ["AMP_BIN"])
    # A pro account (100 req/s) so that the functional tests are not
    # rate-limited; the rate-limit tests use a starter account of their own.
    account = server.create_account("sdk-python", "pro")
    key = server.create_key(account, "--name", "sdk-tests")


def tearDownModule() -> None:
    if server is not None:
        server.stop()


@unittest.skipIf(SKIP, SKIP or "")
class _RealTest(unittest.TestCase):
    def client(self, **kw: Any) -> AMP:
        assert server is not None
        return AMP(kw.pop("api_key", key), base_url=server.base_url, **kw)

    def assertAMPError(self, err: AMPError, code: str, status: int) -> None:
        self.assertEqual(err.code, code, str(err))
        self.assertEqual(err.status, status)
        self.assertRegex(err.request_id or "", r"^req_")
        self.assertTrue(err.message)

    def raises(self, fn: Any, *args: Any, **kw: Any) -> AMPError:
        with self.assertRaises(AMPError) as cm:
            fn(*args, **kw)
        return cm.exception


class MethodsTest(_RealTest):
    def test_get_context_new_user(self) -> None:
        ctx = self.client().get_context(
            user_id="py_new_user",
            task="fix the flaky login test",
            complexity="high",
            task_type="debugging",
            metadata={"source": "chat", "timestamp": 1705314600000},
        )
        self.assertRegex(ctx.request_id, r"^req_")
        self.assertIn(ctx.suggested_framing, FRAMING_TYPES)
        self.assertIn(ctx.communication_style, COMMUNICATION_STYLES)
        self.assertIn(ctx.complexity, COMPLEXITY_LEVELS)
        self.assertIn(ctx.encouragement, ENCOURAGEMENT_LEVELS)
        self.assertTrue(0 <= ctx.confidence <= 1)
        self.assertTrue(ctx.rationale)
        self.assertEqual(ctx.metadata.profile_phase, "cold_start")
        self.assertEqual(ctx.metadata.interaction_count, 0)
        self.assertIsInstance(ctx.metadata.exploration_mode, bool)

    def test_report_outcome_counts_toward_the_profile(self) -> None:
        amp = self.client()
        ctx = amp.get_context(user_id="py_outcome_user", task="write the changelog", task_type="writing")
        self.assertIsNone(
            amp.report_outcome(
                request_id=ctx.request_id,
                started=True,
                completed=True,
                time_to_start=15,
                flow_state=True,
                satisfaction=0.95,
                metadata={"note": "sdk test"},
            )
        )
        p = amp.get_profile("py_outcome_user")
        self.assertEqual(p.user_id, "py_outcome_user")
        self.assertEqual(p.total_interactions, 1)
        self.assertEqual(p.completion_rate, 1)
        self.assertEqual(p.profile_phase, "cold_start")
        self.assertIn(p.profile_phase, PROFILE_PHASES)
        self.assertIsInstance(p.created_at, datetime)
        self.assertIsNotNone(p.created_at.tzinfo)
        self.assertIsInstance(p.last_updated, datetime)
        self.assertEqual(p.profile_version, "2.1")
        self.assertIsInstance(p.time_of_day_patterns, list)
        self.assertIsInstance(p.task_type_affinities, dict)

    def test_update_profile_is_partial(self) -> None:
        amp = self.client()
        first = amp.update_profile(
            user_id="py_update_user",
            preferred_framing="challenge",
            communication_style="technical",
            complexity_preference="hints_only",
            encouragement_level="none",
            metadata={"imported": True, "source": "legacy_system"},
        )
        self.assertEqual((first.user_id, first.preferred_framing, first.encouragement_level), ("py_update_user", "challenge", "none"))
        second = amp.update_profile("py_update_user", encouragement_level="high")
        self.assertEqual(
            (second.preferred_framing, second.communication_style, second.complexity_preference, second.encouragement_level),
            ("challenge", "technical", "hints_only", "high"),
        )
        read = amp.get_profile("py_update_user")
        self.assertEqual(read.encouragement_level, "high")
        self.assertEqual(read.metadata, {"imported": True, "source": "legacy_system"})

    def test_reserved_characters_in_user_id_round_trip(self) -> None:
        amp = self.client()
        user_id = "team/ü 1?x=#y%25&z"
        self.assertEqual(amp.update_profile(user_id, preferred_framing="learning").user_id, user_id)
        got = amp.get_profile(user_id)
        self.assertEqual((got.user_id, got.preferred_framing), (user_id, "learning"))
        amp.delete_profile(user_id)
        self.assertAMPError(self.raises(amp.get_profile, user_id), "NOT_FOUND", 404)

    def test_delete_profile(self) -> None:
        amp = self.client()
        ctx = amp.get_context("py_delete_user", "a task")
        amp.report_outcome(ctx.request_id, False)
        self.assertIsNone(amp.delete_profile("py_delete_user"))
        self.assertAMPError(self.raises(amp.get_profile, "py_delete_user"), "NOT_FOUND", 404)
        self.assertAMPError(self.raises(amp.delete_profile, "py_delete_user"), "NOT_FOUND", 404)


class ErrorsTest(_RealTest):
    def test_401_unknown_key(self) -> None:
        bad = self.client(api_key="amp_sk_test_" + "0" * 30)
        self.assertAMPError(self.raises(bad.get_context, "u", "t"), "UNAUTHORIZED", 401)

    def test_401_key_expired(self) -> None:
        assert server is not None
        short_lived = server.create_key(account, "--expires-in", "1s")
        time.sleep(1.5)
        self.assertAMPError(self.raises(self.client(api_key=short_lived).get_context, "u", "t"), "KEY_EXPIRED", 401)

    def test_403_missing_scope(self) -> None:
        assert server is not None
        scoped = self.client(api_key=server.create_key(account, "--scopes", "context"))
        ctx = scoped.get_context("py_scoped", "allowed")
        self.assertRegex(ctx.request_id, r"^req_")
        self.assertAMPError(self.raises(scoped.get_profile, "py_scoped"), "FORBIDDEN", 403)
        self.assertAMPError(self.raises(scoped.report_outcome, ctx.request_id, True), "FORBIDDEN", 403)

    def test_404s(self) -> None:
        amp = self.client()
        self.assertAMPError(self.raises(amp.get_profile, "py_nobody"), "NOT_FOUND", 404)
        self.assertAMPError(self.raises(amp.report_outcome, "req_doesnotexist", True), "INVALID_REQUEST_ID", 404)

    def test_409_second_outcome(self) -> None:
        amp = self.client()
        ctx = amp.get_context("py_twice", "a task")
        amp.report_outcome(ctx.request_id, True, completed=True)
        self.assertAMPError(self.raises(amp.report_outcome, ctx.request_id, False), "OUTCOME_ALREADY_REPORTED", 409)
        p = amp.get_profile("py_twice")
        self.assertEqual((p.total_interactions, p.completion_rate), (1, 1))

    def test_410_request_expired(self) -> None:
        # amp serve has no test clock, so the decision is aged in its SQLite
        # file (WAL mode lets a second connection write beside the server,
        # and the server reads decisions from the file, not from memory).
        assert server is not None
        amp = self.client()
        ctx = amp.get_context("py_expired", "a task")
        db = sqlite3.connect(os.path.join(server.data_dir, "amp.db"), timeout=10)
        try:
            with db:
                changed = db.execute(
                    "UPDATE decisions SET created_at = created_at - ? WHERE request_id = ?",
                    (25 * 3600 * 1_000_000, ctx.request_id),  # microseconds
                ).rowcount
        finally:
            db.close()
        self.assertEqual(changed, 1)
        self.assertAMPError(self.raises(amp.report_outcome, ctx.request_id, True), "REQUEST_EXPIRED", 410)

    def test_400s(self) -> None:
        amp = self.client()
        self.assertAMPError(self.raises(amp.get_context, "", "t"), "INVALID_USER_ID", 400)
        self.assertAMPError(self.raises(amp.get_context, "u", ""), "INVALID_TASK", 400)
        self.assertAMPError(
            self.raises(amp.update_profile, "u", preferred_framing="heroic"),  # type: ignore[arg-type]
            "INVALID_PREFERENCE",
            400,
        )
        ctx = amp.get_context("py_bad_outcome", "t")
        self.assertAMPError(self.raises(amp.report_outcome, ctx.request_id, True, satisfaction=2), "INVALID_REQUEST", 400)


class RateLimitTest(_RealTest):
    limited_key = ""

    @classmethod
    def setUpClass(cls) -> None:
        assert server is not None
        # Starter: 10 requests/second with a burst of 10, per account and mode.
        starter = server.create_account("sdk-python-starter", "starter")
        cls.limited_key = server.create_key(starter, "--name", "burst")

    def burst(self, amp: AMP, n: int) -> List[Any]:
        def call(i: int) -> Any:
            try:
                return amp.get_context(f"py_burst_{i}", "burst")
            except AMPError as err:
                return err

        with ThreadPoolExecutor(max_workers=n) as pool:
            return list(pool.map(call, range(n)))

    def test_a_burst_is_retried_after_retry_after_and_succeeds(self) -> None:
        slept: List[float] = []

        def sleep(s: float) -> None:
            slept.append(s)
            time.sleep(s)

        amp = self.client(api_key=self.limited_key, max_retries=8, sleep=sleep)
        with self.assertLogs("amp_protocol", "INFO") as logs:
            results = self.burst(amp, 25)
        errors = [r for r in results if isinstance(r, AMPError)]
        self.assertEqual(errors, [])
        for ctx in results:
            self.assertRegex(ctx.request_id, r"^req_")
        retries = [r for r in logs.records if getattr(r, "amp_status", None) == 429]
        self.assertTrue(retries, "no request was rate-limited")
        self.assertEqual(len(retries), len(slept))
        for r in retries:
            # Every wait honoured what the server asked for.
            self.assertIsNotNone(r.amp_server_wait)  # type: ignore[attr-defined]
            self.assertGreater(r.amp_server_wait, 0)  # type: ignore[attr-defined]
            self.assertGreaterEqual(r.amp_delay, r.amp_server_wait)  # type: ignore[attr-defined]

    def test_without_retries_the_429_surfaces(self) -> None:
        amp = self.client(api_key=self.limited_key, max_retries=0)
        errors = [r for r in self.burst(amp, 30) if isinstance(r, AMPError)]
        self.assertTrue(errors, "no request was limited")
        for err in errors:
            self.assertAMPError(err, "RATE_LIMIT_EXCEEDED", 429)
            self.assertEqual(err.details["limit"], 10)
            self.assertIsInstance(err.details["window"], str)
            self.assertGreater(err.details["retryAfter"], 0)


class TimeoutTest(_RealTest):
    def test_a_frozen_server_times_out_then_works_again(self) -> None:
        assert server is not None
        amp = self.client(timeout=0.3, max_retries=1, retry_base_delay=0.01)
        server.pause()
        try:
            with self.assertLogs("amp_protocol", "INFO") as logs:
                err = self.raises(amp.get_context, "py_timeout", "t")
        finally:
            server.resume()
        self.assertEqual((err.code, err.status), ("TIMEOUT", None))
        self.assertEqual([getattr(r, "amp_code", None) for r in logs.records], ["TIMEOUT"])  # one retry, two attempts
        self.assertRegex(amp.get_context("py_timeout", "t", timeout=10).request_id, r"^req_")


class SnippetsTest(_RealTest):
    def env(self, **extra: str) -> dict:
        assert server is not None
        return {"AMP_BASE_URL": server.base_url, **extra}

    def test_docs_snippets_run_as_written(self) -> None:
        r = run_program("docs", self.env(AMP_API_KEY=key))
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(r.stdout.splitlines()[0], FRAMING_TYPES)
        p = self.client().get_profile("user_123")
        self.assertEqual(
            (p.preferred_framing, p.communication_style, p.complexity_preference, p.encouragement_level),
            ("achievement", "brief_directive", "break_into_steps", "minimal"),
        )
        self.assertEqual(p.total_interactions, 1)

    def test_amp_without_arguments(self) -> None:
        for var in ("AMP_API_KEY", "AMP_KEY"):
            with self.subTest(var=var):
                r = run_program("no_arguments", self.env(**{var: key}))
                self.assertEqual(r.returncode, 0, r.stderr)

    def test_example_agent(self) -> None:
        r = run_agent(self.env(AMP_API_KEY=key), "y\nn\ny\n6\n", ["--user", "py_agent_user", "--type", "coding", "add a dark mode toggle"])
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertRegex(r.stdout, r"Outcome reported for req_")
        p = self.client().get_profile("py_agent_user")
        self.assertEqual((p.total_interactions, p.completion_rate), (1, 0))


if __name__ == "__main__":
    unittest.main()
