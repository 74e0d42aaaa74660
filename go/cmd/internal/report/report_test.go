package report

import (
	"reflect"
	"testing"
)

func TestFormatNS(t *testing.T) {
	tests := []struct {
		ns   float64
		want string
	}{
		{950, "950 ns"},
		{12.34, "12.3 ns"},
		{1664.8, "1.66 µs"},
		{50200, "50.2 µs"},
		{437000, "437 µs"},
		{23.7e6, "23.7 ms"},
		{2.5e9, "2.50 s"},
	}
	for _, tt := range tests {
		if got := FormatNS(tt.ns); got != tt.want {
			t.Errorf("FormatNS(%v) = %q, want %q", tt.ns, got, tt.want)
		}
	}
}

func TestParseFoundationKeepsOrder(t *testing.T) {
	raw := []byte(`{"ops": {"z_op": "Z", "a_op": "A", "m_op": "M"}, "results_ns": {"gatun": {}}}`)
	f, err := ParseFoundation(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"z_op", "a_op", "m_op"}; !reflect.DeepEqual(f.OpOrder, want) {
		t.Errorf("order %v, want %v", f.OpOrder, want)
	}
	for _, bad := range []string{`{}`, `{"ops": {}, "results_ns": {}}`, `not json`} {
		if _, err := ParseFoundation([]byte(bad)); err == nil {
			t.Errorf("ParseFoundation(%s) accepted", bad)
		}
	}
}

func TestChartNeedsData(t *testing.T) {
	dir := t.TempDir()
	if err := Chart(dir+"/x.png", "t", nil, nil); err == nil {
		t.Error("empty chart accepted")
	}
	s := Series{Name: NameGatunGo, Err: map[string]string{"a": "boom"}}
	if err := Chart(dir+"/x.png", "t", []string{"a"}, []Series{s}); err == nil {
		t.Error("a chart without any median accepted")
	}
}
