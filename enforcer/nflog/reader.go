package nflog

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mdlayher/netlink"
	"golang.org/x/sys/unix"
)

// Netlink constants of nfnetlink_log (linux/netfilter/nfnetlink_log.h, nfnetlink.h).
const (
	subsysULOG     = 4
	msgPacket      = 0
	msgConfig      = 1
	cfgAttrCmd     = 1
	cfgAttrMode    = 2
	cfgAttrNLBuf   = 3
	cfgAttrTimeout = 4
	cfgAttrQThresh = 5
	cfgAttrFlags   = 6
	cfgCmdBind     = 1
	copyPacket     = 2
	cfgFlagSeq     = 0x0001
)

// Config says which group to read and how.
type Config struct {
	// Group is the NFLOG group (iptables --nflog-group).
	Group uint16
	// CopyRange is how many bytes of each packet the kernel copies (headers only; default 128).
	CopyRange uint16
	// Buffer is the capacity of the records channel (default 1024). When it is full, new samples
	// are dropped and counted: the reader never blocks the kernel.
	Buffer int
	// ReadBuffer is the socket receive buffer in bytes (default 4 MiB).
	ReadBuffer int
	// Metrics receives the counters; nil creates unregistered ones.
	Metrics *Metrics
}

// Record is one logged packet.
type Record struct {
	Prefix        string
	InDev, OutDev uint32
	HWProtocol    uint16
	// Timestamp is the kernel's timestamp when present (zero otherwise); callers that need a
	// time for every record use their own clock.
	Timestamp time.Time
	Packet    Packet
}

// Reader reads one NFLOG group from a netlink socket.
type Reader struct {
	conn    *netlink.Conn
	cfg     Config
	out     chan Record
	metrics *Metrics

	closeOnce sync.Once
	// lastSeq and haveSeq track the kernel's per-group sequence numbers; a gap is a kernel drop.
	lastSeq uint32
	haveSeq bool
}

// Open creates the netlink socket in the calling thread's network namespace (to read another
// namespace, lock the OS thread and switch to it around Open) and binds the group in copy-packet
// mode. The kernel allows one listener per group: a second Open of a bound group fails.
func Open(cfg Config) (*Reader, error) {
	if cfg.CopyRange == 0 {
		cfg.CopyRange = 128
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 1024
	}
	if cfg.ReadBuffer <= 0 {
		cfg.ReadBuffer = 4 << 20
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	conn, err := netlink.Dial(unix.NETLINK_NETFILTER, nil)
	if err != nil {
		return nil, fmt.Errorf("nflog: netlink socket: %w", err)
	}
	r := &Reader{conn: conn, cfg: cfg, out: make(chan Record, cfg.Buffer), metrics: cfg.Metrics}
	if err := conn.SetReadBuffer(cfg.ReadBuffer); err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("nflog: socket read buffer: %w", err)
	}
	if err := r.configure(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return r, nil
}

func (r *Reader) configure() error {
	mode := make([]byte, 6)
	binary.BigEndian.PutUint32(mode[0:4], uint32(r.cfg.CopyRange))
	mode[4] = copyPacket
	ae := netlink.NewAttributeEncoder()
	// One message: the kernel binds first, then applies the settings, so no packet is ever
	// queued under default settings.
	ae.Bytes(cfgAttrCmd, []byte{cfgCmdBind})
	ae.Bytes(cfgAttrMode, mode)
	// Deliver each packet at once (threshold 1, timeout 10ms) rather than batching for a
	// second: the counts are meant to be fresh.
	ae.Bytes(cfgAttrQThresh, binary.BigEndian.AppendUint32(nil, 1))
	ae.Bytes(cfgAttrTimeout, binary.BigEndian.AppendUint32(nil, 1))
	ae.Bytes(cfgAttrNLBuf, binary.BigEndian.AppendUint32(nil, 64<<10))
	// Sequence numbers let the reader count exactly what the kernel failed to deliver.
	ae.Bytes(cfgAttrFlags, binary.BigEndian.AppendUint16(nil, cfgFlagSeq))
	attrs, err := ae.Encode()
	if err != nil {
		return fmt.Errorf("nflog: group %d: encode config: %w", r.cfg.Group, err)
	}
	body := append([]byte{unix.AF_UNSPEC, 0, 0, 0}, attrs...)
	binary.BigEndian.PutUint16(body[2:4], r.cfg.Group)
	req, err := r.conn.Send(netlink.Message{
		Header: netlink.Header{
			Type:  netlink.HeaderType(subsysULOG<<8 | msgConfig),
			Flags: netlink.Request | netlink.Acknowledge,
		},
		Data: body,
	})
	if err != nil {
		return fmt.Errorf("nflog: group %d: send config: %w", r.cfg.Group, err)
	}
	// Read until the acknowledgement; a packet logged in between is handled, not mistaken for
	// the reply. A refused bind (the group has a listener already) comes back as the error.
	for range 64 {
		msgs, err := r.conn.Receive()
		if err != nil {
			return fmt.Errorf("nflog: group %d: bind: %w", r.cfg.Group, err)
		}
		for i := range msgs {
			if msgs[i].Header.Type == netlink.Error && msgs[i].Header.Sequence == req.Header.Sequence {
				return nil
			}
			r.handle(&msgs[i])
		}
	}
	return fmt.Errorf("nflog: group %d: bind: no acknowledgement", r.cfg.Group)
}

// Records is the channel Run delivers to; it is closed when Run returns.
func (r *Reader) Records() <-chan Record { return r.out }

// Run reads until ctx is done or the socket fails, and closes the records channel. It never
// blocks on the consumer: a full channel drops the sample and counts it.
func (r *Reader) Run(ctx context.Context) error {
	defer close(r.out)
	stop := context.AfterFunc(ctx, func() { _ = r.Close() })
	defer stop()
	for {
		msgs, err := r.conn.Receive()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, unix.ENOBUFS) {
				// The kernel could not queue messages for us. The sequence gap of the next
				// message counts them exactly; without a sequence, count the event.
				if !r.haveSeq {
					r.metrics.drop(DropKernel, 1)
				}
				continue
			}
			return fmt.Errorf("nflog: group %d: receive: %w", r.cfg.Group, err)
		}
		for i := range msgs {
			r.handle(&msgs[i])
		}
	}
}

func (r *Reader) handle(m *netlink.Message) {
	if m.Header.Type != netlink.HeaderType(subsysULOG<<8|msgPacket) {
		return
	}
	r.metrics.Received.Inc()
	a, err := ParseAttributes(m.Data)
	if err != nil {
		r.metrics.Malformed.Inc()
		return
	}
	if a.HasSeq {
		if r.haveSeq && a.Seq-r.lastSeq > 1 {
			r.metrics.drop(DropKernel, int64(a.Seq-r.lastSeq-1))
		}
		r.lastSeq, r.haveSeq = a.Seq, true
	}
	p, err := ParsePacket(a.Payload)
	if err != nil {
		r.metrics.Malformed.Inc()
		return
	}
	rec := Record{Prefix: a.Prefix, InDev: a.InDev, OutDev: a.OutDev, HWProtocol: a.HWProtocol, Timestamp: a.Timestamp, Packet: p}
	select {
	case r.out <- rec:
	default:
		r.metrics.drop(DropConsumer, 1)
	}
}

// Close closes the socket, which releases the group; Run then returns. Safe to call more than
// once.
func (r *Reader) Close() error {
	var err error
	r.closeOnce.Do(func() { err = r.conn.Close() })
	return err
}
