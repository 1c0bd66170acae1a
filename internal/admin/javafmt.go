package admin

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// The commands print numbers and dates the way the Java runtime behind
// ZooKeeper does, because monitoring scripts parse that text.

// javaDouble formats f as Java's Double.toString does: plain decimal
// notation with at least one digit after the point for magnitudes in
// [1e-3, 1e7) (0.0, 1.5, 0.7794, 12.0), computerized scientific notation
// outside it (1.0E7, 1.5E-4), and NaN, Infinity, -Infinity. The digits are
// the shortest that identify f, as in JDK 19 and later; older JDKs print the
// same digits for every value these commands produce.
func javaDouble(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	case f == 0:
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	// Go writes 1.5e-04; Java writes 1.5E-4.
	s := strconv.FormatFloat(f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	n, _ := strconv.Atoi(exp)
	return mant + "E" + strconv.Itoa(n)
}

// round4 rounds f to at most four decimal places, half away from zero, on
// its shortest decimal representation. That is what ZooKeeper does to
// average latencies before printing them (new BigDecimal from the double's
// decimal string, scale 4, HALF_UP), so 0.77935 becomes 0.7794 even though
// the binary double nearest 0.77935 is slightly below it.
func round4(f float64) float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) || f == 0 {
		return f
	}
	neg := f < 0
	s := strconv.FormatFloat(math.Abs(f), 'f', -1, 64)
	whole, frac, _ := strings.Cut(s, ".")
	if len(frac) <= 4 {
		return f
	}
	digits := []byte(whole + frac[:4])
	if frac[4] >= '5' {
		digits = incrementDecimal(digits)
	}
	cut := len(digits) - 4
	r, err := strconv.ParseFloat(string(digits[:cut])+"."+string(digits[cut:]), 64)
	if err != nil {
		return f // cannot happen: the digits are ASCII decimal
	}
	if neg {
		return -r
	}
	return r
}

// incrementDecimal adds one to a string of decimal digits, growing it by a
// leading 1 on overflow (999 → 1000).
func incrementDecimal(d []byte) []byte {
	for i := len(d) - 1; i >= 0; i-- {
		if d[i] < '9' {
			d[i]++
			return d
		}
		d[i] = '0'
	}
	return append([]byte{'1'}, d...)
}

// javaDateLayout is Java's Date.toString format, "EEE MMM dd HH:mm:ss zzz
// yyyy", for example "Mon Nov 23 05:42:56 UTC 2026".
const javaDateLayout = "Mon Jan 02 15:04:05 MST 2006"

// javaDate formats t as Java's Date.toString does in the time zone loc.
func javaDate(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(javaDateLayout)
}

// javaHex formats v as Java's Long.toHexString does: lowercase, no
// padding, negative numbers as their 64-bit two's complement (-1 is
// ffffffffffffffff). Callers add the "0x" ZooKeeper prints in front.
func javaHex(v int64) string {
	return strconv.FormatUint(uint64(v), 16)
}
