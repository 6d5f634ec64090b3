package main

import "testing"

// TestFramer follows pipelined requests split at every byte boundary: the
// block with both Content-Length and Transfer-Encoding is found after
// bodies and chunks that contain lookalike header lines.
func TestFramer(t *testing.T) {
	stream := "\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\n" +
		"POST /b HTTP/1.1\r\nContent-Length: 40\r\n\r\n" + "Transfer-Encoding: chunked\r\nContent-Leng" +
		"POST /c HTTP/1.1\r\ntransfer-encoding: gzip, Chunked\r\n\r\n" +
		"19\r\nContent-Length: 5\r\n\r\nabcd\r\n0\r\nTrailer: y\r\n\r\n" +
		"POST /d HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
	if n := len("Transfer-Encoding: chunked\r\nContent-Leng"); n != 40 {
		t.Fatalf("the lookalike body is %d bytes", n)
	}
	for _, step := range []int{1, 2, 3, 7, len(stream)} {
		var f framer
		for i := 0; i < len(stream); i += step {
			f.feed([]byte(stream[i:min(i+step, len(stream))]))
		}
		got := []bool{f.next(), f.next(), f.next(), f.next()}
		if want := []bool{false, false, false, true}; got[0] != want[0] || got[1] != want[1] || got[2] != want[2] || got[3] != want[3] {
			t.Errorf("fed %d bytes at a time: smuggled %v, want %v (blocks %d, bad %d)", step, got, want, f.blocks, f.bad)
		}
	}
}
