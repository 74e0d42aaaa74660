package gatunarrow

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// TestArrowConstantsMatchTheSpec checks the arena layout constants against spec/vectors/constants.json.
func TestArrowConstantsMatchTheSpec(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "spec", "vectors", "constants.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Arrow map[string]any `json:"arrow"`
	}
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	num := func(k string) int { return int(c.Arrow[k].(float64)) }
	if arenaMagic != c.Arrow["ARENA_MAGIC"].(string) {
		t.Errorf("arenaMagic %q", arenaMagic)
	}
	for name, got := range map[string]int{
		"ARENA_LAYOUT_VERSION": layoutVersion, "ARENA_DATA_OFFSET": dataOffset, "SPAN_HEADER": spanHeader,
		"STATE_RETURNED": stateReturned, "EXPORT_END": exportEnd, "EXPORT_NO_ROOM": exportNoRoom,
	} {
		if got != num(name) {
			t.Errorf("%s = %d, spec says %d", name, got, num(name))
		}
	}
}
