package httpx

import "path"

// CleanPath is the canonical form of a URL path, as net/http's ServeMux
// computes it: "." and ".." resolved, repeated slashes merged, a trailing
// slash kept. The chain answers a path that is not canonical itself (a
// 404 in the front end's format) instead of letting a mux redirect it.
func CleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}
