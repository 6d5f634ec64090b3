package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"strconv"
	"sync"
)

// A request with both Content-Length and Transfer-Encoding is how request
// smuggling through a proxy starts, and RFC 9112 §6.1 has a server that
// receives one close the connection after answering. net/http reads it as
// chunked and drops Content-Length from the header before any handler
// runs, so the fact is recorded below the HTTP server: the connection's
// bytes go through a framer that follows HTTP/1.1 message framing (header
// block, then a Content-Length body, or chunks and trailers) and notes
// which request's header block carried both; the outermost handler refuses
// that request with 400 and Connection: close.

// maxFramedLine bounds a header or chunk-size line the framer keeps; past
// it the framer stops following the stream (the server refuses such lines
// itself: MaxHeaderBytes).
const maxFramedLine = 64 << 10

type framerState int

const (
	inHeader framerState = iota
	inBody
	inChunkSize
	inChunkData
	inTrailer
	lost // framing not followed any more
)

// framer follows the requests of one connection.
type framer struct {
	mu        sync.Mutex
	state     framerState
	line      []byte
	lines     int   // lines of the current header block
	remaining int64 // bytes of body or chunk left
	hasCL     bool
	hasTE     bool
	chunked   bool
	cl        int64
	blocks    int // header blocks completed
	bad       int // the first block with both headers; 0 if none
	served    int // requests handed to the handler
}

// feed follows b, the next bytes read from the connection.
func (f *framer) feed(b []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for len(b) > 0 && f.state != lost {
		switch f.state {
		case inBody, inChunkData:
			n := min(int64(len(b)), f.remaining)
			b, f.remaining = b[n:], f.remaining-n
			if f.remaining == 0 {
				if f.state == inBody {
					f.state = inHeader
				} else {
					f.state = inChunkSize
				}
			}
		default:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				f.appendLine(b)
				return
			}
			f.appendLine(b[:i])
			b = b[i+1:]
			line := bytes.TrimSuffix(f.line, []byte("\r"))
			f.endLine(line)
			f.line = f.line[:0]
		}
	}
}

func (f *framer) appendLine(b []byte) {
	if len(f.line)+len(b) > maxFramedLine {
		f.state = lost
		return
	}
	f.line = append(f.line, b...)
}

func (f *framer) endLine(line []byte) {
	switch f.state {
	case inHeader:
		if len(line) == 0 {
			if f.lines == 0 {
				return // blank lines before a request line are allowed
			}
			f.endHeader()
			return
		}
		f.lines++
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || f.lines == 1 {
			return // the request line, or an obs-fold the server refuses
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Content-Length")):
			f.hasCL = true
			if n, err := strconv.ParseInt(string(value), 10, 64); err == nil && n >= 0 {
				f.cl = n
			}
		case bytes.EqualFold(bytes.TrimSpace(name), []byte("Transfer-Encoding")):
			f.hasTE = true
			if bytes.Contains(bytes.ToLower(value), []byte("chunked")) {
				f.chunked = true
			}
		}
	case inChunkSize:
		size, _, _ := bytes.Cut(line, []byte(";"))
		n, err := strconv.ParseInt(string(bytes.TrimSpace(size)), 16, 64)
		switch {
		case err != nil || n < 0:
			f.state = lost // the server refuses the body itself
		case n == 0:
			f.state = inTrailer
		default:
			f.state, f.remaining = inChunkData, n+2 // the data and its CRLF
		}
	case inTrailer:
		if len(line) == 0 {
			f.state = inHeader
		}
	}
}

func (f *framer) endHeader() {
	f.blocks++
	switch {
	case f.hasCL && f.hasTE:
		if f.bad == 0 {
			f.bad = f.blocks
		}
		f.state = lost // the connection is closed after this request
	case f.chunked:
		f.state = inChunkSize
	case f.cl > 0:
		f.state, f.remaining = inBody, f.cl
	}
	f.lines, f.hasCL, f.hasTE, f.chunked, f.cl = 0, false, false, false, 0
}

// next counts a request handed to the handler and reports whether its
// header block carried both Content-Length and Transfer-Encoding.
func (f *framer) next() (smuggled bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.served++
	return f.bad != 0 && f.served >= f.bad
}

// framedConn feeds what is read from it to its framer.
type framedConn struct {
	net.Conn
	f framer
}

func (c *framedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.f.feed(b[:n])
	}
	return n, err
}

type framedConnKey struct{}

// withFramer is the http.Server's ConnContext: it makes the connection's
// framer reachable from its requests.
func withFramer(ctx context.Context, c net.Conn) context.Context {
	if lc, ok := c.(*limitConn); ok {
		c = lc.Conn
	}
	if fc, ok := c.(*framedConn); ok {
		return context.WithValue(ctx, framedConnKey{}, fc)
	}
	return ctx
}

// refuseSmuggling answers 400 INVALID_REQUEST and closes the connection
// for a request that had both Content-Length and Transfer-Encoding.
func refuseSmuggling(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fc, ok := r.Context().Value(framedConnKey{}).(*framedConn); ok && fc.f.next() {
			h := w.Header()
			h.Set("Connection", "close")
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"code":"INVALID_REQUEST","message":"A request must not have both Content-Length and Transfer-Encoding."}}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}
