"""Unit tests of the client against a local fake server: constructor forms,
request shapes, error decoding, retries and timeouts."""

from __future__ import annotations

import os
import threading
import time
import unittest
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from _fake_server import FakeServer, Recorded, Reply, sample_context, sample_profile, sequence

from amp_protocol import (
    AMP,
    DEFAULT_BASE_URL,
    AMPError,
    ContextMetadata,
    MotivationContext,
    MotivationProfile,
    TimePattern,
)

# Fake: built from parts so that secret scanners do not take it for a key.
KEY = "amp_sk_test_" + "unit" * 6 + "0000AA"


def ok(_req: Recorded, reply: Reply) -> None:
    reply.json(200, sample_context())


def limited(_req: Recorded, reply: Reply) -> None:
    reply.error(
        429, "RATE_LIMIT_EXCEEDED", "Too many requests.", {"limit": 10, "window": "1s", "retryAfter": 2}, {"Retry-After": "2"}
    )


class _ServerTest(unittest.TestCase):
    server: FakeServer

    @classmethod
    def setUpClass(cls) -> None:
        cls.server = FakeServer()

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.close()

    def client(self, **kw: Any) -> Tuple[AMP, List[float]]:
        """A client on the fake server whose retry waits are recorded, not slept."""
        slept: List[float] = []
        options: Dict[str, Any] = {"base_url": self.server.base_url, "sleep": slept.append, "random": lambda: 0.5}
        options.update(kw)
        return AMP(options.pop("api_key", KEY), **options), slept

    def serve(self, handler: Any) -> None:
        self.server.reset(handler)

    @property
    def requests(self) -> List[Recorded]:
        return self.server.requests

    def wait_for_requests(self, n: int) -> None:
        """Waits (at most 10 s) until the server has recorded n requests: a
        client that timed out may return before the server's thread ran."""
        for _ in range(1000):
            if len(self.requests) >= n:
                return
            time.sleep(0.01)
        self.fail(f"the server saw {len(self.requests)} requests, want {n}")


NO_ENV = {"AMP_API_KEY": "", "AMP_KEY": "", "AMP_BASE_URL": ""}


class ConstructorTest(_ServerTest):
    def setUp(self) -> None:
        self.serve(ok)
        self._saved = {k: os.environ.get(k) for k in NO_ENV}
        for k in NO_ENV:
            os.environ.pop(k, None)

    def tearDown(self) -> None:
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v

    def auth_of_last(self) -> str:
        return self.requests[-1].headers.get("Authorization")

    def test_positional_key(self) -> None:
        os.environ["AMP_BASE_URL"] = self.server.base_url
        AMP("amp_sk_test_positional").get_context(user_id="u", task="t")
        self.assertEqual(self.auth_of_last(), "Bearer amp_sk_test_positional")

    def test_options(self) -> None:
        amp = AMP(api_key="k", base_url="http://x.test/v1/", timeout=1.5, max_retries=5)
        self.assertEqual(amp.base_url, "http://x.test/v1")
        self.assertEqual(amp.timeout, 1.5)
        self.assertEqual(amp.max_retries, 5)

    def test_defaults(self) -> None:
        amp = AMP("k")
        self.assertEqual(amp.base_url, DEFAULT_BASE_URL)
        self.assertEqual(DEFAULT_BASE_URL, "https://api.amp-protocol.dev/v1")
        self.assertEqual(amp.timeout, 10.0)
        self.assertEqual(amp.max_retries, 2)

    def test_key_from_environment(self) -> None:
        os.environ["AMP_BASE_URL"] = self.server.base_url
        cases = [
            ({"AMP_API_KEY": "from_api_key", "AMP_KEY": "from_key"}, lambda: AMP(), "from_api_key"),
            ({"AMP_KEY": "from_key"}, lambda: AMP(), "from_key"),
            ({"AMP_API_KEY": "", "AMP_KEY": "from_key"}, lambda: AMP(), "from_key"),
            ({"AMP_API_KEY": "from_api_key"}, lambda: AMP(api_key=os.environ.get("AMP_API_KEY")), "from_api_key"),
            ({"AMP_KEY": "from_key"}, lambda: AMP(api_key=os.environ.get("AMP_API_KEY")), "from_key"),
            ({"AMP_API_KEY": "from_api_key"}, lambda: AMP(api_key="explicit"), "explicit"),
        ]
        for vars, make, want in cases:
            with self.subTest(vars=vars, want=want):
                os.environ.pop("AMP_API_KEY", None)
                os.environ.pop("AMP_KEY", None)
                os.environ.update(vars)
                make().get_context(user_id="u", task="t")
                self.assertEqual(self.auth_of_last(), f"Bearer {want}")

    def test_base_url_from_environment(self) -> None:
        os.environ["AMP_BASE_URL"] = "http://env.test/v1"
        self.assertEqual(AMP("k").base_url, "http://env.test/v1")
        self.assertEqual(AMP("k", base_url="http://arg.test/v1").base_url, "http://arg.test/v1")

    def test_missing_key(self) -> None:
        for make in (lambda: AMP(), lambda: AMP(""), lambda: AMP(api_key=None)):
            with self.assertRaises(AMPError) as cm:
                make()
            self.assertEqual(cm.exception.code, "MISSING_API_KEY")
            self.assertIsNone(cm.exception.status)

    def test_bad_options(self) -> None:
        for kw in ({"timeout": 0}, {"max_retries": -1}, {"max_retries": 1.5}, {"retry_base_delay": -1}):
            with self.subTest(kw=kw), self.assertRaises(ValueError):
                AMP("k", **kw)

    def test_repr_hides_the_key(self) -> None:
        self.assertNotIn("secret", repr(AMP("amp_sk_test_secret")))


class RequestShapeTest(_ServerTest):
    def test_get_context(self) -> None:
        self.serve(ok)
        amp, _ = self.client()
        ctx = amp.get_context(
            user_id="user_123",
            task="build a login page",
            complexity="medium",
            task_type="coding",
            metadata={"source": "chat", "timestamp": 1705314600000},
        )
        req = self.requests[0]
        self.assertEqual((req.method, req.path), ("POST", "/v1/context"))
        self.assertEqual(req.headers.get("Content-Type"), "application/json")
        self.assertEqual(req.headers.get("Accept"), "application/json")
        self.assertTrue(req.headers.get("User-Agent").startswith("amp-protocol-python/"))
        self.assertEqual(req.headers.get("Authorization"), f"Bearer {KEY}")
        self.assertEqual(
            req.body,
            {
                "userId": "user_123",
                "task": "build a login page",
                "complexity": "medium",
                "taskType": "coding",
                "metadata": {"source": "chat", "timestamp": 1705314600000},
            },
        )
        self.assertEqual(
            ctx,
            MotivationContext(
                request_id="req_abc123",
                suggested_framing="micro_task",
                communication_style="brief_directive",
                complexity="break_into_steps",
                encouragement="moderate",
                confidence=0.87,
                rationale="User has 85% completion rate with step-by-step guidance",
                metadata=ContextMetadata(profile_phase="optimised", interaction_count=47, exploration_mode=False),
            ),
        )

    def test_unset_optionals_are_not_sent(self) -> None:
        self.serve(ok)
        amp, _ = self.client()
        amp.get_context("u", "t")
        self.assertEqual(self.requests[0].raw, b'{"userId":"u","task":"t"}')

    def test_report_outcome(self) -> None:
        self.serve(lambda _q, r: r.json(200, {"success": True, "message": "Outcome reported successfully"}))
        amp, _ = self.client()
        result = amp.report_outcome(
            request_id="req_abc123",
            started=True,
            completed=False,
            time_to_start=120,
            flow_state=False,
            satisfaction=0.4,
            metadata={"note": "x"},
        )
        self.assertIsNone(result)
        req = self.requests[0]
        self.assertEqual((req.method, req.path), ("POST", "/v1/outcome"))
        self.assertEqual(
            req.body,
            {
                "requestId": "req_abc123",
                "started": True,
                "completed": False,
                "timeToStart": 120,
                "flowState": False,
                "satisfaction": 0.4,
                "metadata": {"note": "x"},
            },
        )

    def test_report_outcome_false_is_sent(self) -> None:
        self.serve(lambda _q, r: r.json(200, {"success": True}))
        amp, _ = self.client()
        amp.report_outcome("req_x", False)
        self.assertEqual(self.requests[0].body, {"requestId": "req_x", "started": False})

    def test_update_profile_puts_to_the_encoded_path_without_user_id_in_body(self) -> None:
        user_id = "team/ü 1?#%&"
        self.serve(lambda q, r: r.json(200, sample_profile(user_id, **q.body)))
        amp, _ = self.client()
        profile = amp.update_profile(
            user_id=user_id,
            preferred_framing="learning",
            communication_style="technical",
            complexity_preference="hints_only",
            encouragement_level="none",
            metadata={"imported": True, "source": "legacy_system"},
        )
        req = self.requests[0]
        self.assertEqual((req.method, req.path), ("PUT", "/v1/profile/team%2F%C3%BC%201%3F%23%25%26"))
        self.assertEqual(
            req.body,
            {
                "preferredFraming": "learning",
                "communicationStyle": "technical",
                "complexityPreference": "hints_only",
                "encouragementLevel": "none",
                "metadata": {"imported": True, "source": "legacy_system"},
            },
        )
        self.assertIsInstance(profile, MotivationProfile)
        self.assertEqual(profile.user_id, user_id)
        self.assertEqual(profile.preferred_framing, "learning")
        self.assertEqual(profile.metadata, {"imported": True, "source": "legacy_system"})

    def test_partial_update_sends_only_given_fields(self) -> None:
        self.serve(lambda _q, r: r.json(200, sample_profile("u")))
        amp, _ = self.client()
        amp.update_profile("u", encouragement_level="high")
        self.assertEqual(self.requests[0].raw, b'{"encouragementLevel":"high"}')

    def test_get_profile(self) -> None:
        self.serve(lambda _q, r: r.json(200, sample_profile("user_123")))
        amp, _ = self.client()
        profile = amp.get_profile("user_123")
        req = self.requests[0]
        self.assertEqual((req.method, req.path, req.raw), ("GET", "/v1/profile/user_123", b""))
        self.assertIsNone(req.headers.get("Content-Type"))
        self.assertEqual(profile.created_at, datetime(2024, 1, 15, 10, 30, 0, 123456, tzinfo=timezone.utc))
        self.assertEqual(profile.last_updated, datetime(2024, 1, 16, 8, 0, tzinfo=timezone.utc))
        self.assertEqual(profile.time_of_day_patterns, [TimePattern(9, 11, 1.0, 2)])
        self.assertEqual(profile.task_type_affinities, {"coding": 0.8})
        self.assertEqual(profile.total_interactions, 3)
        self.assertEqual(profile.profile_phase, "cold_start")
        self.assertEqual(profile.profile_version, "2.1")
        self.assertIsNone(profile.metadata)

    def test_delete_profile(self) -> None:
        self.serve(lambda _q, r: r.json(200, {"success": True}))
        amp, _ = self.client()
        self.assertIsNone(amp.delete_profile("a b"))
        self.assertEqual((self.requests[0].method, self.requests[0].path), ("DELETE", "/v1/profile/a%20b"))

    def test_empty_user_id_fails_before_any_request(self) -> None:
        self.serve(ok)
        amp, _ = self.client()
        for call in (lambda: amp.get_profile(""), lambda: amp.delete_profile(""), lambda: amp.update_profile("")):
            with self.assertRaises(AMPError) as cm:
                call()
            self.assertEqual(cm.exception.code, "INVALID_USER_ID")
            self.assertIsNone(cm.exception.status)
        self.assertEqual(self.requests, [])

    def test_unexpected_shape_is_invalid_response(self) -> None:
        self.serve(lambda _q, r: r.json(200, {"requestId": "req_x"}))
        amp, _ = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual(cm.exception.code, "INVALID_RESPONSE")


# Every row of the contract's status table (§2).
STATUS_TABLE = [
    ("INVALID_REQUEST", 400),
    ("INVALID_USER_ID", 400),
    ("INVALID_TASK", 400),
    ("INVALID_PREFERENCE", 400),
    ("UNAUTHORIZED", 401),
    ("KEY_EXPIRED", 401),
    ("FORBIDDEN", 403),
    ("NOT_FOUND", 404),
    ("INVALID_REQUEST_ID", 404),
    ("METHOD_NOT_ALLOWED", 405),
    ("OUTCOME_ALREADY_REPORTED", 409),
    ("REQUEST_EXPIRED", 410),
    ("PAYLOAD_TOO_LARGE", 413),
    ("RATE_LIMIT_EXCEEDED", 429),
    ("QUOTA_EXCEEDED", 429),
    ("INTERNAL_ERROR", 500),
    ("SERVICE_UNAVAILABLE", 503),
]


class ErrorTest(_ServerTest):
    def test_every_status_decodes_into_amp_error(self) -> None:
        for code, status in STATUS_TABLE:
            with self.subTest(code=code):
                details = {"limit": 10, "window": "1s", "retryAfter": 1, "code": code}
                self.serve(lambda _q, r, c=code, s=status, d=details: r.error(s, c, f"message of {c}", d))
                amp, _ = self.client(max_retries=0)
                with self.assertRaises(AMPError) as cm:
                    amp.report_outcome("req_x", True)
                err = cm.exception
                self.assertEqual(err.code, code)
                self.assertEqual(err.status, status)
                self.assertEqual(err.message, f"message of {code}")
                self.assertEqual(err.details, details)
                self.assertRegex(err.request_id or "", r"^req_err\d+$")
                self.assertIn(code, str(err))
                self.assertEqual(len(self.requests), 1)

    def test_missing_details_and_header_request_id(self) -> None:
        self.serve(lambda _q, r: r.json(404, {"error": {"code": "NOT_FOUND", "message": "gone"}}, {"X-Request-Id": "req_hdr"}))
        amp, _ = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.get_profile("u")
        self.assertEqual(cm.exception.details, {})
        self.assertEqual(cm.exception.request_id, "req_hdr")

    def test_non_amp_error_body(self) -> None:
        self.serve(lambda _q, r: r.raw(502, b"<html>bad gateway</html>", "text/html"))
        amp, _ = self.client(max_retries=0)
        with self.assertRaises(AMPError) as cm:
            amp.get_profile("u")
        self.assertEqual((cm.exception.code, cm.exception.status), ("HTTP_ERROR", 502))
        self.assertIn("bad gateway", cm.exception.message)
        self.assertIsNone(cm.exception.request_id)

    def test_non_json_success_body(self) -> None:
        self.serve(lambda _q, r: r.raw(200, b"hello"))
        amp, _ = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual((cm.exception.code, cm.exception.status), ("INVALID_RESPONSE", 200))


class RetryTest(_ServerTest):
    def test_429_retried_after_details_retry_after(self) -> None:
        self.serve(sequence(limited, ok))
        amp, slept = self.client()
        with self.assertLogs("amp_protocol", "INFO") as logs:
            ctx = amp.get_context("u", "t")
        self.assertEqual(ctx.request_id, "req_abc123")
        self.assertEqual(len(self.requests), 2)
        self.assertEqual(len(slept), 1)
        # Never sooner than the server asked; jitter only adds (≤ 10 %).
        self.assertTrue(2.0 <= slept[0] <= 2.2, slept)
        record = logs.records[0]
        self.assertEqual((record.amp_status, record.amp_server_wait), (429, 2.0))  # type: ignore[attr-defined]
        self.assertNotIn(KEY, logs.output[0])

    def test_fractional_retry_after(self) -> None:
        self.serve(sequence(lambda _q, r: r.error(429, "RATE_LIMIT_EXCEEDED", "slow", {"retryAfter": 0.25}), ok))
        amp, slept = self.client()
        amp.get_context("u", "t")
        self.assertTrue(0.25 <= slept[0] <= 0.275, slept)

    def test_retry_after_header(self) -> None:
        self.serve(sequence(lambda _q, r: r.error(429, "RATE_LIMIT_EXCEEDED", "slow", headers={"Retry-After": "3"}), ok))
        amp, slept = self.client()
        amp.get_context("u", "t")
        self.assertTrue(3.0 <= slept[0] <= 3.3, slept)

    def test_retry_after_http_date_against_injected_clock(self) -> None:
        now = datetime(2024, 1, 15, 10, 30, tzinfo=timezone.utc).timestamp()
        self.serve(
            sequence(
                lambda _q, r: r.error(
                    503, "SERVICE_UNAVAILABLE", "down", headers={"Retry-After": "Mon, 15 Jan 2024 10:30:04 GMT"}
                ),
                ok,
            )
        )
        amp, slept = self.client(now=lambda: now)
        amp.get_context("u", "t")
        self.assertTrue(4.0 <= slept[0] <= 4.4, slept)

    def test_503_retried(self) -> None:
        self.serve(sequence(lambda _q, r: r.error(503, "SERVICE_UNAVAILABLE", "bye", headers={"Retry-After": "1"}), ok))
        amp, slept = self.client()
        amp.get_context("u", "t")
        self.assertEqual(len(self.requests), 2)
        self.assertGreaterEqual(slept[0], 1.0)

    def test_persistent_429_fails_after_max_retries_plus_one(self) -> None:
        self.serve(limited)
        amp, slept = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual(cm.exception.code, "RATE_LIMIT_EXCEEDED")
        self.assertEqual(cm.exception.details["retryAfter"], 2)
        self.assertEqual(len(self.requests), 3)
        self.assertEqual(len(slept), 2)

    def test_per_call_max_retries(self) -> None:
        self.serve(limited)
        amp, _ = self.client(max_retries=5)
        with self.assertRaises(AMPError):
            amp.get_context("u", "t", max_retries=1)
        self.assertEqual(len(self.requests), 2)

    def test_quota_exceeded_not_retried(self) -> None:
        self.serve(
            lambda _q, r: r.error(429, "QUOTA_EXCEEDED", "quota", {"limit": 100000, "period": "month", "resetsAt": "2024-02-01T00:00:00Z"})
        )
        amp, slept = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual(cm.exception.code, "QUOTA_EXCEEDED")
        self.assertEqual((len(self.requests), slept), (1, []))

    def test_server_wait_beyond_max_retry_after_not_slept(self) -> None:
        self.serve(sequence(lambda _q, r: r.error(429, "RATE_LIMIT_EXCEEDED", "slow", {"retryAfter": 120}), ok))
        amp, slept = self.client(max_retry_after=60)
        with self.assertRaises(AMPError):
            amp.get_context("u", "t")
        self.assertEqual((len(self.requests), slept), (1, []))

    def test_other_4xx_and_501_never_retried(self) -> None:
        for status, code in [
            (400, "INVALID_REQUEST"),
            (401, "UNAUTHORIZED"),
            (403, "FORBIDDEN"),
            (404, "NOT_FOUND"),
            (409, "OUTCOME_ALREADY_REPORTED"),
            (410, "REQUEST_EXPIRED"),
            (413, "PAYLOAD_TOO_LARGE"),
            (501, "NOT_IMPLEMENTED"),
        ]:
            with self.subTest(status=status):
                self.serve(lambda _q, r, s=status, c=code: r.error(s, c, "no", {"retryAfter": 0}, {"Retry-After": "0"}))
                amp, slept = self.client(max_retries=3)
                with self.assertRaises(AMPError) as cm:
                    amp.get_context("u", "t")
                self.assertEqual(cm.exception.status, status)
                self.assertEqual((len(self.requests), slept), (1, []))

    def test_500_exponential_backoff(self) -> None:
        self.serve(lambda _q, r: r.error(500, "INTERNAL_ERROR", "oops"))
        # random() = 0 gives the low end of each jitter window: half the ceiling.
        amp, slept = self.client(max_retries=3, retry_base_delay=0.1, retry_max_delay=10, random=lambda: 0.0)
        with self.assertRaises(AMPError):
            amp.get_context("u", "t")
        self.assertEqual(len(self.requests), 4)
        self.assertEqual(slept, [0.05, 0.1, 0.2])

    def test_backoff_capped_and_jitter_bounded(self) -> None:
        self.serve(lambda _q, r: r.error(502, "BAD_GATEWAY", "oops"))
        amp, low = self.client(max_retries=3, retry_base_delay=0.1, retry_max_delay=0.15, random=lambda: 0.0)
        with self.assertRaises(AMPError):
            amp.get_context("u", "t")
        self.assertEqual([round(x, 6) for x in low], [0.05, 0.075, 0.075])
        amp, high = self.client(max_retries=3, retry_base_delay=0.1, retry_max_delay=0.15, random=lambda: 0.999999)
        with self.assertRaises(AMPError):
            amp.get_context("u", "t")
        for got, ceiling in zip(high, [0.1, 0.15, 0.15]):
            self.assertTrue(ceiling * 0.99 < got <= ceiling, high)

    def test_dropped_connection(self) -> None:
        self.serve(sequence(lambda _q, r: r.drop(), ok))
        amp, _ = self.client()
        amp.get_context("u", "t")
        self.assertEqual(len(self.requests), 2)

        self.serve(lambda _q, r: r.drop())
        amp, _ = self.client(max_retries=0)
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual((cm.exception.code, cm.exception.status), ("CONNECTION_ERROR", None))

    def test_outcome_conflict_after_unknown_attempt_is_success(self) -> None:
        self.serve(
            sequence(
                lambda _q, r: r.error(500, "INTERNAL_ERROR", "lost the answer"),
                lambda _q, r: r.error(409, "OUTCOME_ALREADY_REPORTED", "already"),
            )
        )
        amp, _ = self.client()
        self.assertIsNone(amp.report_outcome("req_x", True))
        self.assertEqual(len(self.requests), 2)

    def test_outcome_conflict_after_429_is_a_real_duplicate(self) -> None:
        self.serve(sequence(limited, lambda _q, r: r.error(409, "OUTCOME_ALREADY_REPORTED", "already")))
        amp, _ = self.client()
        with self.assertRaises(AMPError) as cm:
            amp.report_outcome("req_x", True)
        self.assertEqual(cm.exception.code, "OUTCOME_ALREADY_REPORTED")

    def test_default_sleep_really_waits(self) -> None:
        self.serve(sequence(lambda _q, r: r.error(429, "RATE_LIMIT_EXCEEDED", "slow", {"retryAfter": 0.01}), ok))
        AMP(KEY, base_url=self.server.base_url).get_context("u", "t")
        self.assertEqual(len(self.requests), 2)


class TimeoutTest(_ServerTest):
    def test_hanging_server_times_out(self) -> None:
        self.serve(lambda _q, r: r.hang())
        amp, _ = self.client(timeout=0.05, max_retries=0)
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual((cm.exception.code, cm.exception.status), ("TIMEOUT", None))
        self.wait_for_requests(1)
        self.assertEqual(len(self.requests), 1)

    def test_timed_out_attempt_is_retried(self) -> None:
        # The server hangs until the client has started its retry wait, so
        # that thread scheduling cannot swap the two attempts.
        retrying = threading.Event()
        self.serve(lambda q, r: ok(q, r) if retrying.is_set() else r.hang())
        slept: List[float] = []

        def sleep(s: float) -> None:
            slept.append(s)
            retrying.set()

        # Long enough for the second attempt's real round trip on a busy machine.
        amp, _ = self.client(timeout=1.0, max_retries=1, sleep=sleep)
        self.assertEqual(amp.get_context("u", "t").request_id, "req_abc123")
        self.assertEqual(len(slept), 1)
        self.wait_for_requests(2)
        self.assertEqual(len(self.requests), 2)

    def test_stalled_body_times_out(self) -> None:
        self.serve(lambda _q, r: r.stall_body())
        amp, _ = self.client(timeout=0.05, max_retries=0)
        with self.assertRaises(AMPError) as cm:
            amp.get_context("u", "t")
        self.assertEqual(cm.exception.code, "TIMEOUT")

    def test_per_call_timeout(self) -> None:
        self.serve(lambda _q, r: r.hang())
        amp, _ = self.client(timeout=60, max_retries=0)
        with self.assertRaises(AMPError) as cm:
            amp.get_profile("u", timeout=0.03)
        self.assertEqual(cm.exception.code, "TIMEOUT")


if __name__ == "__main__":
    unittest.main()
