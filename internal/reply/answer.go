package reply

// Answer is a response the gateway gives itself instead of the upstream's: a row of the table,
// or a mock, a redirect, a preflight.
type Answer struct {
	Status  int
	Headers [][2]string
	Body    []byte
	Code    Code   // the row of an error answer; None for the others
	Message string // the filled message of an error answer, for the log
	// Details, when set, is what the proxy records as the response's code details (its access
	// log): for a failure of the upstream, the router's own details, so operators still see why.
	Details string
}

// Answer is the response for e, the one way every error answer is built: the row's status, the
// JSON body, its content-type, and the request id. Callers may append headers.
func (e *Error) Answer(requestID string) *Answer {
	msg := e.Error()
	return &Answer{
		Status:  e.Code.Status(),
		Headers: [][2]string{{"content-type", ContentType}, {RequestIDHeader, requestID}},
		Body:    JSONMessage(msg),
		Code:    e.Code,
		Message: msg,
	}
}
