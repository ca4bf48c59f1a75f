// Package reply is the one table of the gateway's own answers: every row of the error table
// (status and message, to the letter) and the JSON body and headers each answer carries.
// Nothing else in the project spells a status or a message; callers name a Code and, for the
// rows with a placeholder, the value that fills it.
package reply

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// Code names one row of the error table.
type Code uint8

// The rows, grouped by status. Rows whose message has a placeholder take it from Error.Arg.
// Two rows are the project's own, not the Tencent table's: InvalidRequestPath (spec step 1b:
// the table has no answer for a path that cannot be normalized) and IPNotAllowed.
const (
	None Code = iota

	InvalidRequestPath // 400 (the project's own row; not in the Tencent table)

	HMACApiKeyInvalidForAPI   // 401
	HMACXDateInvalid          // 401
	HMACXDateOutOfDate        // 401
	HMACDateRequired          // 401
	HMACIDOrSignatureMissing  // 401
	HMACMultipleHeader        // 401
	HMACHeaderRequired        // 401, Arg: header name
	HMACAlgorithmNotSupported // 401, Arg: algorithm
	HMACFormatError           // 401
	HMACHeadersInvalid        // 401
	HMACCannotVerify          // 401
	HMACSignatureMismatch     // 401

	OAuthCallServerFail     // 401
	OAuthNoRelatedAPI       // 401
	OAuthMissIDToken        // 401
	OAuthAuthHeaderRequired // 401
	OAuthHeaderFormatError  // 401
	OAuthNoAuthHeader       // 401
	OAuthNoIDToken          // 401
	OAuthIDTokenVerifyError // 401

	NoUsagePlan          // 403
	ClientIPUnknown      // 403
	EndpointIPNotAllowed // 403
	ParamInvalid         // 403, Arg: parameter name
	NeedWebSocketKey     // 403
	NeedWebSocketVersion // 403
	HeaderRequired       // 403, Arg: header name
	PathVariableRequired // 403, Arg: variable name
	QueryRequired        // 403, Arg: query name
	BodyNeedsForm        // 403
	BodyParamRequired    // 403, Arg: body parameter name
	IPNotAllowed         // 403 (Kong's text; not a row of the Tencent table)

	MicroServiceNotFound // 404
	HostNotFound         // 404
	HostInvalid          // 404
	MethodNotSupported   // 404
	NoAPIForHost         // 404, Arg: host
	NoEnvMapping         // 404, Arg: /segment
	NoDefaultEnvMapping  // 404, Arg: /segment
	NoAPIForURI          // 404, Arg: uri
	NoAPIInEnvironment   // 404

	MethodNotAllowed // 405

	HTTPSNotAllowed    // 426
	HTTPNotAllowed     // 426
	ProtocolNotAllowed // 426, Arg: protocol (WS, WSS)

	RateLimitExceeded // 429
	QuotaExceeded     // 429
	CrossOrigin       // 429, Arg: uri

	APIConfigError             // 481
	TSFConfigError             // 481
	MicroServiceLocationFail   // 481
	MicroServiceLocationFormat // 481
	CORSConfigError            // 481
	OAuthPublicKeyError        // 481
	OAuthLocationForbidden     // 481
	OAuthNoConfig              // 481
	OAuthNoPublicKey           // 481
	MockConfigError            // 481

	ClientClosed // 499

	QueryParamsError    // 500
	InternalServerError // 500
	BadGateway          // 502
	GatewayTimeout      // 504

	numCodes
)

type row struct {
	status int
	// message, with at most one placeholder "%s" that Arg fills.
	message string
}

// table is the error table. Placeholders of the source ("xxx", "$host", ...) are written "%s".
var table = [numCodes]row{
	InvalidRequestPath: {400, "Invalid request path."},

	HMACApiKeyInvalidForAPI:   {401, "HMAC apikey is invalid for API."},
	HMACXDateInvalid:          {401, "HMAC signature cannot be verified, a valid x-date header is required for HMAC Authentication."},
	HMACXDateOutOfDate:        {401, "HMAC signature cannot be verified, the x-date header is out of date for HMAC Authentication."},
	HMACDateRequired:          {401, "HMAC signature cannot be verified, a valid date or x-date header is required."},
	HMACIDOrSignatureMissing:  {401, "HMAC id or signature missing."},
	HMACMultipleHeader:        {401, "HMAC do not support multiple HTTP header."},
	HMACHeaderRequired:        {401, "HMAC signature cannot be verified, a valid %s header is required."},
	HMACAlgorithmNotSupported: {401, "HMAC algorithm %s not supported."},
	HMACFormatError:           {401, "HMAC authorization format error."},
	HMACHeadersInvalid:        {401, "HMAC authorization headers is invalidate."},
	HMACCannotVerify:          {401, "HMAC signature cannot be verified."},
	HMACSignatureMismatch:     {401, "HMAC signature does not match."},

	OAuthCallServerFail:     {401, "Oauth call authentication server fail."},
	OAuthNoRelatedAPI:       {401, "Oauth found no related Oauth api."},
	OAuthMissIDToken:        {401, "Oauth miss Oauth id_token."},
	OAuthAuthHeaderRequired: {401, "Oauth signature cannot be verified, a validate authorization header is required."},
	OAuthHeaderFormatError:  {401, "Oauth authorization header format error."},
	OAuthNoAuthHeader:       {401, "Oauth found no authorization header."},
	OAuthNoIDToken:          {401, "Oauth found no id_token."},
	OAuthIDTokenVerifyError: {401, "Oauth id_token verify error."},

	NoUsagePlan:          {403, "Found no validate usage plan."},
	ClientIPUnknown:      {403, "Cannot identify the client IP address, unix domain sockets are not supported."},
	EndpointIPNotAllowed: {403, "Endpoint IP address is not allowed."},
	ParamInvalid:         {403, "Get %s params fail."},
	NeedWebSocketKey:     {403, "need header Sec-WebSocket-Key."},
	NeedWebSocketVersion: {403, "need header Sec-WebSocket-Version."},
	HeaderRequired:       {403, "header %s is required."},
	PathVariableRequired: {403, "path variable %s is required."},
	QueryRequired:        {403, "querystring %s is required."},
	BodyNeedsForm:        {403, "req content type need application/x-www-form-urlencoded."},
	BodyParamRequired:    {403, "body param %s is required."},
	IPNotAllowed:         {403, "Your IP address is not allowed."},

	MicroServiceNotFound: {404, "Not found micro service with key."},
	HostNotFound:         {404, "Not Found Host."},
	HostInvalid:          {404, "Get Host Fail."},
	MethodNotSupported:   {404, "Could not support method."},
	NoAPIForHost:         {404, "There is no api match host[%s]."},
	NoEnvMapping:         {404, "There is no api match env_mapping[%s]."},
	NoDefaultEnvMapping:  {404, "There is no api match default env_mapping[%s]."},
	NoAPIForURI:          {404, "There is no api match uri[%s]."},
	NoAPIInEnvironment:   {404, "Found no api."},

	MethodNotAllowed: {405, "Method Not Allowed."},

	HTTPSNotAllowed:    {426, "Not allow use HTTPS protocol."},
	HTTPNotAllowed:     {426, "Not allow use HTTP protocol."},
	ProtocolNotAllowed: {426, "Not allow use %s protocol."},

	RateLimitExceeded: {429, "API rate limit exceeded."},
	QuotaExceeded:     {429, "API quota exceeded."},
	CrossOrigin:       {429, "req is cross origin, api %s need open cors flag on qcloud apigateway."},

	APIConfigError:             {481, "API config error."},
	TSFConfigError:             {481, "TSF config error."},
	MicroServiceLocationFail:   {481, "Get location of micro service info fail."},
	MicroServiceLocationFormat: {481, "Only support the map_from like method.req.{path}.{}."},
	CORSConfigError:            {481, "Found no valid cors config."},
	OAuthPublicKeyError:        {481, "Oauth public key error."},
	OAuthLocationForbidden:     {481, "Oauth id_token location forbidden."},
	OAuthNoConfig:              {481, "Oauth found no oauth config."},
	OAuthNoPublicKey:           {481, "Oauth found no public key."},
	MockConfigError:            {481, "Mock config error."},

	ClientClosed: {499, "Client closed connetion."},

	QueryParamsError:    {500, "Error occurred during query params."},
	InternalServerError: {500, "Internal Server Error."},
	BadGateway:          {502, "Bad Gateway."},
	GatewayTimeout:      {504, "Gateway Time-out."},
}

// Key is a short snake_case name of the row, for metric names; it is not a message.
func (c Code) Key() string {
	if c >= numCodes {
		return "unknown"
	}
	return keys[c]
}

// Status is the HTTP status of the row.
func (c Code) Status() int {
	if c == None || c >= numCodes {
		return 500
	}
	return table[c].status
}

// HasArg reports whether the row's message has a placeholder.
func (c Code) HasArg() bool { return c < numCodes && strings.Contains(table[c].message, "%s") }

// Message is the row's message with its placeholder, if any, filled by arg.
func (c Code) Message(arg string) string {
	if c == None || c >= numCodes {
		return table[InternalServerError].message
	}
	m := table[c].message
	if i := strings.Index(m, "%s"); i >= 0 {
		return m[:i] + arg + m[i+2:]
	}
	return m
}

// Error is a gateway answer: a row and the value of its placeholder. It is an error value so
// that checks can return it as one.
type Error struct {
	Code Code
	Arg  string
}

// New returns the answer for a row; arg fills its placeholder (ignored by rows without one).
func New(c Code, arg string) *Error { return &Error{Code: c, Arg: arg} }

func (e *Error) Error() string { return e.Code.Message(e.Arg) }

// Status is the HTTP status of the answer.
func (e *Error) Status() int { return e.Code.Status() }

// Body is the JSON body of the answer: {"message":"..."}.
func (e *Error) Body() []byte { return JSONMessage(e.Code.Message(e.Arg)) }

// ContentType is the content-type of every gateway answer.
const ContentType = "application/json; charset=utf-8"

// RequestIDHeader carries the request id on every response and on the upstream request.
const RequestIDHeader = "x-api-requestid"

// JSONMessage encodes {"message": msg}. Placeholder values come from requests (hosts, paths),
// so everything JSON requires is escaped, and invalid UTF-8 becomes U+FFFD.
func JSONMessage(msg string) []byte {
	b := make([]byte, 0, len(msg)+16)
	b = append(b, `{"message":`...)
	b = appendJSONString(b, msg)
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b = append(b, '\\', c)
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20 || c == 0x7f:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, `\ufffd`...)
		} else {
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

// String names the code for logs and metrics: its status and message without placeholder value.
func (c Code) String() string {
	if c >= numCodes {
		return "code(" + strconv.Itoa(int(c)) + ")"
	}
	return strconv.Itoa(c.Status()) + " " + table[c].message
}

// keys name the rows for metrics (Code.Key).
var keys = [numCodes]string{
	InvalidRequestPath:         "invalid_request_path",
	HMACApiKeyInvalidForAPI:    "hmac_api_key_invalid_for_api",
	HMACXDateInvalid:           "hmac_x_date_invalid",
	HMACXDateOutOfDate:         "hmac_x_date_out_of_date",
	HMACDateRequired:           "hmac_date_required",
	HMACIDOrSignatureMissing:   "hmac_id_or_signature_missing",
	HMACMultipleHeader:         "hmac_multiple_header",
	HMACHeaderRequired:         "hmac_header_required",
	HMACAlgorithmNotSupported:  "hmac_algorithm_not_supported",
	HMACFormatError:            "hmac_format_error",
	HMACHeadersInvalid:         "hmac_headers_invalid",
	HMACCannotVerify:           "hmac_cannot_verify",
	HMACSignatureMismatch:      "hmac_signature_mismatch",
	OAuthCallServerFail:        "oauth_call_server_fail",
	OAuthNoRelatedAPI:          "oauth_no_related_api",
	OAuthMissIDToken:           "oauth_miss_id_token",
	OAuthAuthHeaderRequired:    "oauth_auth_header_required",
	OAuthHeaderFormatError:     "oauth_header_format_error",
	OAuthNoAuthHeader:          "oauth_no_auth_header",
	OAuthNoIDToken:             "oauth_no_id_token",
	OAuthIDTokenVerifyError:    "oauth_id_token_verify_error",
	NoUsagePlan:                "no_usage_plan",
	ClientIPUnknown:            "client_ip_unknown",
	EndpointIPNotAllowed:       "endpoint_ip_not_allowed",
	ParamInvalid:               "param_invalid",
	NeedWebSocketKey:           "need_web_socket_key",
	NeedWebSocketVersion:       "need_web_socket_version",
	HeaderRequired:             "header_required",
	PathVariableRequired:       "path_variable_required",
	QueryRequired:              "query_required",
	BodyNeedsForm:              "body_needs_form",
	BodyParamRequired:          "body_param_required",
	IPNotAllowed:               "ip_not_allowed",
	MicroServiceNotFound:       "micro_service_not_found",
	HostNotFound:               "host_not_found",
	HostInvalid:                "host_invalid",
	MethodNotSupported:         "method_not_supported",
	NoAPIForHost:               "no_api_for_host",
	NoEnvMapping:               "no_env_mapping",
	NoDefaultEnvMapping:        "no_default_env_mapping",
	NoAPIForURI:                "no_api_for_uri",
	NoAPIInEnvironment:         "no_api_in_environment",
	MethodNotAllowed:           "method_not_allowed",
	HTTPSNotAllowed:            "https_not_allowed",
	HTTPNotAllowed:             "http_not_allowed",
	ProtocolNotAllowed:         "protocol_not_allowed",
	RateLimitExceeded:          "rate_limit_exceeded",
	QuotaExceeded:              "quota_exceeded",
	CrossOrigin:                "cross_origin",
	APIConfigError:             "api_config_error",
	TSFConfigError:             "tsf_config_error",
	MicroServiceLocationFail:   "micro_service_location_fail",
	MicroServiceLocationFormat: "micro_service_location_format",
	CORSConfigError:            "cors_config_error",
	OAuthPublicKeyError:        "oauth_public_key_error",
	OAuthLocationForbidden:     "oauth_location_forbidden",
	OAuthNoConfig:              "oauth_no_config",
	OAuthNoPublicKey:           "oauth_no_public_key",
	MockConfigError:            "mock_config_error",
	ClientClosed:               "client_closed",
	QueryParamsError:           "query_params_error",
	InternalServerError:        "internal_server_error",
	BadGateway:                 "bad_gateway",
	GatewayTimeout:             "gateway_timeout",
}
