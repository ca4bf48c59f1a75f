package hmacauth

import (
	"testing"
	"time"
)

func TestParseDate(t *testing.T) {
	tests := []struct {
		in   string
		want time.Time // zero: rejected
	}{
		{"Mon, 19 Mar 2018 12:08:40 GMT", time.Date(2018, 3, 19, 12, 8, 40, 0, time.UTC)},
		{"Fri, 09 Oct 2015 00:00:00 GMT", time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC)},
		{"Fri, 9 Oct 2015 00:00:00 GMT", time.Date(2015, 10, 9, 0, 0, 0, 0, time.UTC)},
		{"Sun, 31 Dec 2000 23:59:59 GMT", time.Date(2000, 12, 31, 23, 59, 59, 0, time.UTC)},
		{"Thu, 29 Feb 2024 00:00:00 GMT", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)},
		{"Tue, 19 Mar 2018 12:08:40 GMT", time.Date(2018, 3, 19, 12, 8, 40, 0, time.UTC)}, // day name not checked
		{"Thu, 29 Feb 2023 00:00:00 GMT", time.Time{}},
		{"Mon, 00 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon, 32 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 24:00:00 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 12:60:40 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 12:08:60 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 2:08:40 GMT", time.Time{}},
		{"Mon, 19 Mar 18 12:08:40 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 12:08:40 UTC", time.Time{}},
		{"Mon, 19 Mar 2018 12:08:40 gmt", time.Time{}},
		{"mon, 19 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon, 19 MAR 2018 12:08:40 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 12:08:40.5 GMT", time.Time{}},
		{"Mon, 19 Mar 2018 12:08:40 GMT ", time.Time{}},
		{" Mon, 19 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon,  9 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon, +9 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Mon 19 Mar 2018 12:08:40 GMT", time.Time{}},
		{"Monday, 19-Mar-18 12:08:40 GMT", time.Time{}},
		{"Mon Mar 19 12:08:40 2018", time.Time{}},
		{"", time.Time{}},
	}
	for _, tt := range tests {
		got, ok := parseDate(tt.in)
		if ok != !tt.want.IsZero() || !got.Equal(tt.want) {
			t.Errorf("parseDate(%q) = %v, %v; want %v", tt.in, got, ok, tt.want)
		}
	}
}

// FuzzParseDate holds parseDate to the standard library: every date it accepts, time.Parse
// reads as the same instant, and it accepts every date time.Parse reads in the canonical form.
func FuzzParseDate(f *testing.F) {
	f.Add("Mon, 19 Mar 2018 12:08:40 GMT")
	f.Add("Fri, 9 Oct 2015 00:00:00 GMT")
	f.Add("Thu, 29 Feb 2023 00:00:00 GMT")
	f.Add("Sat, 01 Jan 0000 00:00:00 GMT")
	f.Add("Fri, 31 Dec 9999 23:59:59 GMT")
	f.Add("Wed, 31 Apr 2024 24:60:60 GMT")
	const lax = "Mon, 2 Jan 2006 15:04:05 GMT"      // takes one- and two-digit days
	const fixdate = "Mon, 02 Jan 2006 15:04:05 GMT" // net/http.TimeFormat
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseDate(s)
		if ok {
			want, err := time.Parse(lax, s)
			if err != nil || !got.Equal(want) {
				t.Fatalf("parseDate(%q) = %v; time.Parse: %v, %v", s, got, want, err)
			}
		}
		if std, err := time.Parse(fixdate, s); err == nil && std.Format(fixdate) == s && !ok {
			t.Fatalf("parseDate rejects %q", s)
		}
	})
}
