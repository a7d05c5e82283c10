package policy

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	admissionv1 "k8s.io/api/admission/v1"

	"github.com/palisade-dev/palisade/api/v1alpha1"
	"github.com/palisade-dev/palisade/webhooks/serving"
)

// What stalled and slow clients cost the webhook server. The API server sends a review in one go;
// anything else that reaches the webhook port (it is reachable from the pod network, see
// config/networkpolicy) may announce a large body and then send nothing, or a byte at a time.
// Such a connection must cost a goroutine and its buffers until the read deadline, not the body it
// announced, and the webhook must go on answering the API server meanwhile.

const (
	// announced is the body length the stalled clients announce: just under the cap, so that only
	// allocating for what arrives protects the server.
	announced = serving.MaxBodyBytes - 1
	// stalledConns and slowConns are how many of each kind the test opens, all on loopback.
	stalledConns, slowConns = 50, 50
)

// selfSigned returns a TLS certificate for 127.0.0.1 and a pool that trusts it.
func selfSigned(t testing.TB) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "palisade-test"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:   time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// stallServer serves h at /validate on loopback with the bounds of webhooks/serving and a read
// deadline of readTimeout. It returns the server's address, a client that trusts it, and a
// counter of the calls h has received.
func stallServer(t testing.TB, h http.Handler, readTimeout time.Duration) (string, *x509.CertPool, *http.Client, *atomic.Int64) {
	t.Helper()
	cert, pool := selfSigned(t)
	srv := serving.NewServer(serving.Options{
		Host: "127.0.0.1", ReadTimeout: readTimeout, ShutdownTimeout: time.Second,
		TLSOpts: []func(*tls.Config){func(c *tls.Config) {
			c.NextProtos = []string{"http/1.1"}
			c.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return &cert, nil }
		}},
	})
	entered := &atomic.Int64{}
	srv.Register("/validate", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		entered.Add(1)
		h.ServeHTTP(w, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stopping the webhook server: %v", err)
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for srv.Addr() == "" {
		if time.Now().After(deadline) {
			t.Fatal("the webhook server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tlsCfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
	t.Cleanup(hc.CloseIdleConnections)
	return srv.Addr(), pool, hc, entered
}

// stalledClient is one connection that announces a body of announced bytes and then sends nothing
// (trickle false) or one byte every 50 ms (trickle true), until the server closes the connection.
type stalledClient struct {
	conn *tls.Conn
	// closed is closed once the server has answered or closed the connection.
	closed chan struct{}
}

func openStalled(t testing.TB, addr string, pool *x509.CertPool, trickle bool) *stalledClient {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	head := fmt.Sprintf("POST /validate HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", addr, announced)
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	c := &stalledClient{conn: conn, closed: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		// Whatever the server sends (an error answer) or a closed connection ends the stall.
		_, _ = io.Copy(io.Discard, conn)
		close(stop)
		close(c.closed)
	}()
	if trickle {
		go func() {
			tick := time.NewTicker(50 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					if _, err := conn.Write([]byte(" ")); err != nil {
						return
					}
				}
			}
		}()
	}
	return c
}

// heapInUse is the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// stall opens stalled and slow clients against addr, waits until the handler holds every one of
// them, and returns the live heap's growth over before.
func stall(t testing.TB, addr string, pool *x509.CertPool, entered *atomic.Int64, before uint64) ([]*stalledClient, int64) {
	t.Helper()
	var clients []*stalledClient
	for i := range stalledConns + slowConns {
		clients = append(clients, openStalled(t, addr, pool, i >= stalledConns))
	}
	deadline := time.Now().Add(10 * time.Second)
	for entered.Load() < int64(len(clients)) {
		if time.Now().After(deadline) {
			t.Fatalf("the handler received %d of %d stalled requests", entered.Load(), len(clients))
		}
		time.Sleep(10 * time.Millisecond)
	}
	return clients, int64(heapInUse()) - int64(before)
}

func TestStalledConnectionsLeaveTheHeapBoundedAndTheWebhookAnswering(t *testing.T) {
	h, err := newValidatingReview[v1alpha1.NetworkPolicy](testScheme(t), &NetworkPolicyWebhook{}, logr.Discard())
	if err != nil {
		t.Fatal(err)
	}
	const readTimeout = 3 * time.Second
	addr, pool, hc, entered := stallServer(t, h, readTimeout)
	valid := reviewBody(t, admissionv1.Create, mustJSON(t, policy(nil)), nil)
	post := func() (*admissionv1.AdmissionResponse, error) {
		resp, err := hc.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(valid))
		if err != nil {
			return nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		var out admissionv1.AdmissionReview
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			return nil, fmt.Errorf("decoding the answer (HTTP %d): %w", resp.StatusCode, err)
		}
		if out.Response == nil {
			return nil, fmt.Errorf("the answer (HTTP %d) holds no response", resp.StatusCode)
		}
		return out.Response, nil
	}
	if _, err := post(); err != nil { // warm the client and the handler before the baseline
		t.Fatal(err)
	}
	before := heapInUse()
	start := time.Now()
	clients, grown := stall(t, addr, pool, entered, before)
	const bound = 32 << 20
	t.Logf("%d stalled and %d slow connections: live heap grew by %.1f MiB (%.0f KiB per connection)",
		stalledConns, slowConns, float64(grown)/(1<<20), float64(grown)/1024/float64(len(clients)))
	if grown > bound {
		t.Errorf("%d connections announcing %d bytes each grew the live heap by %d bytes; want at most %d: the handler allocates for what is announced, not for what arrived",
			len(clients), announced, grown, bound)
	}

	got, err := post()
	if err != nil {
		t.Fatalf("with %d connections stalled, the webhook did not answer: %v", len(clients), err)
	}
	if !got.Allowed || got.UID != "r-1" {
		t.Errorf("with connections stalled, the webhook answered %+v; want the valid policy allowed", got)
	}

	// The read deadline ends every stalled request, trickling or not.
	var wg sync.WaitGroup
	late := atomic.Int64{}
	for _, c := range clients {
		wg.Go(func() {
			select {
			case <-c.closed:
			case <-time.After(time.Until(start.Add(readTimeout + 5*time.Second))):
				late.Add(1)
			}
		})
	}
	wg.Wait()
	if n := late.Load(); n > 0 {
		t.Errorf("%d of %d stalled connections were still open %v after they started; the read deadline is %v", n, len(clients), readTimeout+5*time.Second, readTimeout)
	}
}

// preallocating reads a review as this package did before it read only what arrives: one buffer
// of the announced length, allocated before the first byte. It is the benchmark's baseline.
func preallocating(w http.ResponseWriter, r *http.Request) {
	body := make([]byte, r.ContentLength)
	if _, err := io.ReadFull(r.Body, body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
	}
}

// BenchmarkStalledConnections reports the live heap that 50 stalled and 50 slow connections, each
// announcing a body just under the cap, hold while the server waits for their bodies: with
// Palisade's validating handler, and with the preallocating reader it replaced (the baseline), in
// the same run.
//
//	go test -run '^$' -bench StalledConnections -benchtime 1x ./webhooks/policy/
func BenchmarkStalledConnections(b *testing.B) {
	h, err := newValidatingReview[v1alpha1.NetworkPolicy](testScheme(b), &NetworkPolicyWebhook{}, logr.Discard())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"validatingReview", h}, {"preallocating-baseline", http.HandlerFunc(preallocating)}} {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				addr, pool, _, entered := stallServer(b, c.h, serving.DefaultReadTimeout)
				before := heapInUse()
				clients, grown := stall(b, addr, pool, entered, before)
				b.ReportMetric(float64(grown)/(1<<20), "heap-MiB")
				b.ReportMetric(float64(grown)/1024/float64(len(clients)), "heap-KiB/conn")
				for _, cl := range clients {
					_ = cl.conn.Close()
				}
			}
		})
	}
}
