// Package dashboard is AMP's web dashboard, served by `amp serve` under
// /dashboard/ next to the API: sign-up and sign-in, API keys, usage,
// profiles, the plan and the account's settings, for one account per user,
// with a test/live switch on every page.
//
// # Pages
//
// Pages are rendered on the server with html/template from templates
// embedded in the binary, with one stylesheet and one small script (the
// copy button) embedded too, so the dashboard works without network access
// and without JavaScript. Charts are inline SVG drawn in Go (charts.go).
// Every signed-in page exists once per mode, with the mode in its path
// (/dashboard/test/keys, /dashboard/live/keys): a tab keeps the mode it
// shows, and forms post to the mode they were rendered in. The root
// /dashboard/ sends a signed-in user to the mode used last (a cookie) and
// anyone else to the sign-in page. Whether "/" redirects to /dashboard/ is
// the server's choice, not this package's.
//
// # Security
//
// Passwords are hashed with argon2id (golang.org/x/crypto/argon2) in PHC
// string form, with DefaultPasswordParams (OWASP's 19 MiB, 2 passes,
// 1 lane) unless configured; hashes made with older parameters are replaced
// at the next sign-in. At most GOMAXPROCS hashes run at once, so a flood of
// sign-ins queues instead of exhausting memory.
//
// A session is a 256-bit random token in an HttpOnly, SameSite=Lax cookie,
// Secure and __Host- prefixed when Config.Secure is set (TLS, directly or
// behind a proxy). The store keeps only the token's SHA-256. Every sign-in
// issues a new token and deletes the browser's previous session, which
// defeats session fixation. Sessions end after SessionIdle without a
// request or SessionLifetime after sign-in, at sign-out, and when the
// password changes (every session of the user ends; the browser that
// changed it gets a new one).
//
// Every form post carries a CSRF token, compared in constant time: an HMAC
// of the session token once signed in, and of a pre-session cookie on the
// sign-in and sign-up forms (which stops login CSRF). Posts are also
// refused when the browser says they come from another origin
// (net/http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
// Host). Pages carry a Content-Security-Policy without 'unsafe-inline', and
// are never framed or cached.
//
// Sign-in attempts are throttled by ratelimit.LoginThrottle on the injected
// clock (throttle.go): per typed email and client IP, per IP and per email,
// except that a browser holding the device cookie of an earlier sign-in to
// the email has a budget of its own, so a guesser cannot lock the owner
// out; an unknown email costs
// the same argon2id verification as a wrong password, and gets the same
// page, so neither the answer nor its timing says whether an account
// exists. Sign-up with a taken email cannot be made indistinguishable from
// success without email; auth.go documents the behaviour chosen. Private
// deployments turn sign-up off (Config.AllowSignup) and add users with
// AddUser.
//
// Every page of a signed-in user acts for that user's account only: keys
// are looked up among the account's keys in the page's mode, profiles in
// the account's tenant of that mode, usage by the account's id, so another
// account's ids behave exactly like ids that do not exist.
//
// # Accessibility
//
// Every control has a label, focus is always visible, a skip link leads to
// the content, colours meet WCAG AA contrast, charts are labelled images
// with their numbers in tables, and the layout reflows to a single column
// at phone width. The browser test checks these on every page.
package dashboard
