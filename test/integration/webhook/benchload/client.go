package benchload

import (
	"bytes"
	"encoding/json"
	"fmt"

	"net"
	"net/http"
	"strings"
	"time"

	"k8s.io/client-go/rest"

	"github.com/palisade-dev/palisade/api/v1alpha1"
)

// Client is one of the load's clients: an HTTP client of its own (its own transport, so its own
// connection, HTTP/2 as kubectl's) that posts bodies encoded before the timed requests. It is
// deliberately leaner than client-go's typed or controller-runtime client: the clients share the
// machine with the API server and the webhook server they measure, so every millisecond of CPU
// they spend encoding and decoding objects would be taken from the system under test and inflate
// every setup's tail alike. The API server sees the same requests either way.
type Client struct {
	http *http.Client
	host string
	buf  bytes.Buffer // response bodies, reused
}

// Clients returns n clients of the API server that cfg names, each with its own transport.
func Clients(cfg *rest.Config, n int) ([]*Client, error) {
	out := make([]*Client, n)
	for i := range out {
		c := rest.CopyConfig(cfg)
		// A config with a Dial function is not shared through client-go's transport cache.
		c.Dial = (&net.Dialer{Timeout: 30 * time.Second}).DialContext
		hc, err := rest.HTTPClientFor(c)
		if err != nil {
			return nil, fmt.Errorf("creating client %d: %w", i, err)
		}
		out[i] = &Client{http: hc, host: strings.TrimSuffix(c.Host, "/")}
	}
	return out, nil
}

// Warm opens the client's connection outside the timed requests, with a read of namespace ns.
func (c *Client) Warm(ns string) error {
	return c.do(http.MethodGet, "/api/v1/namespaces/"+ns, nil, http.StatusOK)
}

// Create posts one encoded NetworkPolicy into namespace ns and reads the whole response.
func (c *Client) Create(ns string, body []byte) error {
	return c.do(http.MethodPost, "/apis/"+v1alpha1.GroupVersion.String()+"/namespaces/"+ns+"/networkpolicies", body, http.StatusCreated)
}

func (c *Client) do(method, path string, body []byte, want int) error {
	req, err := http.NewRequest(method, c.host+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	c.buf.Reset()
	_, err = c.buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return fmt.Errorf("%s %s: reading the response: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(c.buf.String()))
	}
	return nil
}

// Encode returns p as the JSON body of a create, with its apiVersion and kind.
func Encode(p *v1alpha1.NetworkPolicy) ([]byte, error) {
	p.APIVersion, p.Kind = v1alpha1.GroupVersion.String(), "NetworkPolicy"
	b, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("encoding policy %s/%s: %w", p.Namespace, p.Name, err)
	}
	return b, nil
}
