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
// # A thin front end
//
// The dashboard holds no business rule. Sign-up, sign-in, sessions,
// password changes and their throttling, key rules and usage reports are
// methods of internal/service, which the CLI and the API call too; a page
// handler checks its form's CSRF token, calls one service method and
// renders its answer, with the service's message for a refused input and
// the status of its code from the one table (internal/httpx). The
// dashboard imports only the root, internal/service and internal/httpx,
// and is mounted behind the API's middleware chain (internal/httpapi),
// which gives every dashboard request its X-Request-Id, its access-log line
// and its metrics by route pattern, and recovers a panic into the
// dashboard's own error page.
//
// # Security
//
// Passwords are hashed with argon2id (internal/password) by the service,
// which also throttles sign-in attempts (per typed email and client IP,
// per IP and per email; the client IP is the chain's, by the one
// trusted-proxy rule) except for a browser that signed in to the email
// before: the dashboard keeps the device token of its last sign-in in a
// long-lived cookie and hands it back, and the service gives it a budget
// of its own, so a guesser cannot lock the owner out (internal/service,
// throttle.go). The service also makes an unknown email cost the same
// verification as a wrong password and get the same page, and documents
// what sign-up with a taken email reveals (internal/service, users.go). Private deployments close sign-up
// (service.Config.AllowSignup) and add users with `amp users add`.
//
// A session is a 256-bit random token in an HttpOnly, SameSite=Lax cookie,
// Secure and __Host- prefixed when Config.Secure is set (TLS, directly or
// behind a proxy). The service keeps only the token's SHA-256, issues a new
// token at every sign-in and deletes the browser's previous session, which
// defeats session fixation, and ends sessions after their idle time or
// lifetime, at sign-out, and when the password changes (every session of
// the user ends; the browser that changed it gets a new one).
//
// Every form post carries a CSRF token, compared in constant time: an HMAC
// of the session token once signed in, and of a pre-session cookie on the
// sign-in and sign-up forms (which stops login CSRF). Posts are also
// refused when the browser says they come from another origin
// (net/http.CrossOriginProtection: Sec-Fetch-Site, else Origin against
// Host). Pages carry a Content-Security-Policy without 'unsafe-inline', and
// are never framed or cached.
//
// Every page of a signed-in user acts for the account of the session's
// membership only, in the page's mode: the service looks keys up among the
// account's keys in that mode, profiles in the account's tenant of that
// mode and usage by the account's id, so another account's ids behave
// exactly like ids that do not exist. A key is created in the page's mode.
//
// # Accessibility
//
// Every control has a label, focus is always visible, a skip link leads to
// the content, colours meet WCAG AA contrast, charts are labelled images
// with their numbers in tables, and the layout reflows to a single column
// at phone width. The browser test checks these on every page.
package dashboard
