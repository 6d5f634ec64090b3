"""Unit tests of webhook signature verification, against signatures made
as the server makes them, and the server's own fixed vector."""

from __future__ import annotations

import hashlib
import hmac
import unittest

from amp_protocol import WebhookVerificationError, verify_webhook

BODY = '{"id":"evt_1","type":"key.quarantined","created":"2026-03-14T12:00:00Z","accountId":"acct_1","mode":"live","data":{}}'
T = 1773489600  # 2026-03-14T12:00:00Z


def sign(secret: str, ts: int, body: str) -> str:
    return hmac.new(secret.encode(), ("%d.%s" % (ts, body)).encode(), hashlib.sha256).hexdigest()


HEADER = "t=%d,v1=%s,v1=%s" % (T, sign("whsec_new", T, BODY), sign("whsec_old", T, BODY))


class VerifyWebhookTest(unittest.TestCase):
    def refused(self, reason: str, *args, **kwargs) -> None:
        with self.assertRaises(WebhookVerificationError) as cm:
            verify_webhook(*args, **kwargs)
        self.assertEqual(cm.exception.reason, reason)

    def test_either_secret_during_a_roll(self) -> None:
        for secret in ("whsec_new", "whsec_old"):
            ev = verify_webhook(BODY, HEADER, secret, now=T + 240)
            self.assertEqual(ev["id"], "evt_1")
        self.assertEqual(verify_webhook(BODY.encode(), HEADER, "whsec_new", now=T)["type"], "key.quarantined")

    def test_wrong_secret_or_altered_body(self) -> None:
        self.refused("signature", BODY, HEADER, "whsec_other", now=T)
        self.refused("signature", BODY.replace("evt_1", "evt_2"), HEADER, "whsec_new", now=T)

    def test_tolerance_window(self) -> None:
        self.refused("timestamp", BODY, HEADER, "whsec_new", now=T + 301)
        self.refused("timestamp", BODY, HEADER, "whsec_new", now=T - 301)
        self.refused("timestamp", BODY, HEADER, "whsec_new", tolerance=60, now=T + 61)

    def test_malformed_headers_and_moved_timestamp(self) -> None:
        self.refused("signature", BODY, "t=%d,v1=%s" % (T + 1, sign("whsec_new", T, BODY)), "whsec_new", now=T)
        for h in ("", "nonsense", "t=%d" % T, "v1=" + sign("whsec_new", T, BODY), "t=abc,v1=00", None):
            self.refused("header", BODY, h, "whsec_new", now=T)

    def test_server_vector(self) -> None:
        # The vector of internal/webhook's TestSignatureVector.
        body = '{"id":"evt_vector","type":"webhook.test","created":"2026-03-14T12:00:00Z","accountId":"acct_vector","mode":"test","data":{"endpointId":"we_vector","message":"hello"}}'
        header = "t=1773489600,v1=5e185148119a33984c9546a38235aca84e0ae5b1a3becf474c11124b585555c9"
        self.assertEqual(verify_webhook(body, header, "whsec_test_vector", now=1773489600)["id"], "evt_vector")
        self.refused("signature", body, header, "whsec_test_vectoR", now=1773489600)


if __name__ == "__main__":
    unittest.main()
