// Package httpsyntax is the HTTP grammar the gateway needs, written once: the normalization of
// request paths, tokens and field values (RFC 9110), the request methods the gateway serves,
// host[:port] authorities, and the downstream address Envoy reports. The functions read their
// input in place and allocate only to return a changed path, so the request path can call them
// freely.
package httpsyntax
