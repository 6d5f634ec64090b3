package dashboard

import "net/http"

// Post, redirect, get for what a page shows only once (a new key's
// secret, an invitation link, recovery codes): the post that makes it
// puts it in a cookie scoped to the one page that shows it, and redirects
// there; that page takes it and clears the cookie. A reload of the page
// repeats nothing and shows the secret no more. The cookie is HttpOnly,
// SameSite=Strict, Secure when the dashboard is, and lives two minutes at
// most: long enough for the redirect, not for a forgotten tab.
const onceMaxAge = 120

// setOnce hands value to the page at path.
func (h *handler) setOnce(w http.ResponseWriter, name, value, path string) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: onceMaxAge,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
}

// takeOnce returns what setOnce handed to the page at path ("" if
// nothing), and clears it.
func (h *handler) takeOnce(w http.ResponseWriter, r *http.Request, name, path string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: name, Path: path, MaxAge: -1,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteStrictMode})
	return c.Value
}
