package httpsyntax

// Methods are the request methods the gateway serves (spec section 3, step 4); any other is
// answered 404 before an API is looked for.
var Methods = [...]string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}

// MethodIndex is the index of m in Methods, or -1. Methods are case-sensitive.
func MethodIndex(m string) int {
	for i, x := range Methods {
		if m == x {
			return i
		}
	}
	return -1
}

// IsMethod reports whether m is one of Methods.
func IsMethod(m string) bool { return MethodIndex(m) >= 0 }
