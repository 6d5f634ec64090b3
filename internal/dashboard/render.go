package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/amp-protocol/amp"
	"github.com/amp-protocol/amp/internal/httpx"
	"github.com/amp-protocol/amp/internal/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// assetVersions maps each static file to a hash of its content, appended to
// its URL so that browsers may cache it for good and still get a new file
// when the binary changes.
var assetVersions = func() map[string]string {
	v := make(map[string]string)
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		v[strings.TrimPrefix(p, "static/")] = hex.EncodeToString(sum[:6])
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("dashboard: static assets: %v", err))
	}
	return v
}()

func assetURL(name string) string {
	v, ok := assetVersions[name]
	if !ok {
		panic(fmt.Sprintf("dashboard: no static asset %q", name))
	}
	return Prefix + "/static/" + name + "?v=" + v
}

func staticHandler() http.Handler {
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err)
	}
	files := http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, Prefix+"/static/")
		if v, ok := assetVersions[name]; ok && r.URL.Query().Get("v") == v {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// pageData is what every page template gets.
type pageData struct {
	Title      string
	Section    string // the sidebar entry: keys, usage, profiles, plan, settings
	Mode       amp.Mode
	OtherMode  amp.Mode
	SwitchPath string // this page in the other mode
	User       *amp.DashboardUser
	Account    *amp.Account
	CSRF       string
	Flash      string
	Error      string
	Now        time.Time
	Status     int    // of error pages
	RequestID  string // of error pages, as in X-Request-Id and the access log
	// Can holds the permissions of the user's role (amp.Permission →
	// true), so that pages hide what the service would refuse.
	Can  map[string]bool
	Role amp.Role
	// Quarantined are the account's quarantined keys in the page's mode,
	// shown in a banner on every page.
	Quarantined []*amp.APIKey
	// Accounts are the accounts the user may switch to, when they are a
	// member of more than one (the header's account switcher).
	Accounts []service.Membership
	Data     any
}

// pages holds one template set per page, each with the shared layout.
type pages struct {
	sets map[string]*template.Template
}

var funcs = template.FuncMap{
	"asset":    assetURL,
	"modePath": func(m amp.Mode, page string) string { return modePath(m, page) },
	"ts":       fmtTime,
	"tsp": func(t *time.Time) string {
		if t == nil {
			return "—"
		}
		return fmtTime(*t)
	},
	"date": func(t time.Time) string { return t.UTC().Format("2 Jan 2006") },
	"ago":  ago,
	"agop": func(now time.Time, t *time.Time) string {
		if t == nil {
			return "never"
		}
		return ago(now, *t)
	},
	"pct":    func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"pct1":   func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + "%" },
	"num":    fmtNum,
	"fixed":  func(f float64, d int) string { return strconv.FormatFloat(f, 'f', d, 64) },
	"scopes": func(s []amp.Scope) string { return joinScopes(s) },
	"title":  titleCase,
	"label":  enumLabel,
	"yn": func(b *bool) string {
		switch {
		case b == nil:
			return "—"
		case *b:
			return "yes"
		}
		return "no"
	},
	"mulf": func(n int64, f float64) float64 { return float64(n) * f },
	"msf":  func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) },
	"dict": func(kv ...any) (map[string]any, error) {
		if len(kv)%2 != 0 {
			return nil, fmt.Errorf("dict: odd number of arguments")
		}
		m := make(map[string]any, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			k, ok := kv[i].(string)
			if !ok {
				return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
			}
			m[k] = kv[i+1]
		}
		return m, nil
	},
}

func parsePages() (*pages, error) {
	p := &pages{sets: make(map[string]*template.Template)}
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" || strings.HasPrefix(base, "partial_") {
			continue
		}
		// Partials (partial_*.html) define blocks the layout uses.
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partial_*.html", n)
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", base, err)
		}
		p.sets[base] = t
	}
	return p, nil
}

// execute renders page into a buffer first, so that a template error
// becomes a clean 500 instead of half a page.
func (p *pages) execute(name, layout string, data any) ([]byte, error) {
	t, ok := p.sets[name]
	if !ok {
		return nil, fmt.Errorf("dashboard: no template %q", name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, layout, data); err != nil {
		return nil, fmt.Errorf("dashboard: render %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// page builds the data of a signed-in page.
func (h *handler) page(rq *request, section, title string, data any) *pageData {
	other := amp.ModeLive
	if rq.mode == amp.ModeLive {
		other = amp.ModeTest
	}
	pd := &pageData{
		Title:       title,
		Section:     section,
		Mode:        rq.mode,
		OtherMode:   other,
		SwitchPath:  modePath(other, section),
		User:        rq.user,
		Account:     rq.account,
		CSRF:        rq.csrf,
		Now:         h.svc.Now(),
		Can:         can(rq.sess.Membership.Role),
		Role:        rq.sess.Membership.Role,
		Quarantined: rq.quarantined,
		Data:        data,
	}
	if len(rq.sess.Accounts) > 1 {
		pd.Accounts = rq.sess.Accounts
	}
	return pd
}

var allPermissions = []amp.Permission{amp.PermRead, amp.PermKeys, amp.PermProfiles, amp.PermAccount,
	amp.PermMembers, amp.PermAudit, amp.PermOwnership, amp.PermEnforce2FA, amp.PermWebhooks, amp.PermQuarantine}

func can(r amp.Role) map[string]bool {
	m := make(map[string]bool, len(allPermissions))
	for _, p := range allPermissions {
		m[string(p)] = r.Can(p)
	}
	return m
}

// render writes a signed-in page.
func (h *handler) render(w http.ResponseWriter, status int, name string, pd *pageData) error {
	b, err := h.pages.execute(name, "layout", pd)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b) // a client that went away is not an error of ours
	return nil
}

// renderAuth writes the sign-in or sign-up page, with the pre-session CSRF
// token of the browser.
func (h *handler) renderAuth(w http.ResponseWriter, r *http.Request, status int, name string, data *authPage) {
	title := "Sign in"
	if name == "signup" {
		title = "Create your account"
	}
	h.renderPublic(w, r, status, name, title, data, data.Error, data.Flash)
}

// renderPublic writes a page for browsers without a session (sign-in,
// sign-up, invitations, password resets), with the pre-session CSRF token.
func (h *handler) renderPublic(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, errMsg, flash string) {
	secret, err := h.preSessionSecret(w, r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	pd := &pageData{Title: title, Mode: amp.ModeTest, CSRF: csrfToken(secret), Now: h.svc.Now(), Data: data, Error: errMsg, Flash: flash}
	b, err := h.pages.execute(name, "auth", pd)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// renderError writes an error page: inside the dashboard's frame for a
// signed-in user (rq not nil), bare otherwise.
func (h *handler) renderError(w http.ResponseWriter, r *http.Request, rq *request, status int) {
	h.renderErrorMessage(w, r, rq, status, "")
}

// renderErrorMessage is renderError with a message for the user.
func (h *handler) renderErrorMessage(w http.ResponseWriter, r *http.Request, rq *request, status int, msg string) {
	title := http.StatusText(status)
	var pd *pageData
	if rq != nil {
		pd = h.page(rq, "", title, nil)
		pd.SwitchPath = modePath(pd.OtherMode, "keys")
	} else {
		pd = &pageData{Title: title, Mode: amp.ModeTest, Now: h.svc.Now()}
	}
	pd.Status = status
	pd.RequestID = httpx.FromContext(r.Context()).ID
	pd.Error = msg
	layout := "auth"
	if rq != nil {
		layout = "layout"
	}
	b, err := h.pages.execute("error", layout, pd)
	if err != nil {
		h.log.Error("dashboard: rendering an error page failed", "err", err)
		http.Error(w, title, status)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2 Jan 2006 15:04 UTC")
}

// ago describes how long before now t was, coarsely.
func ago(now, t time.Time) string {
	d := now.Sub(t)
	future := d < 0
	if future {
		d = -d
	}
	// The past rounds down ("2 hours ago" for 2 h 50 min); the future to
	// the nearest unit, so that a key made to last 90 days reads "in 90
	// days" right after, not 89.
	count := func(unit time.Duration) int {
		if future {
			return int((d + unit/2) / unit)
		}
		return int(d / unit)
	}
	var s string
	switch {
	case d < time.Minute:
		if future {
			return "in under a minute"
		}
		return "just now"
	case d < time.Hour:
		s = plural(count(time.Minute), "minute")
	case d < 48*time.Hour:
		s = plural(count(time.Hour), "hour")
	default:
		s = plural(count(24*time.Hour), "day")
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// fmtNum writes an integer with thin groups of three: 100000 → "100,000".
func fmtNum(v any) string {
	var n int64
	switch x := v.(type) {
	case int:
		n = int64(x)
	case int64:
		n = x
	case float64:
		n = int64(x)
	default:
		return fmt.Sprint(v)
	}
	neg := n < 0
	if neg {
		n = -n
	}
	s := strconv.FormatInt(n, 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

func joinScopes(s []amp.Scope) string {
	parts := make([]string, len(s))
	for i, sc := range s {
		parts[i] = string(sc)
	}
	return strings.Join(parts, ", ")
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// enumLabel turns a wire enum ("micro_task") into words ("Micro task").
func enumLabel(v any) string {
	s := fmt.Sprint(v)
	if s == "" {
		return "—"
	}
	return titleCase(strings.ReplaceAll(s, "_", " "))
}
