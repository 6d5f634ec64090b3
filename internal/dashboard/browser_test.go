package dashboard_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/dashboard"
)

// The end-to-end test drives the dashboard in headless Chromium, as a user
// would: sign up, create a test key with the keyboard, copy it with the
// button, call the API with it, see the request on the Usage page, roll and
// revoke it, look up and erase a profile. Every page is screenshot at
// desktop and phone width into a directory it logs (AMP_SCREENSHOT_DIR, or a
// new temporary one), and passes an accessibility audit at both widths:
// labelled controls, named buttons and links, one h1, a skip link, unique
// ids, labelled charts, WCAG AA text contrast, no horizontal scrolling at
// phone width, and a visible keyboard focus.

// browserSetup skips the test without Chromium or with -short, and
// returns Chromium's path and the folder for the test's screenshots:
// $AMP_SCREENSHOT_DIR, or a new temporary folder named after prefix.
func browserSetup(t *testing.T, prefix string) (path, dir string) {
	t.Helper()
	if path = chromiumPath(); path == "" {
		t.Skip("no chromium found (install it with apt-get install chromium, or set AMP_CHROMIUM): the browser test needs a real browser")
	}
	if testing.Short() {
		t.Skip("the browser test starts Chromium")
	}
	if dir = os.Getenv("AMP_SCREENSHOT_DIR"); dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", prefix); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)
	return path, dir
}

// chromiumPath finds the browser, or "" when there is none.
func chromiumPath() string {
	if p := os.Getenv("AMP_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// viewports are the widths every page is checked at.
var viewports = []struct {
	name          string
	width, height int64
	mobile        bool
}{
	{"desktop", 1280, 900, false},
	{"phone", 390, 844, true},
}

// a11yAudit returns the accessibility problems of the current page.
const a11yAudit = `(() => {
  const problems = [];
  const visible = el => {
    if (el.closest('.visually-hidden, [hidden]')) return false;
    if (!el.getClientRects().length) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none';
  };
  const describe = el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.name ? '[name=' + el.name + ']' : '');
  for (const el of document.querySelectorAll('input, select, textarea')) {
    if (el.type === 'hidden' || el.hidden) continue;
    const labelled = (el.labels && [...el.labels].some(l => l.textContent.trim())) ||
      el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
    if (!labelled) problems.push('unlabelled control ' + describe(el));
  }
  for (const el of document.querySelectorAll('button, a[href]')) {
    if (visible(el) && !(el.textContent.trim() || el.getAttribute('aria-label'))) problems.push('nameless ' + describe(el));
  }
  if (!document.documentElement.lang) problems.push('no lang on html');
  if (!document.title.trim()) problems.push('no title');
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) problems.push(h1s.length + ' h1 elements');
  if (!document.querySelector('main#main')) problems.push('no main#main');
  if (!document.querySelector('a.skip-link[href="#main"]')) problems.push('no skip link');
  const ids = new Set();
  for (const el of document.querySelectorAll('[id]')) {
    if (ids.has(el.id)) problems.push('duplicate id ' + el.id);
    ids.add(el.id);
  }
  for (const svg of document.querySelectorAll('svg')) {
    if (svg.getAttribute('role') !== 'img' || !svg.querySelector('title') || !svg.getAttribute('aria-labelledby')) problems.push('chart without role=img and a title');
  }
  const parse = c => {
    const m = c.match(/rgba?\(([^)]+)\)/);
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  };
  const lum = c => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
    return 0.2126 * f(c.r) + 0.7152 * f(c.g) + 0.0722 * f(c.b);
  };
  const background = el => {
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0.5) return c;
    }
    return {r: 255, g: 255, b: 255, a: 1};
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const text = walker.currentNode.textContent.trim();
    const el = walker.currentNode.parentElement;
    if (!text || !el || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('svg, script, style, option, meter, .skip-link') || !visible(el)) continue;
    const s = getComputedStyle(el);
    const fg = parse(s.color), bg = background(el);
    if (!fg) continue;
    const l1 = lum(fg), l2 = lum(bg);
    const ratio = (Math.max(l1, l2) + 0.05) / (Math.min(l1, l2) + 0.05);
    const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
    const need = (size >= 24 || (bold && size >= 18.66)) ? 3 : 4.5;
    if (ratio < need) problems.push('contrast ' + ratio.toFixed(2) + ' below ' + need + ' for "' + text.slice(0, 40) + '" (' + s.color + ' on rgb(' + bg.r + ', ' + bg.g + ', ' + bg.b + '))');
  }
  if (document.documentElement.scrollWidth > window.innerWidth + 1) {
    problems.push('horizontal scrolling: the page is ' + document.documentElement.scrollWidth + 'px wide in a ' + window.innerWidth + 'px viewport');
  }
  return problems;
})()`

// navAudit returns the problems of the page's navigation at phone width:
// the dashboard's links must sit on one row (the row is no taller than
// its tallest link), and the current page's link must be in view. It
// waits two frames first: the page's resize handler, which brings that
// link into view after the viewport changed, runs before them.
const navAudit = `(async () => {
  await new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const problems = [];
  const nav = document.querySelector('nav.sidebar');
  if (!nav) return problems;
  const row = nav.querySelector('ul');
  const links = [...row.querySelectorAll('a')];
  const tallest = Math.max(...links.map(a => a.getBoundingClientRect().height));
  const h = row.getBoundingClientRect().height;
  if (h > tallest * 1.5) problems.push('the navigation is ' + h.toFixed(0) + 'px tall, more than one row of ' + tallest.toFixed(0) + 'px links');
  const tops = new Set(links.map(a => Math.round(a.getBoundingClientRect().top)));
  if (tops.size !== 1) problems.push('the navigation links sit on ' + tops.size + ' rows');
  const inView = a => {
    const r = a.getBoundingClientRect(), v = row.getBoundingClientRect();
    return r.left >= v.left - 1 && r.right <= v.right + 1;
  };
  const cur = row.querySelector('a[aria-current=page]');
  if (cur && !inView(cur)) problems.push('the current page\'s link "' + cur.textContent.trim() + '" is scrolled out of view');
  // Every link is a Tab away and comes into view when focused: the last
  // one, here; focus and scroll are put back afterwards.
  const last = links[links.length - 1], before = document.activeElement, left = row.scrollLeft;
  last.focus();
  await new Promise(r => requestAnimationFrame(r));
  if (document.activeElement !== last) problems.push('the last navigation link takes no focus');
  else if (!inView(last)) problems.push('the focused link "' + last.textContent.trim() + '" stays out of view');
  last.blur();
  if (before && before.focus) before.focus({preventScroll: true});
  row.scrollLeft = left;
  return problems;
})()`

// keyboardAudit checks, from a freshly loaded page, that the first Tab
// lands on the skip link with a visible focus ring. The caller then presses
// Enter and checks where focus went.
const focusState = `(() => {
  const el = document.activeElement;
  const s = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(), id: el.id || '', cls: el.className || '',
    focusVisible: el.matches(':focus-visible'),
    outline: s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2,
    hash: location.hash,
  };
})()`

type focus struct {
	Tag          string `json:"tag"`
	ID           string `json:"id"`
	Cls          string `json:"cls"`
	FocusVisible bool   `json:"focusVisible"`
	Outline      bool   `json:"outline"`
	Hash         string `json:"hash"`
}

type browserRun struct {
	t    *testing.T
	ctx  context.Context
	e    *env
	dir  string
	shot int
}

func (b *browserRun) do(what string, steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func eval[T any](b *browserRun, what, js string, opts ...chromedp.EvaluateOption) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js, opts...))
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browserRun) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *browserRun) open(path string, waitFor string) {
	b.t.Helper()
	b.do("open "+path, chromedp.Navigate(b.e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS(waitFor)))
}

// page screenshots the current page at every width and audits it.
func (b *browserRun) page(name string) {
	b.t.Helper()
	b.shot++
	for _, vp := range viewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		b.do("viewport "+vp.name, chromedp.EmulateViewport(vp.width, vp.height, opts...))
		for _, p := range eval[[]string](b, "audit "+name, a11yAudit) {
			b.t.Errorf("%s (%s): %s", name, vp.name, p)
		}
		if vp.mobile {
			for _, p := range eval[[]string](b, "navigation of "+name, navAudit, chromedp.EvalAwaitPromise) {
				b.t.Errorf("%s (%s): %s", name, vp.name, p)
			}
		}
		png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100)) // 100 gives a PNG, less a JPEG
		if err != nil {
			b.t.Fatalf("screenshot %s: %v", name, err)
		}
		file := filepath.Join(b.dir, fmt.Sprintf("%02d-%s-%s.png", b.shot, name, vp.name))
		if err := os.WriteFile(file, png, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
	b.do("desktop", chromedp.EmulateViewport(viewports[0].width, viewports[0].height))
}

// keyboard checks that the first Tab of the page at path lands on the skip
// link with a visible focus ring and that Enter on it moves focus to main.
func (b *browserRun) keyboard(path, waitFor string) {
	b.t.Helper()
	b.open(path, waitFor)
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	f := eval[focus](b, "focus", focusState)
	if !strings.Contains(f.Cls, "skip-link") || !f.FocusVisible || !f.Outline {
		b.t.Errorf("%s: the first Tab focuses %+v, want the skip link with a visible outline", path, f)
	}
	b.do("enter", chromedp.KeyEvent(kb.Enter))
	f = eval[focus](b, "focus", focusState)
	if f.Hash != "#main" || f.ID != "main" {
		b.t.Errorf("%s: after the skip link focus is on %+v, want main#main", path, f)
	}
	// The next Tab reaches the first control of the page's content.
	b.do("tab", chromedp.KeyEvent(kb.Tab))
	f = eval[focus](b, "focus", focusState)
	if f.Tag == "body" || !f.FocusVisible || !f.Outline {
		b.t.Errorf("%s: Tab after the skip link focuses %+v, want a control with a visible outline", path, f)
	}
}

func TestBrowserEndToEnd(t *testing.T) {
	path, dir := browserSetup(t, "amp-dashboard-screenshots-")

	// The learning card's numbers come from the evaluation package, tested
	// there; here a fixed measure shows how the card renders.
	e := newEnv(t, withDashboard(func(c *dashboard.Config) {
		c.Lift = func(context.Context, amp.Tenant, time.Time) (*dashboard.Lift, error) {
			return &dashboard.Lift{TreatedOutcomes: 1840, HoldoutOutcomes: 212, TreatedRate: 0.64, HoldoutRate: 0.52, Lift: 0.12, Low: 0.05, High: 0.19}, nil
		}
	}))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	// A guard against a hung browser, not an assertion about speed.
	ctx, cancelTimeout := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelTimeout()
	b := &browserRun{t: t, ctx: ctx, e: e, dir: dir}

	// Sign up.
	b.open("/dashboard/signup", "#email")
	b.page("signup")
	b.do("sign up",
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#account_name"), "Analytical Engines"),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("#key-name")),
	)
	if got := b.text(".flash"); !strings.Contains(got, "Welcome to AMP") {
		t.Errorf("after sign-up the flash says %q", got)
	}
	b.page("keys-empty")
	b.keyboard("/dashboard/test/keys", "#key-name")

	// Create a test key with the keyboard only: type the name, Enter.
	b.open("/dashboard/test/keys", "#key-name")
	b.do("create key",
		chromedp.Focus(chromedp.CSS("#key-name")),
		chromedp.KeyEvent("e2e key"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#secret-key")),
	)
	shown, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-key")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := amp.ParseKey(shown); err != nil || !strings.HasPrefix(shown, "amp_sk_test_") {
		t.Fatalf("the page shows %q as the new key: %v", shown, err)
	}

	// Copy it with the button, and read the clipboard back.
	for _, perm := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := chromedp.CallBrowser(ctx, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: perm, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted,
			Origin:     e.srv.URL,
		}); err != nil {
			t.Fatalf("grant %s: %v", perm, err)
		}
	}
	b.do("copy", chromedp.Click(chromedp.CSS("button[data-copy]")))
	copied, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById("copy-status").textContent.includes("Copied")`))
	if err != nil || !copied {
		t.Fatalf("the copy button did not report success: %v (status %q)", err, b.text("#copy-status"))
	}
	clip := eval[string](b, "read clipboard", `navigator.clipboard.readText()`, chromedp.EvalAwaitPromise)
	if clip != shown {
		t.Fatalf("clipboard holds %q, want the key shown %q", clip, shown)
	}
	b.page("key-created")

	// Call the API with the copied key.
	status, body := e.api("POST", "/v1/context", clip, "203.0.113.8", contextBody("customer-42"))
	if status != http.StatusOK {
		t.Fatalf("/v1/context with the copied key: %d %s", status, body)
	}
	var cres struct{ RequestID string }
	if err := json.Unmarshal([]byte(body), &cres); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	out := fmt.Sprintf(`{"requestId": %q, "started": true, "completed": true, "timeToStart": 4, "flowState": true, "satisfaction": 0.9}`, cres.RequestID)
	if status, body := e.api("POST", "/v1/outcome", clip, "203.0.113.8", out); status != http.StatusOK {
		t.Fatalf("/v1/outcome: %d %s", status, body)
	}
	e.flush()

	// The Usage page shows the requests.
	b.open("/dashboard/test/usage", "#usage-requests")
	if got := b.text("#usage-requests"); got != "2" {
		t.Errorf("the Usage page counts %s requests, want 2 (the context and the outcome)", got)
	}
	if got := b.text("#usage-keys"); !strings.Contains(got, "e2e key") {
		t.Errorf("the per-key table lacks the key: %q", got)
	}
	if got := b.text("main"); !strings.Contains(got, "POST /v1/context") || !strings.Contains(got, "FR") {
		t.Errorf("the Usage page lacks the route or the country of the request")
	}
	b.page("usage")
	b.open("/dashboard/test/keys", "#key-name")
	b.page("keys")

	// Roll it with no grace: the old key is refused at once.
	b.do("roll", chromedp.Click(chromedp.CSS(`a[href$="/roll"]`)), chromedp.WaitVisible(chromedp.CSS(`input[name="grace"]`)))
	b.page("roll")
	b.do("roll now",
		chromedp.Click(chromedp.CSS(`input[name="grace"][value="0"]`)),
		chromedp.Click(chromedp.CSS(`button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS("#secret-key")),
	)
	rolled, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-key")))
	if err != nil || rolled == shown {
		t.Fatalf("the roll shows %q: %v", rolled, err)
	}
	b.page("key-rolled")
	status, body = e.api("POST", "/v1/context", shown, "203.0.113.8", contextBody("customer-42"))
	if status != http.StatusUnauthorized || !strings.Contains(body, amp.CodeKeyExpired) {
		t.Errorf("the old key after a roll without grace: %d %s, want 401 KEY_EXPIRED", status, body)
	}
	e.clock.Advance(time.Second)
	if status, body := e.api("POST", "/v1/context", rolled, "203.0.113.8", contextBody("customer-42")); status != http.StatusOK {
		t.Errorf("the rolled key: %d %s", status, body)
	}

	// Revoke the new key, after the confirmation page.
	b.open("/dashboard/test/keys", "#key-name")
	b.do("revoke", chromedp.Click(chromedp.CSS(`a[href$="/revoke"]`)), chromedp.WaitVisible(chromedp.CSS(`button.danger-solid`)))
	b.page("revoke")
	b.do("confirm revoke", chromedp.Click(chromedp.CSS(`button.danger-solid`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := b.text(".flash"); !strings.Contains(got, "revoked") {
		t.Errorf("after revoking the flash says %q", got)
	}
	for _, k := range []string{shown, rolled} {
		if status, body := e.api("POST", "/v1/context", k, "203.0.113.8", contextBody("customer-42")); status != http.StatusUnauthorized {
			t.Errorf("a revoked or expired key: %d %s, want 401", status, body)
		}
	}
	b.page("keys-after-revoke")

	// Profiles: look the user up, see it, erase it.
	b.open("/dashboard/test/profiles", "#user-id")
	b.page("profiles")
	b.do("look up",
		chromedp.SendKeys(chromedp.CSS("#user-id"), "customer-42"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#strengths")),
	)
	if got := b.text("main"); !strings.Contains(got, "Cold start") || !strings.Contains(got, "Learned preference strengths") {
		t.Errorf("the profile page lacks its phase or chart")
	}
	b.page("profile")
	b.do("erase", chromedp.Click(chromedp.CSS(`a.button.danger`)), chromedp.WaitVisible(chromedp.CSS(`button.danger-solid`)))
	b.page("profile-erase")
	b.do("confirm erase", chromedp.Click(chromedp.CSS(`button.danger-solid`)), chromedp.WaitVisible(chromedp.CSS(".flash")))

	// Learning lift, once a holdout is set.
	b.open("/dashboard/test/settings", "#holdout")
	b.page("settings")
	b.do("set a holdout",
		chromedp.SetValue(chromedp.CSS("#holdout"), ""),
		chromedp.SendKeys(chromedp.CSS("#holdout"), "10"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".flash")),
	)
	b.open("/dashboard/test/profiles", "#user-id")
	if got := b.text("#learning + figure, main"); !strings.Contains(got, "12.0 percentage points more often") {
		t.Errorf("the learning card lacks the lift")
	}
	b.page("profiles-lift")
	b.open("/dashboard/test/plan", "main h1")
	b.page("plan")

	// The test/live switch is on every page.
	b.do("switch to live", chromedp.Click(chromedp.CSS(`.mode-switch a.mode-live`)), chromedp.WaitVisible(chromedp.CSS(`.mode-banner.live`)))
	if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/dashboard/live/plan") {
		t.Errorf("the live switch on the plan page leads to %s", loc)
	}
	b.open("/dashboard/live/keys", "#key-name")
	b.page("keys-live")
	b.open("/dashboard/live/usage", "main h1")
	b.page("usage-live-empty")
	b.open("/dashboard/test/nothing-here", "main h1")
	b.page("not-found")

	// A live key with a week of steady traffic from France, then a burst
	// from Brazil: the Usage page marks both and the key gets a warning.
	b.open("/dashboard/live/keys", "#key-name")
	b.do("create live key",
		chromedp.SendKeys(chromedp.CSS("#key-name"), "production"),
		chromedp.Click(chromedp.CSS(`button[type="submit"].primary`)),
		chromedp.WaitVisible(chromedp.CSS("#secret-key")),
	)
	live, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#secret-key")))
	if err != nil {
		t.Fatal(err)
	}
	for range 7 * 24 {
		e.clock.Advance(time.Hour)
		e.api("POST", "/v1/context", live, "203.0.113.5", contextBody("steady-user"))
		e.flush()
	}
	for range 80 {
		e.clock.Advance(150 * time.Millisecond)
		e.api("POST", "/v1/context", live, "198.51.100.9", contextBody("burst-user"))
	}
	e.api("POST", "/v1/context", live, "198.51.100.9", `{"userId": ""}`)
	e.flush()
	// A week later the session has ended: the page asks to sign in again and
	// comes back.
	b.open("/dashboard/live/usage", "#email")
	b.do("sign in again",
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#alerts")),
	)
	if got := b.text("main"); !strings.Contains(got, "a country the key had never used") || !strings.Contains(got, "New: BR") {
		t.Errorf("the Usage page does not flag the new country")
	}
	b.page("usage-flags")
	b.open("/dashboard/live/keys", "#key-name")
	if got := b.text("table.keys"); !strings.Contains(got, "Possible leak") {
		t.Errorf("the keys page shows no leak warning: %q", got)
	}
	b.page("keys-leak-warning")

	// Sign out, and the sign-in page with a failed attempt.
	b.open("/dashboard/test/keys", "#key-name")
	b.do("sign out", chromedp.Click(chromedp.CSS(`.who button`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	b.page("login")
	b.do("failed sign-in",
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), "not my password"),
		chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS(".error-box")),
	)
	b.page("login-failed")
	b.keyboard("/dashboard/login", "#email")
}
