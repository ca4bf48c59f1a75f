package reply

import (
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDocumentedTable keeps the reply table of docs/gateway.md (section 2) equal to this one:
// the same rows, statuses and messages, placeholders written as the document writes them.
func TestDocumentedTable(t *testing.T) {
	doc, err := os.ReadFile("../../docs/gateway.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "### The reply table")
	if start < 0 {
		t.Fatal(`docs/gateway.md has no "### The reply table"`)
	}
	text = text[start:]
	if end := strings.Index(text[1:], "\n#"); end > 0 {
		text = text[:end+1]
	}
	row := regexp.MustCompile("(?m)^\\| (\\d{3}) \\| `([^`]+)` \\|")
	placeholder := regexp.MustCompile(`xxx|\$host|\$env_mapping|\$uri`)
	var documented []string
	for _, m := range row.FindAllStringSubmatch(text, -1) {
		documented = append(documented, m[1]+" "+placeholder.ReplaceAllString(m[2], "%s"))
	}
	var coded []string
	for c := Code(1); c < numCodes; c++ {
		coded = append(coded, strconv.Itoa(c.Status())+" "+c.Message("%s"))
	}
	slices.Sort(documented)
	slices.Sort(coded)
	for _, r := range coded {
		if !slices.Contains(documented, r) {
			t.Errorf("row %q is missing from docs/gateway.md", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(coded, r) {
			t.Errorf("docs/gateway.md has row %q, which internal/reply does not", r)
		}
	}
	if len(documented) != len(coded) {
		t.Errorf("docs/gateway.md has %d rows, internal/reply %d", len(documented), len(coded))
	}
}
