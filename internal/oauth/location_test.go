package oauth

import (
	"strings"
	"testing"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

func TestParseLocation(t *testing.T) {
	tests := []struct {
		in   string
		want Location // 0: an error is expected
	}{
		{"method.req.header.authorization", LocationHeader},
		{"method.req.header.cookie", LocationCookie},
		{"method.req.header.Authorization", LocationHeader},
		{"METHOD.REQ.HEADER.COOKIE", LocationCookie},
		{"", 0},
		{" method.req.header.authorization", 0},
		{"method.req.header.authorization ", 0},
		{"method.req.header.x-token", 0},
		{"method.req.query.id_token", 0},
		{"method.req.header", 0},
		{"header", 0},
		{"cookie", 0},
		{"method.req.header.coo\u212aie", 0}, // KELVIN SIGN folds to k in Unicode, not here
	}
	for _, tt := range tests {
		got, err := ParseLocation(tt.in)
		if tt.want == 0 {
			if err == nil {
				t.Errorf("ParseLocation(%q) = %v, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseLocation(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
		if back, err := ParseLocation(got.String()); err != nil || back != got {
			t.Errorf("String() of %v does not parse back", got)
		}
	}
}

const jwtText = "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjF9.c2ln"

func TestExtract(t *testing.T) {
	tests := []struct {
		name    string
		loc     Location
		headers map[string]string
		want    string     // the token, when code is None
		code    reply.Code // the answer
	}{
		// Header location: the four answers, then the accepted forms.
		{"no authorization", LocationHeader, nil, "", reply.OAuthNoAuthHeader},
		{"no authorization, cookie present", LocationHeader, map[string]string{"cookie": "id_token=" + jwtText}, "", reply.OAuthNoAuthHeader},
		{"empty authorization", LocationHeader, map[string]string{"authorization": ""}, "", reply.OAuthAuthHeaderRequired},
		{"blank authorization", LocationHeader, map[string]string{"authorization": " \t "}, "", reply.OAuthAuthHeaderRequired},
		{"basic scheme", LocationHeader, map[string]string{"authorization": "Basic dXNlcjpwdw=="}, "", reply.OAuthHeaderFormatError},
		{"hmac scheme", LocationHeader, map[string]string{"authorization": `hmac id="a", signature="b"`}, "", reply.OAuthHeaderFormatError},
		{"bare token, no scheme", LocationHeader, map[string]string{"authorization": jwtText}, "", reply.OAuthHeaderFormatError},
		{"Bear (a typo in Tencent docs)", LocationHeader, map[string]string{"authorization": "Bear " + jwtText}, "", reply.OAuthHeaderFormatError},
		{"Bearer glued to token", LocationHeader, map[string]string{"authorization": "Bearer" + jwtText}, "", reply.OAuthHeaderFormatError},
		{"unterminated quote", LocationHeader, map[string]string{"authorization": `Bearer id_token="` + jwtText}, "", reply.OAuthHeaderFormatError},
		{"junk after quote", LocationHeader, map[string]string{"authorization": `Bearer id_token="` + jwtText + `"x`}, "", reply.OAuthHeaderFormatError},
		{"junk after bare param", LocationHeader, map[string]string{"authorization": `Bearer id_token=` + jwtText + ` x`}, "", reply.OAuthHeaderFormatError},
		{"Bearer alone", LocationHeader, map[string]string{"authorization": "Bearer"}, "", reply.OAuthNoIDToken},
		{"Bearer and spaces", LocationHeader, map[string]string{"authorization": "Bearer   "}, "", reply.OAuthNoIDToken},
		{"empty quoted id_token", LocationHeader, map[string]string{"authorization": `Bearer id_token=""`}, "", reply.OAuthNoIDToken},
		{"empty bare id_token", LocationHeader, map[string]string{"authorization": `Bearer id_token=`}, "", reply.OAuthNoIDToken},
		{"Tencent form", LocationHeader, map[string]string{"authorization": `Bearer id_token="` + jwtText + `"`}, jwtText, reply.None},
		{"bare Bearer form", LocationHeader, map[string]string{"authorization": "Bearer " + jwtText}, jwtText, reply.None},
		{"scheme in any case", LocationHeader, map[string]string{"authorization": "bEARER " + jwtText}, jwtText, reply.None},
		{"param in any case, spaces", LocationHeader, map[string]string{"authorization": `Bearer  ID_Token = "` + jwtText + `" `}, jwtText, reply.None},
		{"unquoted param", LocationHeader, map[string]string{"authorization": `Bearer id_token=` + jwtText}, jwtText, reply.None},
		{"other params follow", LocationHeader, map[string]string{"authorization": `Bearer id_token="` + jwtText + `", realm="x"`}, jwtText, reply.None},
		{"tab separator", LocationHeader, map[string]string{"authorization": "Bearer\t" + jwtText}, jwtText, reply.None},
		{"not a JWT is still returned", LocationHeader, map[string]string{"authorization": "Bearer abc def"}, "abc def", reply.None},
		{"token starting with id_token", LocationHeader, map[string]string{"authorization": "Bearer id_tokenX"}, "id_tokenX", reply.None},
		{"header wins over cookie", LocationHeader, map[string]string{"authorization": "Bearer " + jwtText, "cookie": "id_token=other"}, jwtText, reply.None},
		{"header answer wins over cookie", LocationHeader, map[string]string{"authorization": "Basic x", "cookie": "id_token=" + jwtText}, "", reply.OAuthHeaderFormatError},

		// Cookie location.
		{"no cookie header", LocationCookie, nil, "", reply.OAuthMissIDToken},
		{"no cookie, authorization present", LocationCookie, map[string]string{"authorization": "Bearer " + jwtText}, "", reply.OAuthMissIDToken},
		{"empty cookie header", LocationCookie, map[string]string{"cookie": ""}, "", reply.OAuthMissIDToken},
		{"other cookies", LocationCookie, map[string]string{"cookie": "a=b; session=xyz"}, "", reply.OAuthMissIDToken},
		{"name case differs", LocationCookie, map[string]string{"cookie": "ID_TOKEN=" + jwtText}, "", reply.OAuthMissIDToken},
		{"name is a suffix", LocationCookie, map[string]string{"cookie": "my_id_token=" + jwtText}, "", reply.OAuthMissIDToken},
		{"name is a prefix", LocationCookie, map[string]string{"cookie": "id_token_x=" + jwtText}, "", reply.OAuthMissIDToken},
		{"empty value", LocationCookie, map[string]string{"cookie": "id_token="}, "", reply.OAuthMissIDToken},
		{"no value", LocationCookie, map[string]string{"cookie": "id_token"}, "", reply.OAuthMissIDToken},
		{"only cookie", LocationCookie, map[string]string{"cookie": "id_token=" + jwtText}, jwtText, reply.None},
		{"among others", LocationCookie, map[string]string{"cookie": "a=b; id_token=" + jwtText + "; c=d"}, jwtText, reply.None},
		{"no space after ;", LocationCookie, map[string]string{"cookie": "a=b;id_token=" + jwtText}, jwtText, reply.None},
		{"quoted value", LocationCookie, map[string]string{"cookie": `id_token="` + jwtText + `"`}, jwtText, reply.None},
		{"first non-empty wins", LocationCookie, map[string]string{"cookie": "id_token=; id_token=" + jwtText + "; id_token=other"}, jwtText, reply.None},
		{"joined Cookie headers", LocationCookie, map[string]string{"cookie": "a=b; c=d; id_token=" + jwtText}, jwtText, reply.None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			get := func(name string) (string, bool) {
				if name != strings.ToLower(name) {
					t.Errorf("get(%q): names must be lower case", name)
				}
				v, ok := tt.headers[name]
				return v, ok
			}
			tok, rerr := Extract(tt.loc, get)
			if tt.code == reply.None {
				if rerr != nil || tok != tt.want {
					t.Fatalf("got %q, %v; want %q", tok, rerr, tt.want)
				}
				return
			}
			if rerr == nil || rerr.Code != tt.code || tok != "" {
				t.Fatalf("got %q, %v; want %v", tok, rerr, tt.code)
			}
			if rerr.Status() != 401 {
				t.Errorf("status %d, want 401", rerr.Status())
			}
		})
	}
}

// The answers read the table: check one message to the letter.
func TestExtractMessage(t *testing.T) {
	_, rerr := Extract(LocationCookie, func(string) (string, bool) { return "", false })
	if rerr.Error() != "Oauth miss Oauth id_token." {
		t.Fatalf("message %q", rerr.Error())
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(uint8(1), `Bearer id_token="`+jwtText+`"`)
	f.Add(uint8(1), "Bearer "+jwtText)
	f.Add(uint8(1), `Bearer id_token=`)
	f.Add(uint8(2), "a=b; id_token="+jwtText)
	f.Add(uint8(2), `id_token="x`)
	f.Fuzz(func(t *testing.T, loc uint8, v string) {
		l := LocationHeader
		if loc%2 == 0 {
			l = LocationCookie
		}
		tok, rerr := Extract(l, func(string) (string, bool) { return v, true })
		if (rerr == nil) == (tok == "") {
			t.Fatalf("token %q with answer %v", tok, rerr)
		}
		if rerr != nil && rerr.Status() != 401 {
			t.Fatalf("answer %v", rerr)
		}
		if rerr == nil && !strings.Contains(v, tok) {
			t.Fatalf("token %q is not part of %q", tok, v)
		}
	})
}
