package mail

import (
	"bufio"
	"context"
	"net"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for _, bad := range []string{"http://host?from=a@b.c", "smtp://host", "smtp://?from=a@b.c", "smtp://host?from=nobody", "::"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
	s, err := Parse("smtps://u:p@mail.example?from=AMP%20%3Camp@example.com%3E")
	if err != nil {
		t.Fatal(err)
	}
	if s.addr != "mail.example:465" || !s.implicit || s.From() != "amp@example.com" || s.auth == nil {
		t.Errorf("parsed %+v", s)
	}
	s, err = Parse("smtp://localhost:2525?from=amp@example.com")
	if err != nil || s.addr != "localhost:2525" || s.implicit || s.auth != nil {
		t.Errorf("parsed %+v, %v", s, err)
	}
}

// A minimal SMTP server on loopback receives one message as sent.
func TestSend(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			got <- "accept: " + err.Error()
			return
		}
		defer conn.Close()
		r := bufio.NewReader(conn)
		say := func(s string) { conn.Write([]byte(s + "\r\n")) }
		say("220 test")
		var data strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				got <- "read: " + err.Error()
				return
			}
			if inData {
				if line == ".\r\n" {
					inData = false
					say("250 ok")
					continue
				}
				data.WriteString(line)
				continue
			}
			switch cmd := strings.ToUpper(strings.Fields(line)[0]); cmd {
			case "EHLO", "HELO":
				say("250 test")
			case "DATA":
				inData = true
				say("354 go")
			case "QUIT":
				say("221 bye")
				got <- data.String()
				return
			default:
				say("250 ok")
			}
		}
	}()
	s, err := Parse("smtp://" + ln.Addr().String() + "?from=amp@example.com")
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	if err := s.Send(context.Background(), "ada@example.com", "Reset", "line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	msg := <-got
	for _, want := range []string{"From: amp@example.com\r\n", "To: ada@example.com\r\n", "Subject: Reset\r\n", "\r\n\r\nline one\r\nline two\r\n"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	if err := s.Send(context.Background(), "a@example.com\r\nBcc: x@example.com", "x", "y"); err == nil {
		t.Error("a recipient with a line break was accepted")
	}
}
