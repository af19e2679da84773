// dns-relay: the real node's kube-dns pod (kube-system, k8s-app=kube-dns, behind the kube-dns Service). The
// charts' NetworkPolicies allow DNS only to such pods, as in a cluster with CoreDNS; the names themselves
// are served by the node's cluster DNS server (scripts/lib/cluster-dns.ts), to which this pod relays every
// UDP query unchanged:
//
//	dns-relay <listen address, e.g. :53> <upstream, e.g. 10.89.0.1:53>
package main

import (
	"log"
	"net"
	"os"
	"time"
)

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: dns-relay <listen address> <upstream address>")
	}
	listen, err := net.ListenPacket("udp", os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	upstream, err := net.ResolveUDPAddr("udp", os.Args[2])
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("dns-relay: %s -> %s", os.Args[1], upstream)
	buf := make([]byte, 65535)
	for {
		n, client, err := listen.ReadFrom(buf)
		if err != nil {
			log.Fatal(err)
		}
		query := append([]byte(nil), buf[:n]...)
		go func() {
			conn, err := net.DialUDP("udp", nil, upstream)
			if err != nil {
				log.Print(err)
				return
			}
			defer conn.Close()
			_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := conn.Write(query); err != nil {
				return
			}
			answer := make([]byte, 65535)
			m, err := conn.Read(answer)
			if err != nil {
				return
			}
			_, _ = listen.WriteTo(answer[:m], client)
		}()
	}
}
