package gateway

import (
	"strings"

	"github.com/apigw-wasm/apigw-wasm/internal/reply"
)

// Response is what step 13 reads of a response on its way to the client. Each method may cost a
// host call; Respond calls only what the response needs.
type Response interface {
	// Status is the response's status code (0 when unreadable).
	Status() int
	// Failure is what Envoy recorded about a reply its router made: the response code details
	// ("via_upstream" for the upstream's own answers) and the response flags bit vector.
	Failure() (details string, flags uint64)
	// Values is every value of a response header, in order.
	Values(name string) []string
}

// ResponseAction is what step 13 does with a response.
type ResponseAction struct {
	// Reply, when set, goes to the client in place of the response: the gateway's answer for a
	// failure the router replied to itself.
	Reply *Reply
	// SetHeaders otherwise replace (or add) response headers.
	SetHeaders [][2]string
}

// Respond is step 13 for a response to a request that Handle let through (d.Reply is nil): a
// reply the router made for an upstream failure becomes the gateway's own answer (502, 504; 401
// for an OAuth authorization API); every other response gets the request id and the API's
// response headers (CORS, limits), with the gateway's Vary names merged into the upstream's.
func (g *Gateway) Respond(d *Decision, r Response) ResponseAction {
	if c, details := routerFailure(r); c != reply.None {
		if d.API != nil && d.API.OAuthBusiness {
			c = reply.OAuthCallServerFail
		}
		ans := reply.New(c, "").Answer(d.requestID)
		ans.Details = details
		if len(d.ResponseHeaders) > 1 {
			ans.Headers = append(ans.Headers, d.ResponseHeaders[1:]...) // the id is there already
		}
		return ResponseAction{Reply: ans}
	}
	hs := d.ResponseHeaders
	if hs == nil {
		hs = [][2]string{{reply.RequestIDHeader, d.requestID}}
	}
	for i, kv := range hs {
		if kv[0] == "vary" {
			hs = append([][2]string(nil), hs...)
			hs[i][1] = mergeVary(r.Values("vary"), kv[1])
			break
		}
	}
	return ResponseAction{SetHeaders: hs}
}

// Response flags: Envoy's core response flags as a bit vector (response.flags).
const (
	flagNoHealthyUpstream = 1 << 1
	flagUpstreamTimeout   = 1 << 2
	flagUpstreamRemote    = 1 << 4 // UR: the upstream reset the stream
	flagUpstreamFailure   = 1 << 5
	flagUpstreamReset     = 1 << 6
	flagUpstreamOverflow  = 1 << 7
	flagDownstreamClosed  = 1 << 14
	flagUpstreamRetries   = 1 << 15
	flagNoCluster         = 1 << 24
	flagDNSFailure        = 1 << 26 // DF: a url backend's host did not resolve (dynamic forward proxy)
	flagDownstreamReset   = 1 << 28
)

// routerFailure is the gateway's answer for a reply the router made itself (None for others),
// and the router's response code details.
func routerFailure(r Response) (reply.Code, string) {
	switch r.Status() {
	case 502, 503, 504:
	default:
		return reply.None, ""
	}
	details, flags := r.Failure()
	if details == "via_upstream" || details == "" {
		return reply.None, "" // the upstream's own 5xx passes unchanged
	}
	switch {
	case flags&flagUpstreamTimeout != 0 || strings.HasSuffix(details, "timeout"):
		return reply.GatewayTimeout, details
	case flags&(flagUpstreamFailure|flagUpstreamReset|flagUpstreamRemote|flagNoHealthyUpstream|flagUpstreamOverflow|flagUpstreamRetries|flagNoCluster|flagDNSFailure) != 0,
		strings.HasPrefix(details, "upstream_reset"), details == "cluster_not_found", details == "no_healthy_upstream",
		strings.HasPrefix(details, "dns_resolution_failure"):
		return reply.BadGateway, details
	}
	return reply.None, ""
}

// ClientClosed is step 13 for a request that ended without any response passing the plugin:
// the 499 answer to log when the flags say the client went away, else nil.
func ClientClosed(flags uint64) *reply.Error {
	if flags&(flagDownstreamClosed|flagDownstreamReset) != 0 {
		return reply.New(reply.ClientClosed, "")
	}
	return nil
}

// mergeVary adds the gateway's Vary field names to those of the upstream's Vary headers, so
// that neither list is lost; "*" stays alone.
func mergeVary(upstream []string, ours string) string {
	if len(upstream) == 0 {
		return ours
	}
	var fields []string
	seen := map[string]bool{}
	add := func(list string) {
		for _, f := range strings.Split(list, ",") {
			f = strings.TrimSpace(f)
			if f != "" && !seen[strings.ToLower(f)] {
				seen[strings.ToLower(f)] = true
				fields = append(fields, f)
			}
		}
	}
	for _, v := range upstream {
		add(v)
	}
	if seen["*"] {
		return "*"
	}
	add(ours)
	return strings.Join(fields, ", ")
}
