package hmacauth

import "time"

const (
	dayNames   = "SunMonTueWedThuFriSat"
	monthNames = "JanFebMarAprMayJunJulAugSepOctNovDec"
)

// parseDate parses the RFC 1123 form HTTP uses, "Mon, 19 Mar 2018 12:08:40 GMT", names and
// "GMT" case-sensitive as in RFC 9110. The day of the month may have one digit, as RFC 1123
// allows and Java's RFC_1123_DATE_TIME writes. The day name must be one but need not match
// the date. RFC 850 and asctime dates are not accepted.
func parseDate(s string) (time.Time, bool) {
	// "Mon, " then the day (1 or 2 digits) then " Jan 2006 15:04:05 GMT", 22 bytes.
	dayLen := len(s) - 27
	if dayLen != 1 && dayLen != 2 || s[3] != ',' || s[4] != ' ' || indexName(dayNames, s[0:3]) < 0 {
		return time.Time{}, false
	}
	day, ok := digits(s[5 : 5+dayLen])
	t := s[5+dayLen:]
	if !ok || t[0] != ' ' || t[4] != ' ' || t[9] != ' ' || t[12] != ':' || t[15] != ':' || t[18:] != " GMT" {
		return time.Time{}, false
	}
	month := indexName(monthNames, t[1:4])
	year, ok1 := digits(t[5:9])
	hour, ok2 := digits(t[10:12])
	minute, ok3 := digits(t[13:15])
	sec, ok4 := digits(t[16:18])
	if month < 0 || !(ok1 && ok2 && ok3 && ok4) || day < 1 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	d := time.Date(year, time.Month(month+1), day, hour, minute, sec, 0, time.UTC)
	if d.Day() != day { // 31 Apr and the like roll over into the next month
		return time.Time{}, false
	}
	return d, true
}

// indexName returns the position of the three-letter name in names, or -1.
func indexName(names, name string) int {
	for i := 0; i+3 <= len(names); i += 3 {
		if names[i:i+3] == name {
			return i / 3
		}
	}
	return -1
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}
