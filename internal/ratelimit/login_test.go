package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/amp-protocol/amp/internal/ratelimit"
)

// flood plays a guesser failing at one email as fast as the throttle lets
// it (4.6 tries a second, spread over the addresses ips) for three minutes,
// with the owner trying every 5 s as owner says; it returns how many of the
// owner's tries the throttle let through.
func flood(t *testing.T, l *ratelimit.LoginThrottle, ips func(i int) string, owner ratelimit.LoginAttempt) (through, tries int) {
	t.Helper()
	now := time.Unix(1700000000, 0)
	const email = "owner@example.com"
	step := time.Second * 10 / 46
	nextOwner := now
	for i := 0; i < 46*18; i++ {
		now = now.Add(step)
		a := ratelimit.LoginAttempt{Email: email, IP: ips(i)}
		if l.Wait(a, now) == 0 {
			l.Fail(a, now)
		}
		if !now.Before(nextOwner) {
			tries++
			if l.Wait(owner, now) == 0 {
				through++
				owner.Device = l.Succeed(owner, now)
			}
			nextOwner = now.Add(5 * time.Second)
		}
	}
	return through, tries
}

func TestLoginThrottleSparesTheOwner(t *testing.T) {
	const email = "owner@example.com"
	oneIP := func(int) string { return "203.0.113.66" }
	manyIPs := func(i int) string { return fmt.Sprintf("198.51.%d.%d", i/250, i%250) }

	t.Run("KnownDeviceAgainstABotnet", func(t *testing.T) {
		l := ratelimit.NewLoginThrottle(nil, nil)
		now := time.Unix(1699999000, 0)
		dev := l.Succeed(ratelimit.LoginAttempt{Email: email, IP: "192.0.2.1"}, now)
		through, tries := flood(t, l, manyIPs, ratelimit.LoginAttempt{Email: email, IP: "192.0.2.1", Device: dev})
		if through != tries {
			t.Errorf("the owner's known browser got through %d of %d times under a spread-out flood, want every time", through, tries)
		}
	})
	t.Run("KnownDeviceBehindTheAttackersNAT", func(t *testing.T) {
		l := ratelimit.NewLoginThrottle(nil, nil)
		now := time.Unix(1699999000, 0)
		dev := l.Succeed(ratelimit.LoginAttempt{Email: email, IP: "203.0.113.66"}, now)
		through, tries := flood(t, l, oneIP, ratelimit.LoginAttempt{Email: email, IP: "203.0.113.66", Device: dev})
		if through != tries {
			t.Errorf("the owner's known browser behind the guesser's address got through %d of %d times, want every time", through, tries)
		}
	})
	t.Run("NewDeviceElsewhere", func(t *testing.T) {
		l := ratelimit.NewLoginThrottle(nil, nil)
		through, tries := flood(t, l, oneIP, ratelimit.LoginAttempt{Email: email, IP: "192.0.2.1"})
		if through != tries {
			t.Errorf("the owner on a new browser at another address got through %d of %d times, want every time", through, tries)
		}
	})
	t.Run("GuesserSlowed", func(t *testing.T) {
		l := ratelimit.NewLoginThrottle(nil, nil)
		now := time.Unix(1700000000, 0)
		a := ratelimit.LoginAttempt{Email: email, IP: "203.0.113.66"}
		fails := 0
		for i := 0; i < 46*180; i++ { // 30 minutes at 4.6 a second
			now = now.Add(time.Second * 10 / 46)
			if l.Wait(a, now) == 0 {
				l.Fail(a, now)
				fails++
			}
		}
		// The pair's burst, then one a minute.
		if want := ratelimit.PairBurst + 30; fails > want+1 {
			t.Errorf("one address made %d guesses in 30 minutes, want at most %d", fails, want)
		}
		// A spread-out guesser is held to the email's budget.
		l = ratelimit.NewLoginThrottle(nil, nil)
		fails = 0
		for i := 0; i < 46*180; i++ {
			now = now.Add(time.Second * 10 / 46)
			b := ratelimit.LoginAttempt{Email: email, IP: manyIPs(i)}
			if l.Wait(b, now) == 0 {
				l.Fail(b, now)
				fails++
			}
		}
		if want := ratelimit.EmailBurst + 90; fails > want+1 {
			t.Errorf("a botnet made %d guesses in 30 minutes, want at most %d", fails, want)
		}
	})
	t.Run("TokensAreBoundToEmailAndKey", func(t *testing.T) {
		l := ratelimit.NewLoginThrottle([]byte("key one"), nil)
		now := time.Unix(1700000000, 0)
		dev := l.Succeed(ratelimit.LoginAttempt{Email: email, IP: "192.0.2.1"}, now)
		// The token is no help against another account: that one's pair
		// budget runs out as usual.
		other := ratelimit.LoginAttempt{Email: "victim@example.com", IP: "192.0.2.1", Device: dev}
		for range ratelimit.PairBurst {
			l.Fail(other, now)
		}
		if l.Wait(other, now) == 0 {
			t.Error("a device token of another email bypassed the pair budget")
		}
		// Another key does not accept it.
		l2 := ratelimit.NewLoginThrottle([]byte("key two"), nil)
		a := ratelimit.LoginAttempt{Email: email, IP: "192.0.2.9", Device: dev}
		for range ratelimit.PairBurst {
			l2.Fail(a, now)
		}
		if l2.Wait(a, now) == 0 {
			t.Error("a token signed with another key was accepted")
		}
		// A forged or mangled token is ignored, not an error.
		for _, bad := range []string{"x", dev[:len(dev)-2] + "AA", string(make([]byte, 200))} {
			l.Wait(ratelimit.LoginAttempt{Email: email, IP: "192.0.2.1", Device: bad}, now)
		}
	})
}
