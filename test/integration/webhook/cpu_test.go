package webhookintegration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cpuTimes is CPU time spent by the processes of the benchmark: the API server, etcd, this process
// (the webhook server) and loadgen (the clients). loadgen is counted through the children's times
// of this process, since it has exited and been waited for when a round ends.
type cpuTimes struct{ apiserver, etcd, self, clients time.Duration }

func (a cpuTimes) add(b cpuTimes) cpuTimes {
	return cpuTimes{a.apiserver + b.apiserver, a.etcd + b.etcd, a.self + b.self, a.clients + b.clients}
}

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{a.apiserver - b.apiserver, a.etcd - b.etcd, a.self - b.self, a.clients - b.clients}
}

func (a cpuTimes) per(n int) cpuTimes {
	if n == 0 {
		return cpuTimes{}
	}
	d := time.Duration(n)
	return cpuTimes{a.apiserver / d, a.etcd / d, a.self / d, a.clients / d}
}

// readCPU reads, from /proc, the CPU time of this process, of its waited-for children (loadgen
// runs), and of its running kube-apiserver and etcd children.
func readCPU() (cpuTimes, error) {
	var t cpuTimes
	self, children, err := procCPU("self")
	if err != nil {
		return t, err
	}
	t.self, t.clients = self, children
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return t, err
	}
	me := os.Getpid()
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// comm is in parentheses and may hold spaces; the fields after it are space-separated.
		stat := string(raw)
		comm := stat[strings.IndexByte(stat, '(')+1 : strings.LastIndexByte(stat, ')')]
		fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+2:])
		if ppid, _ := strconv.Atoi(fields[1]); ppid != me {
			continue
		}
		d, _, err := procCPU(e.Name())
		if err != nil {
			continue
		}
		switch comm {
		case "kube-apiserver":
			t.apiserver += d
		case "etcd":
			t.etcd += d
		}
	}
	return t, nil
}

// clockTick is USER_HZ, the unit of /proc/<pid>/stat CPU times: 100 on Linux.
const clockTick = 10 * time.Millisecond

// procCPU returns a process's own CPU time (user + system) and that of its waited-for children.
func procCPU(pid string) (own, children time.Duration, err error) {
	raw, err := os.ReadFile(filepath.Join("/proc", pid, "stat"))
	if err != nil {
		return 0, 0, err
	}
	stat := string(raw)
	fields := strings.Fields(stat[strings.LastIndexByte(stat, ')')+2:])
	var v [4]int64
	for i := range v {
		if v[i], err = strconv.ParseInt(fields[11+i], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("parsing /proc/%s/stat: %w", pid, err)
		}
	}
	return time.Duration(v[0]+v[1]) * clockTick, time.Duration(v[2]+v[3]) * clockTick, nil
}

// steal is the machine's CPU time in clock ticks, from /proc/stat, and the part of it stolen: time
// the hypervisor ran another guest while this one had work. A run with much of it measured its
// neighbours as well as itself.
type steal struct{ total, steal int64 }

func (a steal) add(b steal) steal { return steal{a.total + b.total, a.steal + b.steal} }
func (a steal) sub(b steal) steal { return steal{a.total - b.total, a.steal - b.steal} }

// readSteal reads the first line of /proc/stat: cpu user nice system idle iowait irq softirq steal ….
func readSteal() (steal, error) {
	raw, err := os.ReadFile("/proc/stat")
	if err != nil {
		return steal{}, fmt.Errorf("reading /proc/stat: %w", err)
	}
	line, _, _ := strings.Cut(string(raw), "\n")
	return parseSteal(line)
}

func parseSteal(line string) (steal, error) {
	fields := strings.Fields(line)
	if len(fields) < 9 || fields[0] != "cpu" {
		return steal{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var s steal
	for i, f := range fields[1:] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return steal{}, fmt.Errorf("/proc/stat: field %d of %q: %w", i+1, line, err)
		}
		// guest and guest_nice (fields 9 and 10) are already counted in user and nice.
		if i < 8 {
			s.total += v
		}
		if i == 7 {
			s.steal = v
		}
	}
	return s, nil
}
