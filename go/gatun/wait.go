package gatun

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// The wait policy (spec/protocol.md §2.2.1) decides whether and how long a waiting channel spins
// on the server's sequence word before it parks on the doorbell. The Java server and the Python
// client implement the same rules; the constants below are the spec's.
const (
	maxSpin      = 50 * time.Microsecond  // the normal spin window
	probeSpin    = 200 * time.Microsecond // a probe's spin: long enough to catch a server that had to be woken
	minSpin      = time.Microsecond       // a budget below this is 0: park at once
	minProbe     = time.Millisecond       // the first back-off before a probe spin
	maxProbe     = 100 * time.Millisecond // the longest back-off
	spinGap      = 200 * time.Microsecond // two clock reads of one spin further apart: the spinner lost its core (not an interrupt: bench/results/clock_gaps.md)
	maxFixedSpin = time.Second

	looksPerClockRead = 32 // a spin reads the clock once per this many looks (a power of two)
)

// WaitPolicyEnv names the environment variable that picks the wait policy of clients and of the
// servers they launch: "adaptive" (the default), "park" or "spin:MICROS".
const WaitPolicyEnv = "GATUN_WAIT_POLICY"

// waitPolicy is one channel's policy state. Only the goroutine holding the channel's turn uses it.
type waitPolicy struct {
	adaptive     bool
	fixed        time.Duration // !adaptive: the spin of every wait (0: park at once)
	maySpin      bool          // more than one CPU: a spin can overlap the server's work
	budget       time.Duration // adaptive: the next spin; 0 = park at once
	probeBackoff time.Duration
	nextProbe    time.Duration        // on the monotonic clock below
	clock        func() time.Duration // monotonic, but in tests
}

// waitSpec is a parsed policy name, shared by the channels of a client.
type waitSpec struct {
	name     string
	adaptive bool
	fixed    time.Duration
}

// parseWaitPolicy checks a policy name; "" means the default.
func parseWaitPolicy(name string) (waitSpec, error) {
	n := strings.TrimSpace(name)
	switch {
	case n == "" || n == "adaptive":
		return waitSpec{name: "adaptive", adaptive: true}, nil
	case n == "park":
		return waitSpec{name: "park"}, nil
	case strings.HasPrefix(n, "spin:"):
		us, err := strconv.ParseUint(n[5:], 10, 32)
		d := time.Duration(us) * time.Microsecond
		if err != nil || d > maxFixedSpin {
			return waitSpec{}, fmt.Errorf("gatun: wait policy %q: spin:MICROS takes 0 to %d microseconds", n, maxFixedSpin/time.Microsecond)
		}
		return waitSpec{name: n, fixed: d}, nil
	}
	return waitSpec{}, fmt.Errorf("gatun: unknown wait policy %q (expected adaptive, park or spin:MICROS)", n)
}

// envWaitPolicy is the policy $GATUN_WAIT_POLICY names (the default when unset).
func envWaitPolicy() (waitSpec, error) {
	return parseWaitPolicy(os.Getenv(WaitPolicyEnv))
}

func (s waitSpec) newPolicy() waitPolicy {
	cpus := min(runtime.NumCPU(), runtime.GOMAXPROCS(0))
	p := waitPolicy{adaptive: s.adaptive, fixed: s.fixed, maySpin: cpus > 1, probeBackoff: minProbe, clock: monotonic}
	if p.adaptive && p.maySpin {
		p.budget = maxSpin
	}
	return p
}

var clockBase = time.Now()

// monotonic reads the monotonic clock (time.Since of a fixed instant uses only its monotonic part).
func monotonic() time.Duration { return time.Since(clockBase) }

// spinFor's outcomes; spinArrivedLate: the frame came, but the spinner lost its core on the way.
const (
	spinArrived = iota
	spinArrivedLate
	spinTimedOut
	spinDescheduled
)

// spinFor is the one spin loop: it watches arrived for up to budget, reading the clock every 32
// looks and once more when the frame came, and returns a spin* outcome (spinDescheduled or
// spinArrivedLate when two clock reads were further apart than spinGap). It never yields the
// core: sched_yield is a weak hint on CFS/EEVDF and behind a CPU-bound thread can cost a whole
// slice; the policy parks instead.
func spinFor(arrived func() bool, budget time.Duration, clock func() time.Duration) int {
	start := clock()
	last := start
	for i := 1; ; i++ {
		if arrived() {
			if clock()-last > spinGap {
				return spinArrivedLate
			}
			return spinArrived
		}
		if i&(looksPerClockRead-1) == 0 {
			now := clock()
			if now-last > spinGap {
				return spinDescheduled
			}
			if now-start >= budget {
				return spinTimedOut
			}
			last = now
		}
	}
}

// spin spins as the policy says: true when the frame arrived, false when the caller must park.
func (p *waitPolicy) spin(arrived func() bool) bool {
	if !p.adaptive {
		return p.fixed > 0 && spinFor(arrived, p.fixed, p.clock) <= spinArrivedLate
	}
	if !p.maySpin {
		return false
	}
	probe := false
	spin := p.budget
	if spin == 0 {
		if p.clock() < p.nextProbe {
			return false
		}
		probe, spin = true, probeSpin
	}
	outcome := spinFor(arrived, spin, p.clock)
	if outcome == spinArrived {
		p.budget = maxSpin
		p.probeBackoff = minProbe
		return true
	}
	if outcome == spinTimedOut && !probe {
		p.budget /= 2
		if p.budget < minSpin {
			p.budget = 0
			p.nextProbe = p.clock() + p.probeBackoff
		}
		return false
	}
	// The spin lost its core (the frame may have come meanwhile: it cost a slice all the same), or
	// a probe did not pay.
	p.budget = 0
	if probe {
		p.probeBackoff = min(maxProbe, 2*p.probeBackoff)
	}
	p.nextProbe = p.clock() + p.probeBackoff
	return outcome == spinArrivedLate
}
