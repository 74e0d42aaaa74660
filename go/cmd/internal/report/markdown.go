package report

import (
	"fmt"
	"io"
	"math"
	"os"
	"strings"
)

// opLabel is the operation's long label from foundation.json, else its key.
func (d *Data) opLabel(op string) string {
	if d.Foundation != nil {
		if l, ok := d.Foundation.Ops[op]; ok {
			return l
		}
	}
	return op
}

// shortLabels are the chart's x-axis labels (bench/bridges.py's OP_SHORT).
var shortLabels = map[string]string{
	"prebound_call": "pre-bound call",
	"static_call":   "navigated static",
	"new_object":    "object creation",
	"string_1k":     "1 KiB string",
	"bytes_1m":      "1 MiB bytes",
	"bytes_1m_len":  "1 MiB bytes, O(1)",
	"list_1000":     "1000-elem list",
	"callback":      "callback",
}

func shortLabel(op string) string {
	if l, ok := shortLabels[op]; ok {
		return l
	}
	return op
}

// PreboundTargetNS is the target for a pre-bound call from Go: under 0.5 µs median.
const PreboundTargetNS = 500

// FormatNS prints a duration in ns with three significant digits: "950 ns", "1.66 µs", "23.7 ms".
func FormatNS(ns float64) string {
	unit, v := "ns", ns
	switch {
	case ns >= 1e9:
		unit, v = "s", ns/1e9
	case ns >= 1e6:
		unit, v = "ms", ns/1e6
	case ns >= 1e3:
		unit, v = "µs", ns/1e3
	}
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f %s", v, unit)
	case v >= 10:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.2f %s", v, unit)
	}
}

func ratio(a, b float64) string {
	if a <= 0 || b <= 0 || math.IsNaN(a/b) {
		return "–"
	}
	return fmt.Sprintf("%.2fx", a/b)
}

// cell is "median (p99 p99)" or the error, or "–".
func cell(s *Series, op string) string {
	if s == nil {
		return "–"
	}
	if e, ok := s.Err[op]; ok {
		return "error: " + strings.ReplaceAll(firstLine(e), "|", "\\|")
	}
	m, ok := s.Median[op]
	if !ok {
		return "–"
	}
	if p, ok := s.P99[op]; ok {
		return fmt.Sprintf("%s (p99 %s)", FormatNS(m), FormatNS(p))
	}
	return FormatNS(m)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}

func (d *Data) series(name string) *Series {
	for _, s := range d.Series() {
		if s.Name == name {
			return &s
		}
	}
	return nil
}

// WriteGoMarkdown writes go.md: Go client vs Python client vs Py4J (and JPype) medians and
// ratios for the operations both suites measured.
func (d *Data) WriteGoMarkdown(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := d.GoMarkdown(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// GoMarkdown writes the go.md text to w.
func (d *Data) GoMarkdown(w io.Writer) error {
	if d.Go == nil {
		return fmt.Errorf("no %s: run `gatun bench --suites go`", GoJSON)
	}
	goS, pyS, p4S, jpS := d.series(NameGatunGo), d.series(NameGatunPython), d.series(NamePy4J), d.series(NameJPype)
	var b strings.Builder
	b.WriteString("# Gatun Go client vs Python client vs Py4J\n\n")
	fmt.Fprintf(&b, "- Go client: `gatun bench` / gatun-gobench, %s, %d CPUs, %s, %s of timed samples per operation after a warm-up; a sample is one call, or a batch of calls for those under 10 µs (batch sizes below; the p99 of a batched operation is over batch averages); one private server JVM. Allocations: Go heap allocations per call (runtime.MemStats), the Go client's own cost.\n",
		d.Go.Go, d.Go.CPUs, d.Go.Date, d.Go.Duration)
	if d.Go.LoadStart > 0 || d.Go.LoadEnd > 0 {
		fmt.Fprintf(&b, "- Load average (1 min) at the Go run's start %.2f, at its end %.2f, on %d CPUs", d.Go.LoadStart, d.Go.LoadEnd, d.Go.CPUs)
		if max(d.Go.LoadStart, d.Go.LoadEnd) > float64(d.Go.CPUs) {
			b.WriteString(": **a busy machine; these times measure the competition for its CPUs, not the client. Re-run on a quiet machine.**")
		}
		b.WriteString("\n")
	}
	if d.Foundation != nil {
		fmt.Fprintf(&b, "- Python client, Py4J and JPype: `%s` (bench/run_bench.py, %s, git %v, settings %v); see foundation.md for the method.\n",
			FoundationJSON, d.Foundation.Machine["date"], d.Foundation.Machine["git"], compactSettings(d.Foundation.Settings))
	} else {
		fmt.Fprintf(&b, "- No %s here: only the Go column is filled (run `gatun bench --suites python`).\n", FoundationJSON)
	}
	b.WriteString("- The two runs are separate processes at different times: compare ratios with the run-to-run noise (±10–20 % on this kind of machine) in mind.\n\n")
	b.WriteString("| operation | Gatun Go median (p99) | Go allocs/call | Gatun Python median (p99) | Py4J median | JPype median | Go/Python | speed-up vs Py4J (Py4J/Go) |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, op := range d.Ops() {
		if _, ok := d.Go.Operation[op]; !ok {
			continue
		}
		var pm, p4, gm float64
		if goS != nil {
			gm = goS.Median[op]
		}
		if pyS != nil {
			pm = pyS.Median[op]
		}
		if p4S != nil {
			p4 = p4S.Median[op]
		}
		med := func(s *Series) string {
			if s == nil {
				return "–"
			}
			if e, ok := s.Err[op]; ok {
				return "error: " + strings.ReplaceAll(firstLine(e), "|", "\\|")
			}
			if m, ok := s.Median[op]; ok {
				return FormatNS(m)
			}
			return "–"
		}
		allocs := "–"
		if a := d.Go.Operation[op].AllocsPerCall; a != nil {
			allocs = fmt.Sprintf("%.1f", *a)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s |\n", d.opLabel(op), cell(goS, op), allocs, cell(pyS, op),
			med(p4S), med(jpS), ratio(gm, pm), ratio(p4, gm))
	}
	b.WriteString("\nGo/Python below 1 means the Go client is faster than the Python client on the same server.\n")
	b.WriteString("\n## Target\n\n")
	if r, ok := d.Go.Operation["prebound_call"]; ok && r.Error == "" && r.MedianNS > 0 {
		status := "met"
		if r.MedianNS >= PreboundTargetNS {
			status = "**not met**"
		}
		fmt.Fprintf(&b, "Pre-bound call from Go under %s median: measured %s: %s.\n", FormatNS(PreboundTargetNS), FormatNS(r.MedianNS), status)
	} else {
		fmt.Fprintf(&b, "Pre-bound call from Go under %s median: not measured.\n", FormatNS(PreboundTargetNS))
	}
	b.WriteString("\n")
	b.WriteString("What the Go client runs per operation:\n\n")
	for _, op := range d.Ops() {
		if r, ok := d.Go.Operation[op]; ok {
			fmt.Fprintf(&b, "- `%s`: %s", op, r.What)
			if r.Calls > 0 {
				fmt.Fprintf(&b, " (%d timed calls", r.Calls)
				if r.Batch > 1 {
					fmt.Fprintf(&b, ", batches of %d", r.Batch)
				}
				b.WriteString(")")
			}
			b.WriteString("\n")
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func compactSettings(s map[string]any) string {
	var parts []string
	for _, k := range []string{"rounds", "slice", "warmup", "quick"} {
		if v, ok := s[k]; ok {
			parts = append(parts, fmt.Sprintf("%s=%v", k, v))
		}
	}
	return strings.Join(parts, " ")
}
