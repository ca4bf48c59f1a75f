//go:build !apigw_faults

package main

// injectFault does nothing in the release module; see faults_on.go.
func injectFault(*hostHeaders) {}
