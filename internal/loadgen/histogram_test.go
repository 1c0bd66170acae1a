package loadgen

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestHistogramQuantiles(t *testing.T) {
	uniform := func(n int, unit time.Duration) []time.Duration {
		var ds []time.Duration
		for i := 1; i <= n; i++ {
			ds = append(ds, time.Duration(i)*unit)
		}
		return ds
	}
	tests := []struct {
		name   string
		record []time.Duration
		q      float64
		want   time.Duration
		tol    float64 // relative
	}{
		{"an empty histogram answers zero", nil, 0.5, 0, 0},
		{"one value is every quantile", []time.Duration{3 * time.Millisecond}, 0.99, 3 * time.Millisecond, 0},
		{"values below 256ns are exact", uniform(200, 1), 0.5, 100, 0},
		{"the median of 1..10000µs is 5000µs", uniform(10000, time.Microsecond), 0.5, 5000 * time.Microsecond, 0.01},
		{"p99 of 1..10000µs is 9900µs", uniform(10000, time.Microsecond), 0.99, 9900 * time.Microsecond, 0.01},
		{"p99.9 of 1..10000µs is 9990µs", uniform(10000, time.Microsecond), 0.999, 9990 * time.Microsecond, 0.01},
		{"quantile 0 is the exact minimum", uniform(1000, time.Microsecond+7), 0, time.Microsecond + 7, 0},
		{"quantile 1 is the exact maximum", uniform(1000, time.Microsecond+7), 1, 1000 * (time.Microsecond + 7), 0},
		{"one slow request in a hundred sets p99 but not p98",
			append(slices.Repeat([]time.Duration{time.Millisecond}, 99), time.Second), 0.98, time.Millisecond, 0.01},
		{"a long run of hours is still within 1%", []time.Duration{time.Hour, 2 * time.Hour, 3 * time.Hour}, 0.5, 2 * time.Hour, 0.01},
		{"negative durations count as zero", []time.Duration{-5, -1, 0}, 0.5, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Histogram
			for _, d := range tt.record {
				h.Record(d)
			}
			got := h.Quantile(tt.q)
			if diff := math.Abs(float64(got - tt.want)); diff > tt.tol*float64(tt.want) {
				t.Errorf("Quantile(%v) = %v, want %v (within %.1f%%)", tt.q, got, tt.want, tt.tol*100)
			}
		})
	}
}

func TestHistogramAgreesWithASortedSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var sample []time.Duration
	for range 100000 {
		// Log-normal-ish latencies from a few µs to a few hundred ms.
		d := time.Duration(math.Exp(rng.NormFloat64()*1.5 + 11))
		h.Record(d)
		sample = append(sample, d)
	}
	slices.Sort(sample)
	for _, q := range []float64{0.01, 0.25, 0.5, 0.9, 0.99, 0.999} {
		exact := sample[int(math.Ceil(q*float64(len(sample))))-1]
		got := h.Quantile(q)
		if diff := math.Abs(float64(got - exact)); diff > 0.005*float64(exact) {
			t.Errorf("Quantile(%v) = %v, exact %v: off by more than 0.5%%", q, got, exact)
		}
	}
	if h.Count() != uint64(len(sample)) || h.Min() != sample[0] || h.Max() != sample[len(sample)-1] {
		t.Errorf("Count, Min, Max = %d, %v, %v; want %d, %v, %v",
			h.Count(), h.Min(), h.Max(), len(sample), sample[0], sample[len(sample)-1])
	}
}

func TestHistogramMergeEqualsRecordingBoth(t *testing.T) {
	var a, b, both Histogram
	for i := range 1000 {
		d := time.Duration(i*i) * time.Microsecond
		both.Record(d)
		if i%3 == 0 {
			a.Record(d)
		} else {
			b.Record(d)
		}
	}
	a.Merge(&b)
	if a != both {
		t.Fatalf("merged histogram differs from one that recorded everything")
	}
	var empty Histogram
	a.Merge(&empty)
	if a != both {
		t.Fatalf("merging an empty histogram changed it")
	}
	empty.Merge(&both)
	if empty.Min() != both.Min() || empty.Max() != both.Max() || empty.Mean() != both.Mean() {
		t.Fatalf("merging into an empty histogram: min/max/mean %v/%v/%v, want %v/%v/%v",
			empty.Min(), empty.Max(), empty.Mean(), both.Min(), both.Max(), both.Mean())
	}
}

func TestBucketsAreContiguousAndOrdered(t *testing.T) {
	prevHi := int64(-1)
	for i := range numBuckets {
		lo, hi := bucketRange(i)
		if lo != prevHi+1 || hi < lo {
			t.Fatalf("bucket %d holds [%d, %d], previous ended at %d", i, lo, hi, prevHi)
		}
		if bucketOf(lo) != i || bucketOf(hi) != i {
			t.Fatalf("bucket %d holds [%d, %d] but bucketOf gives %d and %d", i, lo, hi, bucketOf(lo), bucketOf(hi))
		}
		prevHi = hi
	}
	if prevHi != math.MaxInt64 {
		t.Fatalf("last bucket ends at %d, want MaxInt64", prevHi)
	}
}

func TestHistogramCountAbove(t *testing.T) {
	var h Histogram
	if got := h.CountAbove(time.Millisecond); got != 0 {
		t.Fatalf("empty: CountAbove = %d", got)
	}
	for _, d := range []time.Duration{time.Millisecond, 50 * time.Millisecond, 99 * time.Millisecond, 101 * time.Millisecond, 150 * time.Millisecond, time.Second} {
		h.Record(d)
	}
	for _, c := range []struct {
		d    time.Duration
		want uint64
	}{{100 * time.Millisecond, 3}, {0, 6}, {time.Second, 0}, {2 * time.Second, 0}, {500 * time.Millisecond, 1}} {
		if got := h.CountAbove(c.d); got != c.want {
			t.Errorf("CountAbove(%v) = %d, want %d", c.d, got, c.want)
		}
	}
}
