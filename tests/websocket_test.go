package tests

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// wsConfig has WEBSOCKET APIs to a WebSocket echo upstream; api-ws-short has a backend
// timeout of one second, shorter than the life of its connections.
const wsConfig = `{
  "services": [{
    "id": "service-ws",
    "default_domain": "ws.example.com",
    "apis": [
      {"id": "api-ws", "path": "=/chat", "method": "GET", "protocol": "WEBSOCKET",
       "backend": {"type": "websocket", "cluster": "ws", "path": "/ws"}},
      {"id": "api-ws-room", "path": "/rooms/{room}", "method": "GET", "protocol": "WEBSOCKET",
       "parameters": [{"name": "nick", "position": "query", "default": "guest"}],
       "backend": {"type": "websocket", "cluster": "ws", "path": "/ws/{room}"}},
      {"id": "api-ws-short", "path": "=/short", "method": "GET", "protocol": "WEBSOCKET",
       "backend": {"type": "websocket", "cluster": "ws", "path": "/ws", "timeout_seconds": 1}}
    ]
  }]
}`

const wsHost = "ws.example.com"

// wsGUID is RFC 6455's fixed GUID for Sec-WebSocket-Accept.
const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + wsGUID))
	return base64.StdEncoding.EncodeToString(h[:])
}

// WebSocket opcodes.
const (
	wsText   = 0x1
	wsBinary = 0x2
	wsClose  = 0x8
	wsPing   = 0x9
	wsPong   = 0xA
)

// wsWriteFrame writes one final frame; clients mask (RFC 6455 5.3), servers do not.
func wsWriteFrame(w io.Writer, opcode byte, payload []byte, mask bool) error {
	var hdr []byte
	hdr = append(hdr, 0x80|opcode)
	var m byte
	if mask {
		m = 0x80
	}
	switch n := len(payload); {
	case n < 126:
		hdr = append(hdr, m|byte(n))
	case n <= 0xFFFF:
		hdr = append(hdr, m|126)
		hdr = binary.BigEndian.AppendUint16(hdr, uint16(n))
	default:
		hdr = append(hdr, m|127)
		hdr = binary.BigEndian.AppendUint64(hdr, uint64(n))
	}
	body := payload
	if mask {
		var key [4]byte
		rand.Read(key[:])
		hdr = append(hdr, key[:]...)
		body = make([]byte, len(payload))
		for i := range payload {
			body[i] = payload[i] ^ key[i%4]
		}
	}
	_, err := w.Write(append(hdr, body...))
	return err
}

// wsReadFrame reads one frame (fragmentation is not used by these tests) and unmasks it.
func wsReadFrame(r io.Reader) (opcode byte, payload []byte, masked bool, err error) {
	var h [2]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return
	}
	if h[0]&0x80 == 0 {
		return 0, nil, false, errors.New("fragmented frame")
	}
	opcode, masked = h[0]&0x0F, h[1]&0x80 != 0
	n := uint64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(r, b[:]); err != nil {
			return
		}
		n = binary.BigEndian.Uint64(b[:])
	}
	if n > 1<<20 {
		return 0, nil, false, fmt.Errorf("frame of %d bytes", n)
	}
	var key [4]byte
	if masked {
		if _, err = io.ReadFull(r, key[:]); err != nil {
			return
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return
}

// wsEcho is the upstream's WebSocket endpoint: it completes the handshake and answers every
// data frame with "echo:" and the payload, a ping with a pong, a close with a close. A frame
// a client sent unmasked is a protocol error: it closes with 1002.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-Websocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || !strings.Contains(strings.ToLower(r.Header.Get("Connection")), "upgrade") ||
		key == "" || r.Header.Get("Sec-Websocket-Version") != "13" {
		http.Error(w, "not a websocket handshake", http.StatusBadRequest)
		return
	}
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n", wsAccept(key))
	rw.Flush()
	for {
		op, payload, masked, err := wsReadFrame(rw)
		if err != nil {
			return
		}
		if !masked {
			wsWriteFrame(conn, wsClose, []byte{0x03, 0xEA}, false)
			return
		}
		switch op {
		case wsText, wsBinary:
			wsWriteFrame(conn, op, append([]byte("echo:"), payload...), false)
		case wsPing:
			wsWriteFrame(conn, wsPong, payload, false)
		case wsClose:
			wsWriteFrame(conn, wsClose, payload, false)
			return
		}
	}
}

func wsGateway(t *testing.T) (*Gateway, *Upstream) {
	t.Helper()
	v, err := sharedValue("upstream:ws-echo", func() (any, error) {
		return startUpstream(binaryOwner{}, wsEcho), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	up := v.(*Upstream)
	g := SharedGateway(t, "websocket", Options{PluginConfig: wsConfig, Clusters: map[string]string{"ws": up.Addr}, TLS: true})
	return g, up
}

// wsConn is a client WebSocket connection through the gateway.
type wsConn struct {
	conn net.Conn
	br   *bufio.Reader
	resp Response // the handshake's answer
}

// wsDial opens a connection to the gateway and sends an upgrade request for path; it returns
// the connection and the handshake's answer (101 or a refusal).
func wsDial(t *testing.T, g *Gateway, useTLS bool, path, key string) *wsConn {
	t.Helper()
	addr := strings.TrimPrefix(g.HTTPURL, "http://")
	if useTLS {
		addr = strings.TrimPrefix(g.HTTPSURL, "https://")
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if useTLS {
		cfg := clientTLS("")
		cfg.ServerName = "127.0.0.1" // the certificate is checked for the listener's address
		conn = tls.Client(conn, cfg)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	req := "GET " + path + " HTTP/1.1\r\nHost: " + wsHost + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\n\r\n"
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, &http.Request{Method: "GET"})
	if err != nil {
		t.Fatalf("handshake: %v", err)
	}
	c := &wsConn{conn: conn, br: br, resp: Response{Status: resp.StatusCode, Proto: resp.Proto, Header: resp.Header}}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		b, _ := io.ReadAll(resp.Body)
		c.resp.Body = string(b)
	}
	return c
}

// roundTrip sends one masked data frame and returns the frame that comes back.
func (c *wsConn) roundTrip(t *testing.T, op byte, payload []byte) (byte, []byte) {
	t.Helper()
	if err := wsWriteFrame(c.conn, op, payload, true); err != nil {
		t.Fatalf("writing a frame: %v", err)
	}
	gotOp, got, masked, err := wsReadFrame(c.br)
	if err != nil {
		t.Fatalf("reading the echo: %v", err)
	}
	if masked {
		t.Errorf("a server frame arrived masked")
	}
	return gotOp, got
}

func newWSKey() string {
	var b [16]byte
	rand.Read(b[:])
	return base64.StdEncoding.EncodeToString(b[:])
}

// TestWebSocketEcho: a real upgrade through Envoy to a WebSocket upstream, over ws and wss;
// frames go both ways and the upstream handshake is the gateway's upstream request.
func TestWebSocketEcho(t *testing.T) {
	g, up := wsGateway(t)
	for _, c := range []struct {
		name  string
		tls   bool
		path  string
		uri   string
		proto string
		apiID string
	}{
		{"ws", false, "/release/chat", "/ws", "http", "api-ws"},
		{"wss", true, "/release/chat", "/ws", "https", "api-ws"},
		{"path variable and query default", false, "/release/rooms/lobby?x=1", "/ws/lobby?x=1&nick=guest", "http", "api-ws-room"},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := newWSKey()
			before := up.Count()
			ws := wsDial(t, g, c.tls, c.path, key)
			r := ws.resp
			if r.Status != 101 {
				t.Fatalf("handshake answer:\n%s", r)
			}
			if got := r.Header.Get("Sec-Websocket-Accept"); got != wsAccept(key) {
				t.Errorf("Sec-WebSocket-Accept %q, want %q", got, wsAccept(key))
			}
			if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
				t.Errorf("Upgrade %q", r.Header.Get("Upgrade"))
			}
			id := r.Header.Get("X-Api-Requestid")
			if !requestIDPattern.MatchString(id) {
				t.Errorf("x-api-requestid %q", id)
			}
			if n := up.Count() - before; n != 1 {
				t.Fatalf("the upstream saw %d handshakes", n)
			}
			rec := up.Last(t)
			if rec.URI != c.uri || rec.Header.Get("X-Api-Id") != c.apiID || rec.Header.Get("X-Api-Requestid") != id ||
				rec.Header.Get("X-Client-Proto") != c.proto || rec.Header.Get("Sec-Websocket-Key") != key ||
				!strings.EqualFold(rec.Header.Get("Upgrade"), "websocket") {
				t.Errorf("upstream handshake: %s %v", rec.URI, rec.Header)
			}
			op, got := ws.roundTrip(t, wsText, []byte("hello apigw"))
			if op != wsText || string(got) != "echo:hello apigw" {
				t.Errorf("echo: opcode %d %q", op, got)
			}
			big := []byte(strings.Repeat("0123456789", 30)) // a 16-bit length
			op, got = ws.roundTrip(t, wsBinary, big)
			if op != wsBinary || string(got) != "echo:"+string(big) {
				t.Errorf("binary echo: opcode %d, %d bytes", op, len(got))
			}
			op, got = ws.roundTrip(t, wsPing, []byte("p"))
			if op != wsPong || string(got) != "p" {
				t.Errorf("ping: opcode %d %q", op, got)
			}
			op, got = ws.roundTrip(t, wsClose, []byte{0x03, 0xE8})
			if op != wsClose || string(got) != "\x03\xe8" {
				t.Errorf("close: opcode %d %q", op, got)
			}
		})
	}
}

// TestWebSocketOutlivesBackendTimeout: timeout_seconds bounds the wait for the upstream's
// answer; a WebSocket connection that stays open longer keeps working.
func TestWebSocketOutlivesBackendTimeout(t *testing.T) {
	g, _ := wsGateway(t)
	ws := wsDial(t, g, false, "/release/short", newWSKey())
	if ws.resp.Status != 101 {
		t.Fatalf("handshake answer:\n%s", ws.resp)
	}
	if op, got := ws.roundTrip(t, wsText, []byte("first")); op != wsText || string(got) != "echo:first" {
		t.Fatalf("first echo: %d %q", op, got)
	}
	time.Sleep(2500 * time.Millisecond)
	if op, got := ws.roundTrip(t, wsText, []byte("later")); op != wsText || string(got) != "echo:later" {
		t.Fatalf("echo after the backend timeout: %d %q", op, got)
	}
}

// TestWebSocketRequiredHeaders: the two WebSocket rows of step 11, on every request to a
// WEBSOCKET API, upgrade or not, written by hand; none of the refused ones reaches the upstream.
func TestWebSocketRequiredHeaders(t *testing.T) {
	g, up := wsGateway(t)
	before := up.Count()
	const upgrade = "GET /release/chat HTTP/1.1\r\nHost: " + wsHost + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	const plain = "GET /release/chat HTTP/1.1\r\nHost: " + wsHost + "\r\nConnection: close\r\n"
	for _, c := range []struct{ name, head, headers, message string }{
		{"upgrade without key", upgrade, "Sec-WebSocket-Version: 13\r\n", "need header Sec-WebSocket-Key."},
		{"upgrade without version", upgrade, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "need header Sec-WebSocket-Version."},
		{"upgrade without either: the key first", upgrade, "", "need header Sec-WebSocket-Key."},
		{"plain GET without either", plain, "", "need header Sec-WebSocket-Key."},
		{"plain GET without key", plain, "Sec-WebSocket-Version: 13\r\n", "need header Sec-WebSocket-Key."},
		{"plain GET without version", plain, "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n", "need header Sec-WebSocket-Version."},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := g.Raw(t, RawRequest{Data: c.head + c.headers + "\r\n"})
			if r.Status != 403 || r.Message() != c.message {
				t.Fatalf("got %d %q, want 403 %q\n%s", r.Status, r.Message(), c.message, r)
			}
			checkGatewayReply(t, r)
		})
	}
	if n := up.Count() - before; n != 0 {
		t.Errorf("the upstream saw %d refused requests", n)
	}

	// With both headers a plain GET passes the gateway: the upstream itself refuses it, since
	// it asks for no upgrade.
	r := g.Raw(t, RawRequest{Data: plain + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"})
	if r.Status != 400 || r.Body != "not a websocket handshake\n" {
		t.Fatalf("plain GET with both headers:\n%s", r)
	}
	if n := up.Count() - before; n != 1 {
		t.Errorf("the upstream saw %d requests, want the plain GET", n)
	}
	if rec := up.Last(t); rec.URI != "/ws" || rec.Header.Get("X-Api-Id") != "api-ws" {
		t.Errorf("upstream request %s %v", rec.URI, rec.Header)
	}
}
