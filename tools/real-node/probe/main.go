// probe: the real node's connection prober (the network-policy probe matrix, test/real). It runs as an
// ephemeral container inside a source pod (so it has exactly that pod's address, labels, namespace and
// service account) and tries every target at once, one line per target:
//
//	probe [-timeout 2s] tcp:<ip>:<port> ... dns:<name>@<server ip>
//
// prints "<target> open|refused|timeout|error <detail>". Always exits 0 when the arguments parse.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
)

func tcp(address string, timeout time.Duration) string {
	conn, err := net.DialTimeout("tcp", address, timeout)
	if err == nil {
		conn.Close()
		return "open"
	}
	return classify(err)
}

func classify(err error) string {
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "refused unreachable"
	case errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	default:
		return "error " + strings.ReplaceAll(err.Error(), " ", "_")
	}
}

func dns(target string, timeout time.Duration) string {
	name, server, ok := strings.Cut(target, "@")
	if !ok {
		return "error no_@server"
	}
	resolver := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{Timeout: timeout}).DialContext(ctx, "udp", net.JoinHostPort(server, "53"))
		},
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	addrs, err := resolver.LookupHost(ctx, name)
	if err == nil {
		return "open " + strings.Join(addrs, ",")
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		if dnsErr.IsNotFound {
			return "open NXDOMAIN"
		}
		if dnsErr.IsTimeout {
			return "timeout"
		}
	}
	return classify(err)
}

func main() {
	timeout := flag.Duration("timeout", 2*time.Second, "per-target timeout")
	flag.Parse()
	results := make([]string, flag.NArg())
	var wg sync.WaitGroup
	for i, target := range flag.Args() {
		wg.Add(1)
		go func(i int, target string) {
			defer wg.Done()
			kind, rest, _ := strings.Cut(target, ":")
			switch kind {
			case "tcp":
				results[i] = tcp(rest, *timeout)
			case "dns":
				results[i] = dns(rest, *timeout)
			default:
				results[i] = "error unknown_kind"
			}
		}(i, target)
	}
	wg.Wait()
	for i, target := range flag.Args() {
		fmt.Printf("%s %s\n", target, results[i])
	}
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: probe [-timeout 2s] tcp:<ip>:<port>... dns:<name>@<server>...")
		os.Exit(2)
	}
}
