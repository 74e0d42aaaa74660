package gatun

import (
	"strings"
	"testing"
	"time"
)

// fakeClock advances 100 ns on every read; a "preempted" look moves it by a scheduler slice. The
// rules of spec §2.2.1 are checked on it, whatever the machine's load.
type fakeClock struct{ now time.Duration }

func (c *fakeClock) read() time.Duration { c.now += 100 * time.Nanosecond; return c.now }

const slice = 3 * time.Millisecond

func newTestPolicy(cpus int) (*waitPolicy, *fakeClock) {
	clk := &fakeClock{now: time.Second}
	spec, _ := parseWaitPolicy("adaptive")
	p := spec.newPolicy()
	p.clock = clk.read
	p.maySpin = cpus > 1
	if !p.maySpin {
		p.budget = 0
	}
	return &p, clk
}

func never() bool { return false }

func onLook(n int) func() bool {
	looks := 0
	return func() bool { looks++; return looks >= n }
}

func notLooked(t *testing.T) func() bool {
	return func() bool { t.Fatal("the policy must park without looking"); return false }
}

func preempted(clk *fakeClock) func() bool {
	done := false
	return func() bool {
		if !done {
			done = true
			clk.now += slice
		}
		return false
	}
}

func TestWaitPolicyRules(t *testing.T) {
	tests := []struct {
		name string
		run  func(t *testing.T, p *waitPolicy, clk *fakeClock)
	}{
		{"a caught frame keeps the full budget", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			if !p.spin(onLook(100)) || p.budget != maxSpin {
				t.Fatalf("budget %v", p.budget)
			}
		}},
		{"spins that run out halve the budget to 0 in six waits", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			want, waits := maxSpin, 0
			for p.budget > 0 {
				if p.spin(never) {
					t.Fatal("arrived")
				}
				want /= 2
				if want < minSpin {
					want = 0
				}
				if p.budget != want {
					t.Fatalf("budget %v, want %v", p.budget, want)
				}
				waits++
			}
			if waits != 6 {
				t.Fatalf("%d waits", waits)
			}
			p.spin(notLooked(t)) // then it parks at once
			clk.now += minProbe
			before := clk.now
			if p.spin(never) || clk.now-before < probeSpin {
				t.Fatalf("the probe spun %v, want %v", clk.now-before, probeSpin)
			}
		}},
		{"a spin that loses its core stops at once", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			before := clk.now
			if p.spin(preempted(clk)) || p.budget != 0 {
				t.Fatalf("budget %v", p.budget)
			}
			if clk.now-before > slice+10*time.Microsecond {
				t.Fatalf("spun on after the jump: %v", clk.now-before)
			}
		}},
		{"an interrupt's pause is not a lost core", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			// Idle VMs stop a running thread for up to ~100 µs (bench/results/clock_gaps.md).
			looks := 0
			got := p.spin(func() bool {
				looks++
				if looks == 1 {
					clk.now += 100 * time.Microsecond
					return false
				}
				return true
			})
			if !got || p.budget != maxSpin {
				t.Fatalf("got %v, budget %v", got, p.budget)
			}
		}},
		{"a probe catches an answer that took longer than the normal window", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			p.spin(preempted(clk))
			clk.now += minProbe
			start := time.Duration(-1)
			got := p.spin(func() bool {
				if start < 0 {
					start = clk.now
				}
				clk.now += 500 * time.Nanosecond // 32 looks between clock reads stay under the gap
				return clk.now-start >= 120*time.Microsecond
			})
			if !got || p.budget != maxSpin {
				t.Fatalf("got %v, budget %v", got, p.budget)
			}
		}},
		{"a frame found after losing the core still stops the spinning", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			looks := 0
			got := p.spin(func() bool {
				looks++
				if looks == 1 {
					clk.now += slice // descheduled; the server published meanwhile
					return false
				}
				return true
			})
			if !got || p.budget != 0 {
				t.Fatalf("got %v, budget %v", got, p.budget)
			}
		}},
		{"a probe after the back-off that pays restores spinning", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			p.spin(preempted(clk))
			p.spin(notLooked(t)) // inside the back-off
			clk.now += minProbe
			if !p.spin(onLook(10)) || p.budget != maxSpin || p.probeBackoff != minProbe {
				t.Fatalf("budget %v backoff %v", p.budget, p.probeBackoff)
			}
		}},
		{"failed probes double the back-off up to its maximum", func(t *testing.T, p *waitPolicy, clk *fakeClock) {
			p.spin(preempted(clk))
			backoff := minProbe
			for i := range 14 {
				clk.now += backoff
				look := never
				if i%2 == 1 {
					look = preempted(clk)
				}
				if p.spin(look) {
					t.Fatal("arrived")
				}
				backoff = min(maxProbe, 2*backoff)
				if p.probeBackoff != backoff || p.budget != 0 {
					t.Fatalf("probe %d: backoff %v want %v, budget %v", i, p.probeBackoff, backoff, p.budget)
				}
				p.spin(notLooked(t))
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, clk := newTestPolicy(2)
			tc.run(t, p, clk)
		})
	}
}

func TestWaitPolicyOneCPUNeverSpins(t *testing.T) {
	p, clk := newTestPolicy(1)
	p.spin(notLooked(t))
	clk.now += maxProbe
	p.spin(notLooked(t))
}

func TestParseWaitPolicy(t *testing.T) {
	for _, tc := range []struct {
		in, name string
		fixed    time.Duration
		err      string
	}{
		{"", "adaptive", 0, ""},
		{"adaptive", "adaptive", 0, ""},
		{" park ", "park", 0, ""},
		{"spin:20", "spin:20", 20 * time.Microsecond, ""},
		{"spin:", "", 0, "spin:MICROS"},
		{"spin:-1", "", 0, "spin:MICROS"},
		{"spin:1000001", "", 0, "spin:MICROS"},
		{"PARK", "", 0, "expected adaptive, park or spin:MICROS"},
		{"fast", "", 0, "expected adaptive, park or spin:MICROS"},
	} {
		s, err := parseWaitPolicy(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want one saying %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || s.name != tc.name || s.fixed != tc.fixed {
			t.Errorf("%q: %+v, %v", tc.in, s, err)
		}
	}
	fixed := waitSpec{fixed: 100 * time.Microsecond}.newPolicy()
	clk := &fakeClock{}
	fixed.clock = clk.read
	if !fixed.spin(onLook(5)) {
		t.Fatal("spin:100 did not catch the frame")
	}
	start := clk.now
	if fixed.spin(never) || clk.now-start < 100*time.Microsecond {
		t.Fatalf("spin:100 gave up after %v", clk.now-start)
	}
}

func TestABadWaitPolicyInTheEnvironmentFailsConnect(t *testing.T) {
	t.Setenv(WaitPolicyEnv, "bogus")
	_, err := Connect(t.Context(), "/nonexistent/gatun.sock", strings.Repeat("ab", 32))
	if err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("err = %v", err)
	}
}
