package reply

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestEveryCodeHasARow(t *testing.T) {
	keys := map[string]Code{}
	for c := None + 1; c < numCodes; c++ {
		r := rows[c]
		if r.status == 0 || r.message == "" || r.key == "" {
			t.Errorf("code %d has no complete row: %+v", c, r)
		}
		if strings.Count(r.message, "%") > 1 || c.HasArg() != strings.Contains(r.message, "%s") {
			t.Errorf("%v: more than one placeholder", c)
		}
		if other, dup := keys[r.key]; dup {
			t.Errorf("%v and %v share the metric key %q", other, c, r.key)
		}
		keys[r.key] = c
	}
}

func TestMessages(t *testing.T) {
	tests := []struct {
		code   Code
		arg    string
		status int
		want   string
	}{
		{NoAPIForHost, "api.example.com", 404, "There is no api match host[api.example.com]."},
		{NoDefaultEnvMapping, "/foo", 404, "There is no api match default env_mapping[/foo]."},
		{NoEnvMapping, "/", 404, "There is no api match env_mapping[/]."},
		{NoAPIForURI, "/a/b", 404, "There is no api match uri[/a/b]."},
		{HMACAlgorithmNotSupported, "hmac-md5", 401, "HMAC algorithm hmac-md5 not supported."},
		{HMACHeaderRequired, "source", 401, "HMAC signature cannot be verified, a valid source header is required."},
		{ParamInvalid, "page", 403, "Get page params fail."},
		{ProtocolNotAllowed, "WS", 426, "Not allow use WS protocol."},
		{CrossOrigin, "/x", 429, "req is cross origin, api /x need open cors flag on qcloud apigateway."},
		{MethodNotAllowed, "ignored", 405, "Method Not Allowed."},
		{ClientClosed, "", 499, "Client closed connetion."},
		{MicroServiceLocationFormat, "", 481, "Only support the map_from like method.req.{path}.{}."},
		{GatewayTimeout, "", 504, "Gateway Time-out."},
		{InvalidRequestPath, "", 400, "Invalid request path."},
	}
	for _, tt := range tests {
		e := New(tt.code, tt.arg)
		if e.Status() != tt.status || e.Error() != tt.want {
			t.Errorf("%d: got %d %q, want %d %q", tt.code, e.Status(), e.Error(), tt.status, tt.want)
		}
		var body struct{ Message string }
		if err := json.Unmarshal(e.Body(), &body); err != nil || body.Message != tt.want {
			t.Errorf("%d: body %s does not decode to the message (%v)", tt.code, e.Body(), err)
		}
	}
}

func FuzzJSONMessage(f *testing.F) {
	f.Add("There is no api match uri[/a\"b\\c\x01\xff].")
	f.Fuzz(func(t *testing.T, s string) {
		var body struct{ Message string }
		if err := json.Unmarshal(JSONMessage(s), &body); err != nil {
			t.Fatalf("invalid JSON for %q: %v", s, err)
		}
		want, _ := json.Marshal(s) // the standard library's view of the same string
		var std string
		_ = json.Unmarshal(want, &std)
		if body.Message != std {
			t.Fatalf("got %q, want %q", body.Message, std)
		}
	})
}
