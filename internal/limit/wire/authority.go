package wire

import "strings"

// Authority is the :authority of a call to the bridge through the Envoy cluster named cluster:
// the cluster's name, except for a cluster istiod made for a Kubernetes Service,
// "outbound|<port>|<subset>|<host>", whose '|' no HTTP server takes in a Host header (Go's
// answers 400 before the bridge sees the call): there it is <host>:<port>, as a client of the
// Service would send.
func Authority(cluster string) string {
	f := strings.Split(cluster, "|")
	if len(f) != 4 || f[0] != "outbound" || f[1] == "" || f[3] == "" {
		return cluster
	}
	return f[3] + ":" + f[1]
}
