package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// hostileTimeout bounds each hostile request. It is no speed assertion:
// an answer takes milliseconds, and only a server that hangs (keeps
// reading, or never answers) reaches it.
const hostileTimeout = 20 * time.Second

// hostileRequest is one request of the hostile-input suite.
type hostileRequest struct {
	name   string
	method string
	path   string
	header map[string]string
	body   string
	// want is the status expected, when one is; every request must at
	// least be answered below 500.
	want int
}

// hostileRequests are malformed and oversized JSON, invalid UTF-8, NUL,
// lone surrogates, deep nesting, huge numbers, odd headers and methods.
func hostileRequests(key string) []hostileRequest {
	auth := map[string]string{"Authorization": "Bearer " + key, "Content-Type": "application/json"}
	deep := strings.Repeat(`{"a":`, 20000) + "1" + strings.Repeat("}", 20000)
	deepArr := strings.Repeat("[", 30000) + strings.Repeat("]", 30000)
	var rs []hostileRequest
	ctx := func(name, body string, want int) {
		rs = append(rs, hostileRequest{name: "context/" + name, method: "POST", path: "/v1/context", header: auth, body: body, want: want})
	}
	outcome := func(name, body string, want int) {
		rs = append(rs, hostileRequest{name: "outcome/" + name, method: "POST", path: "/v1/outcome", header: auth, body: body, want: want})
	}
	profile := func(name, path, body string, want int) {
		rs = append(rs, hostileRequest{name: "profile/" + name, method: "PUT", path: "/v1/profile/" + path, header: auth, body: body, want: want})
	}
	ctx("NULInUserID", `{"userId":"a\u0000b","task":"t"}`, 400)
	ctx("InvalidUTF8InUserID", "{\"userId\":\"a\xffb\",\"task\":\"t\"}", 400)
	ctx("LoneSurrogateInUserID", `{"userId":"a\ud800","task":"t"}`, 400)
	ctx("NULInTask", `{"userId":"u","task":"x\u0000"}`, 400)
	ctx("InvalidUTF8InTask", "{\"userId\":\"u\",\"task\":\"\xc3\"}", 400)
	ctx("NULInTaskType", `{"userId":"u","task":"t","taskType":"\u0000"}`, 400)
	ctx("NULInMetadata", `{"userId":"u","task":"t","metadata":{"k":"\u0000"}}`, 400)
	ctx("NULInMetadataKey", `{"userId":"u","task":"t","metadata":{"\u0000":1}}`, 400)
	ctx("InvalidUTF8InMetadata", "{\"userId\":\"u\",\"task\":\"t\",\"metadata\":{\"k\":\"\xed\xa0\x80\"}}", 400)
	ctx("NULInUnknownField", `{"userId":"u","task":"t","extra":"\u0000"}`, 400)
	ctx("Empty", ``, 400)
	ctx("Truncated", `{"userId":"u","task":`, 400)
	ctx("Array", `[]`, 400)
	ctx("Null", `null`, 400)
	ctx("String", `"x"`, 400)
	ctx("Trailing", `{"userId":"u","task":"t"} {}`, 400)
	ctx("DeepObject", deep[:min(len(deep), 60000)], 400)
	ctx("DeepMetadata", `{"userId":"u","task":"t","metadata":`+deepArr[:30000]+deepArr[30000:]+`}`, 400)
	ctx("HugeNumberType", `{"userId":"u","task":"t","complexity":1e999999}`, 400)
	ctx("HugeNumberMetadata", `{"userId":"u","task":"t","metadata":{"n":1e999999}}`, 0)
	ctx("Oversized", `{"userId":"u","task":"`+strings.Repeat("x", 70<<10)+`"}`, 413)
	ctx("WrongTypes", `{"userId":1,"task":["t"]}`, 400)
	ctx("DuplicateField", `{"userId":"u","userId":"v","task":"t"}`, 400)
	outcome("NULInRequestID", `{"requestId":"req_\u0000","started":true}`, 400)
	outcome("InvalidUTF8InRequestID", "{\"requestId\":\"req_\xff\",\"started\":true}", 400)
	outcome("ControlInRequestID", `{"requestId":"req_\u0007","started":true}`, 400)
	outcome("NULInMetadata", `{"requestId":"req_x","started":true,"metadata":{"a":"\u0000"}}`, 400)
	outcome("HugeTimeToStart", `{"requestId":"req_x","started":true,"timeToStart":1e308}`, 400)
	outcome("OverflowTimeToStart", `{"requestId":"req_x","started":true,"timeToStart":1e400}`, 400)
	outcome("HugeSatisfaction", `{"requestId":"req_x","started":true,"satisfaction":123456789012345678901234567890}`, 400)
	profile("NULInMetadata", "u1", `{"metadata":{"a":"\u0000"}}`, 400)
	profile("SurrogateInMetadata", "u1", `{"metadata":{"a":"\udfff"}}`, 400)
	profile("NULInPath", "a%00b", `{}`, 400)
	profile("InvalidUTF8InPath", "a%FFb", `{}`, 400)
	rs = append(rs,
		hostileRequest{name: "get/NULInPath", method: "GET", path: "/v1/profile/%00", header: auth, want: 400},
		hostileRequest{name: "delete/InvalidUTF8InPath", method: "DELETE", path: "/v1/profile/%C3", header: auth, want: 400},
		hostileRequest{name: "method/PATCH", method: "PATCH", path: "/v1/context", header: auth, body: `{}`},
		hostileRequest{name: "method/TRACE", method: "TRACE", path: "/v1/context", header: auth},
		hostileRequest{name: "method/Unknown", method: "BREW", path: "/v1/context", header: auth},
		hostileRequest{name: "method/OPTIONS", method: "OPTIONS", path: "/v1/context"},
		hostileRequest{name: "header/TextPlain", method: "POST", path: "/v1/context",
			header: map[string]string{"Authorization": "Bearer " + key, "Content-Type": "text/plain"}, body: `{"userId":"u","task":"t"}`},
		hostileRequest{name: "header/HugeAuthorization", method: "POST", path: "/v1/context",
			header: map[string]string{"Authorization": "Bearer " + strings.Repeat("k", 16<<10)}, body: `{}`, want: 401},
		hostileRequest{name: "header/TooLarge", method: "GET", path: "/v1/profile/u",
			header: map[string]string{"Authorization": "Bearer " + key, "X-Pad": strings.Repeat("p", 40<<10)}, want: 431},
		hostileRequest{name: "header/BasicAuth", method: "GET", path: "/v1/profile/u",
			header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, want: 401},
		hostileRequest{name: "header/KeyInvalidUTF8", method: "GET", path: "/v1/profile/u",
			header: map[string]string{"Authorization": "Bearer amp_sk_live_\xff\xfe"}, want: 401},
		hostileRequest{name: "query/InvalidUTF8", method: "GET", path: "/v1/profile/u?x=%FF%00", header: auth},
		hostileRequest{name: "header/ContentLengthAndChunked", method: "POST", path: "/v1/context",
			header: map[string]string{"Authorization": "Bearer " + key, "Transfer-Encoding": "chunked"}, body: "0\r\n\r\n", want: 400},
		hostileRequest{name: "dashboard/QueryInvalidUTF8", method: "GET", path: "/dashboard/login?next=%FF%00"},
	)
	return rs
}

// rawResult is a response as sendRaw's callers see it.
type rawResult struct {
	status int
	header http.Header
}

// rawDo is sendRaw failing the test when no answer comes.
func rawDo(t *testing.T, base string, req hostileRequest) rawResult {
	t.Helper()
	res, err := sendRawResponse(t, base, req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.method, req.path, err)
	}
	return res
}

// sendRaw writes req on a fresh connection, byte for byte (the Go client
// would refuse some of these requests), and reads one response.
func sendRaw(t *testing.T, base string, req hostileRequest) (int, error) {
	res, err := sendRawResponse(t, base, req)
	return res.status, err
}

func sendRawResponse(t *testing.T, base string, req hostileRequest) (rawResult, error) {
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.DialTimeout("tcp", u.Host, hostileTimeout)
	if err != nil {
		return rawResult{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(hostileTimeout))
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", req.method, req.path, u.Host)
	for k, v := range req.header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(&b, "Content-Length: %d\r\n\r\n%s", len(req.body), req.body)
	go func() { _, _ = conn.Write(b.Bytes()) }() // the server may answer before reading it all
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return rawResult{}, err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return rawResult{res.StatusCode, res.Header}, nil
}

var csrfFieldRE = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// dashboardPost signs in (or up) with form values, after fetching the form
// for its CSRF token, so that the values reach the handler and the store.
func dashboardPost(t *testing.T, base, page string, form url.Values) int {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: hostileTimeout, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := hc.Get(base + "/dashboard/" + page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfFieldRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no csrf token on /dashboard/%s", page)
	}
	form.Set("csrf_token", string(m[1]))
	res, err = hc.PostForm(base+"/dashboard/"+page, form)
	if err != nil {
		t.Fatalf("POST /dashboard/%s: %v", page, err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}

// TestHostileInput sends the hostile-input suite to amp serve on SQLite and
// on PostgreSQL, in one test: every request is answered, none with a 5xx,
// the text rule answers alike on both, and nothing is logged as an error.
func TestHostileInput(t *testing.T) {
	backends := map[string]func(t *testing.T) []string{
		"SQLite":     func(t *testing.T) []string { return nil },
		"PostgreSQL": func(t *testing.T) []string { return []string{"--database-url", postgresURL(t)} },
	}
	for _, name := range []string{"SQLite", "PostgreSQL"} {
		t.Run(name, func(t *testing.T) {
			dir, db := t.TempDir(), backends[name](t)
			s := startServe(t, nil, dir, db...)
			// An account whose rate limit no request of the suite reaches.
			admin := append([]string{"--data", dir}, db...)
			acct := strings.TrimSpace(mustAmp(t, nil, append([]string{"accounts", "create", "--name", "hostile", "--plan", "enterprise", "--rate", "100000"}, admin...)...))
			key := strings.TrimSpace(mustAmp(t, nil, append([]string{"keys", "create", "--account", acct, "--mode", "live"}, admin...)...))
			for _, req := range hostileRequests(key) {
				status, err := sendRaw(t, s.URL, req)
				switch {
				case err != nil:
					t.Errorf("%s: no answer: %v", req.name, err)
				case status >= 500:
					t.Errorf("%s: HTTP %d", req.name, status)
				case req.want != 0 && status != req.want:
					t.Errorf("%s: HTTP %d, want %d", req.name, status, req.want)
				}
			}
			for _, c := range []struct {
				page string
				form url.Values
			}{
				{"login", url.Values{"email": {"owner\x00@example.com"}, "password": {"pw"}}},
				{"login", url.Values{"email": {"own\xffer@example.com"}, "password": {"pw"}}},
				{"login", url.Values{"email": {"owner@example.com"}, "password": {"p\x00w"}}},
				{"signup", url.Values{"email": {"new@example.com"}, "password": {"correct horse battery"}, "account_name": {"a\x00b"}}},
				{"signup", url.Values{"email": {"n\x00ew@example.com"}, "password": {"correct horse battery"}, "account_name": {"ab"}}},
			} {
				if st := dashboardPost(t, s.URL, c.page, c.form); st != http.StatusBadRequest {
					t.Errorf("dashboard %s with %q: HTTP %d, want 400", c.page, c.form, st)
				}
			}
			// The server still serves.
			if _, err := s.newClient(t, key).GetProfile(context.Background(), "nobody"); !isNotFound(err) {
				t.Errorf("after the suite: %v", err)
			}
			for line := range strings.Lines(s.Stderr.String()) {
				if strings.Contains(line, "level=ERROR") {
					t.Errorf("logged: %s", line)
				}
			}
		})
	}
}

func isNotFound(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NOT_FOUND")
}
