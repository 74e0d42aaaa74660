// Package report reads the benchmark JSON (bench/run_bench.py's foundation.json and the Go client's
// go.json), writes go.md and draws the charts (foundation.png, go.png).
package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/gatun-project/gatun/go/cmd/internal/gobench"
)

// File names inside the results directory.
const (
	FoundationJSON = "foundation.json" // written by bench/run_bench.py
	FoundationPNG  = "foundation.png"  // the chart, drawn here
	GoJSON         = "go.json"         // the Go suite's output (gobench.Output)
	GoMarkdown     = "go.md"           // Go vs Python-Gatun vs Py4J
	GoPNG          = "go.png"          // the same as a chart
)

// Stat is one bridge's result for one operation, in nanoseconds.
type Stat struct {
	Error    *string  `json:"error"`
	MedianNS *float64 `json:"median_ns"`
	P99NS    *float64 `json:"p99_ns"`
	Batch    int      `json:"batch"`
}

// OK reports whether the stat has a median and no error.
func (s *Stat) OK() bool {
	return s != nil && (s.Error == nil || *s.Error == "") && s.MedianNS != nil && *s.MedianNS > 0
}

// Foundation is the part of foundation.json the report uses.
type Foundation struct {
	Machine  map[string]any             `json:"machine"`
	Settings map[string]any             `json:"settings"`
	Ops      map[string]string          `json:"ops"`
	Results  map[string]map[string]Stat `json:"results_ns"`
	// OpOrder is the order of Ops in the file (JSON objects are ordered there).
	OpOrder []string `json:"-"`
}

// GoResult is one operation of go.json.
type GoResult = gobench.Result

// GoClient is go.json: the output of gatun-gobench / internal/gobench.
type GoClient = gobench.Output

// Data is everything found in a results directory; either part may be nil.
type Data struct {
	Foundation *Foundation
	Go         *GoClient
}

// Load reads foundation.json and go.json from dir. A missing file leaves its part nil; it is
// an error only if both are missing or one is unreadable.
func Load(dir string) (*Data, error) {
	d := &Data{}
	raw, err := os.ReadFile(filepath.Join(dir, FoundationJSON))
	switch {
	case err == nil:
		if d.Foundation, err = ParseFoundation(raw); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, FoundationJSON), err)
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	raw, err = os.ReadFile(filepath.Join(dir, GoJSON))
	switch {
	case err == nil:
		var g GoClient
		if err := json.Unmarshal(raw, &g); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, GoJSON), err)
		}
		if len(g.Operation) == 0 {
			return nil, fmt.Errorf("%s: no operations", filepath.Join(dir, GoJSON))
		}
		d.Go = &g
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	if d.Foundation == nil && d.Go == nil {
		return nil, fmt.Errorf("neither %s nor %s in %s: run `gatun bench` first", FoundationJSON, GoJSON, dir)
	}
	return d, nil
}

// ParseFoundation decodes foundation.json, keeping the order of its "ops".
func ParseFoundation(raw []byte) (*Foundation, error) {
	var f Foundation
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, err
	}
	if len(f.Ops) == 0 || len(f.Results) == 0 {
		return nil, errors.New("no ops or results_ns: not a run_bench.py result")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(raw, &top); err != nil {
		return nil, err
	}
	order, err := objectKeys(top["ops"])
	if err != nil {
		return nil, err
	}
	f.OpOrder = order
	return &f, nil
}

// objectKeys returns the keys of a JSON object in document order.
func objectKeys(raw json.RawMessage) ([]string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("ops is not an object")
	}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys = append(keys, t.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// Series is one bar colour of a chart: a bridge/client and its numbers per operation.
type Series struct {
	Name   string
	Median map[string]float64 // ns; absent: not measured
	P99    map[string]float64 // ns; absent: no whisker
	Err    map[string]string  // the operation failed
}

// The series names.
const (
	NameGatunPython = "Gatun (Python)"
	NameGatunGo     = "Gatun (Go)"
	NamePy4J        = "Py4J"
	NameJPype       = "JPype"
)

// Ops returns the operations to show: foundation.json's in its order, then any Go-only ones.
func (d *Data) Ops() []string {
	var ops []string
	seen := map[string]bool{}
	if d.Foundation != nil {
		for _, o := range d.Foundation.OpOrder {
			ops = append(ops, o)
			seen[o] = true
		}
	}
	if d.Go != nil {
		for _, o := range goKeyOrder(d.Go) {
			if !seen[o] {
				ops = append(ops, o)
			}
		}
	}
	return ops
}

// knownOrder is bench/run_bench.py's operation order, for Go-only results.
var knownOrder = []string{"prebound_call", "static_call", "new_object", "string_1k", "bytes_1m", "bytes_1m_len", "list_1000", "callback"}

func goKeyOrder(g *GoClient) []string {
	var out []string
	for _, k := range knownOrder {
		if _, ok := g.Operation[k]; ok {
			out = append(out, k)
		}
	}
	var rest []string
	for k := range g.Operation {
		found := false
		for _, o := range knownOrder {
			found = found || o == k
		}
		if !found {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(out, rest...)
}

// Series returns the chart series in the order Gatun-Python, Gatun-Go, Py4J, JPype, leaving out
// those without data.
func (d *Data) Series() []Series {
	var out []Series
	fromPy := func(bridge, name string) {
		if d.Foundation == nil {
			return
		}
		res, ok := d.Foundation.Results[bridge]
		if !ok {
			return
		}
		s := Series{Name: name, Median: map[string]float64{}, P99: map[string]float64{}, Err: map[string]string{}}
		for op, st := range res {
			switch {
			case st.OK():
				s.Median[op] = *st.MedianNS
				if st.P99NS != nil && *st.P99NS > 0 {
					s.P99[op] = *st.P99NS
				}
			case st.Error != nil && *st.Error != "":
				s.Err[op] = *st.Error
			}
		}
		out = append(out, s)
	}
	fromPy("gatun", NameGatunPython)
	if d.Go != nil {
		s := Series{Name: NameGatunGo, Median: map[string]float64{}, P99: map[string]float64{}, Err: map[string]string{}}
		for op, r := range d.Go.Operation {
			switch {
			case r.Error != "":
				s.Err[op] = r.Error
			case r.MedianNS > 0:
				s.Median[op] = r.MedianNS
				if r.P99NS > 0 {
					s.P99[op] = r.P99NS
				}
			}
		}
		out = append(out, s)
	}
	fromPy("py4j", NamePy4J)
	fromPy("jpype", NameJPype)
	return out
}
