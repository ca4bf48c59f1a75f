package wire

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestAuthority(t *testing.T) {
	tests := []struct{ cluster, want string }{
		{"apigw_limitd", "apigw_limitd"},
		{"outbound|8090||apigw-limitd.apigw.svc.cluster.local", "apigw-limitd.apigw.svc.cluster.local:8090"},
		{"outbound|8090|v1|apigw-limitd.apigw.svc.cluster.local", "apigw-limitd.apigw.svc.cluster.local:8090"},
		{"inbound|8090||", "inbound|8090||"},
		{"outbound|||host", "outbound|||host"},
	}
	for _, tt := range tests {
		if got := Authority(tt.cluster); got != tt.want {
			t.Errorf("Authority(%q) = %q, want %q", tt.cluster, got, tt.want)
		}
	}
}

// TestAuthorityReachesGoServer shows why: Go's HTTP server, the bridge's, refuses a Host with
// '|' before any handler runs, and takes what Authority makes of an Istio cluster name.
func TestAuthorityReachesGoServer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	for _, tt := range []struct {
		host string
		want int
	}{
		{"outbound|8090||apigw-limitd.apigw.svc.cluster.local", 400},
		{Authority("outbound|8090||apigw-limitd.apigw.svc.cluster.local"), 200},
		{Authority("apigw_limitd"), 200},
	} {
		// By hand: Go's client refuses to send such a Host itself; Envoy sends it.
		resp := rawStatus(t, srv.Listener.Addr().String(), tt.host)
		if resp.StatusCode != tt.want {
			t.Errorf("Host %q: status %d, want %d", tt.host, resp.StatusCode, tt.want)
		}
		resp.Body.Close()
	}
}

// rawStatus sends POST Path with host as Host over a connection of its own.
func rawStatus(t *testing.T, addr, host string) *http.Response {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := c.Write([]byte("POST " + Path + " HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 0\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}
