package echo

import (
	"net"
	"runtime"
	"testing"
	"time"
)

func TestEchoAndClose(t *testing.T) {
	before := runtime.NumGoroutine()
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := Serve([]net.Listener{l}, []net.PacketConn{u})

	c, err := net.Dial("tcp4", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, err := c.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Errorf("TCP echo = %q, %v", buf[:n], err)
	}

	uc, err := net.Dial("udp4", u.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	_ = uc.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := uc.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if n, err := uc.Read(buf); err != nil || string(buf[:n]) != "ping" {
		t.Errorf("UDP echo = %q, %v", buf[:n], err)
	}
	uc.Close()

	// Close ends the open TCP connection too, not only the listeners.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if n, err := c.Read(buf); err == nil {
		t.Errorf("connection still open after Close: read %q", buf[:n])
	}
	c.Close()
	if _, err := net.Dial("tcp4", l.Addr().String()); err == nil {
		t.Error("listener still accepting after Close")
	}
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("%d goroutines before Serve, %d after Close", before, after)
	}
}
