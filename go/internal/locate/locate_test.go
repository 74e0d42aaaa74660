package locate

import "testing"

func TestParseJavaVersion(t *testing.T) {
	tests := []struct {
		out     string
		version string
		major   int
		bad     bool
	}{
		{`openjdk version "17.0.15" 2025-04-15` + "\nOpenJDK Runtime Environment", "17.0.15", 17, false},
		{`openjdk version "25.0.3" 2026-04-21 LTS`, "25.0.3", 25, false},
		{`java version "1.8.0_412"`, "1.8.0_412", 8, false},
		{`openjdk version "21-ea" 2023-09-19`, "21-ea", 21, false},
		{`openjdk version "11.0.2+9"`, "11.0.2+9", 11, false},
		{"Error: could not find libjvm.so", "", 0, true},
		{`openjdk version "x.y"`, "x.y", 0, true},
	}
	for _, tt := range tests {
		v, major, err := ParseJavaVersion(tt.out)
		if (err != nil) != tt.bad || v != tt.version || major != tt.major {
			t.Errorf("ParseJavaVersion(%q) = %q, %d, %v; want %q, %d, error %v", tt.out, v, major, err, tt.version, tt.major, tt.bad)
		}
	}
}
