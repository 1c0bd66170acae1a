package admin

import (
	"math"
	"testing"
	"time"
)

func TestJavaDoubleFormatsLikeDoubleToString(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want string
	}{
		{"zero has one decimal", 0, "0.0"},
		{"negative zero keeps its sign", math.Copysign(0, -1), "-0.0"},
		{"a whole number gets .0", 12, "12.0"},
		{"a half prints as is", 1.5, "1.5"},
		{"a rounded average prints four decimals", 0.7794, "0.7794"},
		{"trailing zeros are dropped", 1.9230, "1.923"},
		{"the smallest plain value", 0.001, "0.001"},
		{"the largest plain value", 9999999, "9999999.0"},
		{"ten million switches to E notation", 1e7, "1.0E7"},
		{"large values keep their digits", 1.2345e10, "1.2345E10"},
		{"small values use a negative exponent", 1.5e-4, "1.5E-4"},
		{"below a thousandth uses E notation", 0.0009, "9.0E-4"},
		{"negative values", -2.25, "-2.25"},
		{"not a number", math.NaN(), "NaN"},
		{"positive infinity", math.Inf(1), "Infinity"},
		{"negative infinity", math.Inf(-1), "-Infinity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := javaDouble(tt.in); got != tt.want {
				t.Errorf("javaDouble(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestRound4RoundsHalfUpOnTheDecimalDigits(t *testing.T) {
	tests := []struct {
		name string
		in   float64
		want float64
	}{
		{"25 over 13 rounds down", 25.0 / 13, 1.9231},
		{"1 over 7 rounds up", 1.0 / 7, 0.1429},
		{"a half in the fifth place rounds up", 0.77935, 0.7794},
		{"a value with four places is unchanged", 0.7794, 0.7794},
		{"a carry reaches the whole part", 0.99995, 1},
		{"a carry adds a digit", 9.99995, 10},
		{"less than half of the last place goes to zero", 0.00004, 0},
		{"half of the last place rounds up", 0.00005, 0.0001},
		{"negative values round away from zero", -0.77935, -0.7794},
		{"zero stays zero", 0, 0},
		{"whole numbers stay", 12, 12},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := round4(tt.in); got != tt.want {
				t.Errorf("round4(%v) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestJavaDateFormatsLikeDateToString(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no time zone database: %v", err)
	}
	tests := []struct {
		name string
		in   time.Time
		loc  *time.Location
		want string
	}{
		{"UTC", time.Date(2026, 11, 23, 5, 42, 56, 0, time.UTC), time.UTC, "Mon Nov 23 05:42:56 UTC 2026"},
		{"a one-digit day is zero-padded", time.Date(2026, 3, 2, 0, 0, 7, 999e6, time.UTC), time.UTC, "Mon Mar 02 00:00:07 UTC 2026"},
		{"the zone is the server's", time.Date(2026, 11, 23, 5, 42, 56, 0, time.UTC), berlin, "Mon Nov 23 06:42:56 CET 2026"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := javaDate(tt.in, tt.loc); got != tt.want {
				t.Errorf("javaDate = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestJavaHexPrintsTwosComplementWithoutPadding(t *testing.T) {
	tests := []struct {
		in   int64
		want string
	}{
		{0, "0"},
		{0x62, "62"},
		{0x1000069886e0011, "1000069886e0011"},
		{-1, "ffffffffffffffff"},
	}
	for _, tt := range tests {
		if got := javaHex(tt.in); got != tt.want {
			t.Errorf("javaHex(%d) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
