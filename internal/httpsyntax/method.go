package httpsyntax

// Methods are the request methods the gateway serves (docs/gateway.md section 3, step 4); any other is
// answered 404 before an API is looked for.
var Methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// MethodIndex is the index of m in Methods, or -1. Methods are case-sensitive.
func MethodIndex(m string) int {
	// A switch, not a loop over Methods: it runs twice per request and the compiler matches
	// string cases by length and machine words, three times as fast. TestMethods keeps the
	// two in step.
	switch m {
	case "GET":
		return 0
	case "HEAD":
		return 1
	case "POST":
		return 2
	case "PUT":
		return 3
	case "DELETE":
		return 4
	case "PATCH":
		return 5
	case "OPTIONS":
		return 6
	}
	return -1
}

// IsMethod reports whether m is one of Methods.
func IsMethod(m string) bool { return MethodIndex(m) >= 0 }
