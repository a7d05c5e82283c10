package nflog

import (
	"testing"

	"github.com/mdlayher/netlink"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestHandleDropsAndCounts: a full channel drops samples without blocking, sequence gaps count
// as kernel drops, and malformed messages are counted.
func TestHandleDropsAndCounts(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	r := &Reader{out: make(chan Record, 2), metrics: m}
	pkt := ipv4(17, "198.18.0.1", "198.18.0.2", ports(1, 2, 0))
	msg := func(seq uint32, payload []byte) *netlink.Message {
		return &netlink.Message{
			Header: netlink.Header{Type: netlink.HeaderType(subsysULOG<<8 | msgPacket)},
			Data:   cat(nfgen(2, 5), nla(attrPrefix, []byte("p\x00")), nla(attrSeq, be32(seq)), nla(attrPayload, payload)),
		}
	}
	for _, seq := range []uint32{10, 11, 12, 15} { // 13 and 14 lost by the kernel; 12 and 15 find the channel full
		r.handle(msg(seq, pkt))
	}
	r.handle(msg(16, pkt[:10]))                                                                                              // truncated packet
	r.handle(&netlink.Message{Header: netlink.Header{Type: netlink.HeaderType(subsysULOG<<8 | msgPacket)}, Data: []byte{1}}) // bad message
	r.handle(&netlink.Message{Header: netlink.Header{Type: netlink.Done}})                                                   // not a packet: ignored

	if n := len(r.out); n != 2 {
		t.Fatalf("delivered %d records, want 2", n)
	}
	if rec := <-r.out; rec.Prefix != "p" || rec.Packet.DstPort != 2 {
		t.Errorf("record = %+v", rec)
	}
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"received", m.Received, 6},
		{"dropped consumer", m.Dropped.WithLabelValues(DropConsumer), 2},
		{"dropped kernel", m.Dropped.WithLabelValues(DropKernel), 2},
		{"malformed", m.Malformed, 2},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if got := m.DroppedTotal(); got != 4 {
		t.Errorf("DroppedTotal = %d, want 4", got)
	}
	if n, err := testutil.GatherAndCount(reg, "palisade_nflog_dropped_total", "palisade_nflog_received_total"); err != nil || n != 3 {
		t.Errorf("registered series = %d (%v), want 3", n, err)
	}
}
