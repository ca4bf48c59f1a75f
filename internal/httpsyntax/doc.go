// Package httpsyntax is the HTTP grammar the gateway needs, written once: tokens and field
// values (RFC 9110), the request methods the gateway serves, host[:port] authorities, and the
// downstream address Envoy reports. Every function reads its input in place and allocates
// nothing, so the request path can call them freely.
package httpsyntax
