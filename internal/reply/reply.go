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

// The codes, one per row of rows below, grouped by status. Two rows are the project's own, not
// the Tencent table's: InvalidRequestPath (docs/gateway.md step 1b: the table has no answer for
// a path that cannot be normalized) and IPNotAllowed.
const (
	None Code = iota

	InvalidRequestPath

	HMACApiKeyInvalidForAPI
	HMACXDateInvalid
	HMACXDateOutOfDate
	HMACDateRequired
	HMACIDOrSignatureMissing
	HMACMultipleHeader
	HMACHeaderRequired
	HMACAlgorithmNotSupported
	HMACFormatError
	HMACHeadersInvalid
	HMACCannotVerify
	HMACSignatureMismatch

	OAuthCallServerFail
	OAuthNoRelatedAPI
	OAuthMissIDToken
	OAuthAuthHeaderRequired
	OAuthHeaderFormatError
	OAuthNoAuthHeader
	OAuthNoIDToken
	OAuthIDTokenVerifyError

	NoUsagePlan
	ClientIPUnknown
	EndpointIPNotAllowed
	ParamInvalid
	NeedWebSocketKey
	NeedWebSocketVersion
	HeaderRequired
	PathVariableRequired
	QueryRequired
	BodyNeedsForm
	BodyParamRequired
	IPNotAllowed

	MicroServiceNotFound
	HostNotFound
	HostInvalid
	MethodNotSupported
	NoAPIForHost
	NoEnvMapping
	NoDefaultEnvMapping
	NoAPIForURI
	NoAPIInEnvironment

	MethodNotAllowed

	HTTPSNotAllowed
	HTTPNotAllowed
	ProtocolNotAllowed

	RateLimitExceeded
	QuotaExceeded
	CrossOrigin

	APIConfigError
	TSFConfigError
	MicroServiceLocationFail
	MicroServiceLocationFormat
	CORSConfigError
	OAuthPublicKeyError
	OAuthLocationForbidden
	OAuthNoConfig
	OAuthNoPublicKey
	MockConfigError

	ClientClosed

	QueryParamsError
	InternalServerError
	BadGateway
	GatewayTimeout

	numCodes
)

// LimitStoreUnavailable is the answer to a request that on_store_failure "deny" refuses while
// the cluster-wide limits' store fails: the table has no row of its own for it, and Tencent
// answers an internal fault of the gateway with this one (docs/limits.md, Failures).
const LimitStoreUnavailable = InternalServerError

// row is one row of the error table.
type row struct {
	status  int
	message string // at most one placeholder "%s", filled by Error.Arg
	key     string // snake_case name for metrics (Code.Key); not a message
}

// rows is the error table, one row per Code. Placeholders of the source ("xxx", "$host",
// ...) are written "%s".
var rows = [numCodes]row{
	InvalidRequestPath: {400, "Invalid request path.", "invalid_request_path"},

	HMACApiKeyInvalidForAPI:   {401, "HMAC apikey is invalid for API.", "hmac_api_key_invalid_for_api"},
	HMACXDateInvalid:          {401, "HMAC signature cannot be verified, a valid x-date header is required for HMAC Authentication.", "hmac_x_date_invalid"},
	HMACXDateOutOfDate:        {401, "HMAC signature cannot be verified, the x-date header is out of date for HMAC Authentication.", "hmac_x_date_out_of_date"},
	HMACDateRequired:          {401, "HMAC signature cannot be verified, a valid date or x-date header is required.", "hmac_date_required"},
	HMACIDOrSignatureMissing:  {401, "HMAC id or signature missing.", "hmac_id_or_signature_missing"},
	HMACMultipleHeader:        {401, "HMAC do not support multiple HTTP header.", "hmac_multiple_header"},
	HMACHeaderRequired:        {401, "HMAC signature cannot be verified, a valid %s header is required.", "hmac_header_required"},
	HMACAlgorithmNotSupported: {401, "HMAC algorithm %s not supported.", "hmac_algorithm_not_supported"},
	HMACFormatError:           {401, "HMAC authorization format error.", "hmac_format_error"},
	HMACHeadersInvalid:        {401, "HMAC authorization headers is invalidate.", "hmac_headers_invalid"},
	HMACCannotVerify:          {401, "HMAC signature cannot be verified.", "hmac_cannot_verify"},
	HMACSignatureMismatch:     {401, "HMAC signature does not match.", "hmac_signature_mismatch"},

	OAuthCallServerFail:     {401, "Oauth call authentication server fail.", "oauth_call_server_fail"},
	OAuthNoRelatedAPI:       {401, "Oauth found no related Oauth api.", "oauth_no_related_api"},
	OAuthMissIDToken:        {401, "Oauth miss Oauth id_token.", "oauth_miss_id_token"},
	OAuthAuthHeaderRequired: {401, "Oauth signature cannot be verified, a validate authorization header is required.", "oauth_auth_header_required"},
	OAuthHeaderFormatError:  {401, "Oauth authorization header format error.", "oauth_header_format_error"},
	OAuthNoAuthHeader:       {401, "Oauth found no authorization header.", "oauth_no_auth_header"},
	OAuthNoIDToken:          {401, "Oauth found no id_token.", "oauth_no_id_token"},
	OAuthIDTokenVerifyError: {401, "Oauth id_token verify error.", "oauth_id_token_verify_error"},

	NoUsagePlan:          {403, "Found no validate usage plan.", "no_usage_plan"},
	ClientIPUnknown:      {403, "Cannot identify the client IP address, unix domain sockets are not supported.", "client_ip_unknown"},
	EndpointIPNotAllowed: {403, "Endpoint IP address is not allowed.", "endpoint_ip_not_allowed"},
	ParamInvalid:         {403, "Get %s params fail.", "param_invalid"},
	NeedWebSocketKey:     {403, "need header Sec-WebSocket-Key.", "need_web_socket_key"},
	NeedWebSocketVersion: {403, "need header Sec-WebSocket-Version.", "need_web_socket_version"},
	HeaderRequired:       {403, "header %s is required.", "header_required"},
	PathVariableRequired: {403, "path variable %s is required.", "path_variable_required"},
	QueryRequired:        {403, "querystring %s is required.", "query_required"},
	BodyNeedsForm:        {403, "req content type need application/x-www-form-urlencoded.", "body_needs_form"},
	BodyParamRequired:    {403, "body param %s is required.", "body_param_required"},
	IPNotAllowed:         {403, "Your IP address is not allowed.", "ip_not_allowed"},

	MicroServiceNotFound: {404, "Not found micro service with key.", "micro_service_not_found"},
	HostNotFound:         {404, "Not Found Host.", "host_not_found"},
	HostInvalid:          {404, "Get Host Fail.", "host_invalid"},
	MethodNotSupported:   {404, "Could not support method.", "method_not_supported"},
	NoAPIForHost:         {404, "There is no api match host[%s].", "no_api_for_host"},
	NoEnvMapping:         {404, "There is no api match env_mapping[%s].", "no_env_mapping"},
	NoDefaultEnvMapping:  {404, "There is no api match default env_mapping[%s].", "no_default_env_mapping"},
	NoAPIForURI:          {404, "There is no api match uri[%s].", "no_api_for_uri"},
	NoAPIInEnvironment:   {404, "Found no api.", "no_api_in_environment"},

	MethodNotAllowed: {405, "Method Not Allowed.", "method_not_allowed"},

	HTTPSNotAllowed:    {426, "Not allow use HTTPS protocol.", "https_not_allowed"},
	HTTPNotAllowed:     {426, "Not allow use HTTP protocol.", "http_not_allowed"},
	ProtocolNotAllowed: {426, "Not allow use %s protocol.", "protocol_not_allowed"},

	RateLimitExceeded: {429, "API rate limit exceeded.", "rate_limit_exceeded"},
	QuotaExceeded:     {429, "API quota exceeded.", "quota_exceeded"},
	CrossOrigin:       {429, "req is cross origin, api %s need open cors flag on qcloud apigateway.", "cross_origin"},

	APIConfigError:             {481, "API config error.", "api_config_error"},
	TSFConfigError:             {481, "TSF config error.", "tsf_config_error"},
	MicroServiceLocationFail:   {481, "Get location of micro service info fail.", "micro_service_location_fail"},
	MicroServiceLocationFormat: {481, "Only support the map_from like method.req.{path}.{}.", "micro_service_location_format"},
	CORSConfigError:            {481, "Found no valid cors config.", "cors_config_error"},
	OAuthPublicKeyError:        {481, "Oauth public key error.", "oauth_public_key_error"},
	OAuthLocationForbidden:     {481, "Oauth id_token location forbidden.", "oauth_location_forbidden"},
	OAuthNoConfig:              {481, "Oauth found no oauth config.", "oauth_no_config"},
	OAuthNoPublicKey:           {481, "Oauth found no public key.", "oauth_no_public_key"},
	MockConfigError:            {481, "Mock config error.", "mock_config_error"},

	ClientClosed: {499, "Client closed connetion.", "client_closed"},

	QueryParamsError:    {500, "Error occurred during query params.", "query_params_error"},
	InternalServerError: {500, "Internal Server Error.", "internal_server_error"},
	BadGateway:          {502, "Bad Gateway.", "bad_gateway"},
	GatewayTimeout:      {504, "Gateway Time-out.", "gateway_timeout"},
}

// Key is a short snake_case name of the row, for metric names; it is not a message.
func (c Code) Key() string {
	if c >= numCodes {
		return "unknown"
	}
	return rows[c].key
}

// Status is the HTTP status of the row.
func (c Code) Status() int {
	if c == None || c >= numCodes {
		return 500
	}
	return rows[c].status
}

// HasArg reports whether the row's message has a placeholder.
func (c Code) HasArg() bool { return c < numCodes && strings.Contains(rows[c].message, "%s") }

// Message is the row's message with its placeholder, if any, filled by arg.
func (c Code) Message(arg string) string {
	if c == None || c >= numCodes {
		return rows[InternalServerError].message
	}
	m := rows[c].message
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
	return strconv.Itoa(c.Status()) + " " + rows[c].message
}
