package admin

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// exactQuantile is the nearest-rank q-quantile of values, computed the
// slow, obvious way.
func exactQuantile(values []int64, q float64) int64 {
	sorted := slices.Sorted(slices.Values(values))
	rank := 1
	for float64(rank) < q*float64(len(sorted))-1e-9 {
		rank++
	}
	return sorted[rank-1]
}

func TestRecorderQuantilesAreExactForSmallInputs(t *testing.T) {
	now := time.Now()
	qs := []float64{0, 0.5, 0.9, 0.95, 0.99, 0.999, 1}
	for _, tc := range []struct {
		name   string
		values []int64
		want   []int64 // for qs
	}{
		{"one observation is every quantile", []int64{7}, []int64{7, 7, 7, 7, 7, 7, 7}},
		{"the median of an even count is the lower middle", []int64{4, 1, 3, 2}, []int64{1, 2, 4, 4, 4, 4, 4}},
		{"ten values in any order", []int64{10, 3, 7, 1, 9, 2, 8, 4, 6, 5}, []int64{1, 5, 9, 10, 10, 10, 10}},
		{"twenty values put p95 on the nineteenth", seq(1, 20), []int64{1, 10, 18, 19, 20, 20, 20}},
		{"repeats count once each", []int64{0, 0, 0, 0, 0, 0, 0, 0, 0, 5}, []int64{0, 0, 0, 5, 5, 5, 5}},
		{"negative values sort below zero", []int64{-3, 0, 3}, []int64{-3, 0, 3, 3, 3, 3, 3}},
		{"a full bucket is still exact", seq(1000, 1000+bucketSample-1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r Recorder
			for _, v := range tc.values {
				r.Observe(v, now)
			}
			s := r.Summary(now)
			if s.Recent.Len() != len(tc.values) {
				t.Fatalf("Recent keeps %d observations, want all %d", s.Recent.Len(), len(tc.values))
			}
			got, ok := s.Recent.Quantiles(qs...)
			if !ok {
				t.Fatal("no quantiles")
			}
			want := tc.want
			if want == nil {
				for _, q := range qs {
					want = append(want, exactQuantile(tc.values, q))
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("quantiles %v of %v = %v, want %v", qs, tc.values, got, want)
			}
			for i, q := range qs {
				if e := exactQuantile(tc.values, q); got[i] != e {
					t.Errorf("q%v = %d, the nearest rank is %d", q, got[i], e)
				}
			}
		})
	}
}

// seq returns lo, lo+1, ..., hi.
func seq(lo, hi int64) []int64 {
	var out []int64
	for v := lo; v <= hi; v++ {
		out = append(out, v)
	}
	return out
}

func TestRecorderCountsEveryObservation(t *testing.T) {
	now := time.Now()
	var r Recorder
	if s := r.Summary(now); s.Count != 0 || s.Sum != 0 || s.Min != 0 || s.Max != 0 || s.Recent.Len() != 0 {
		t.Fatalf("empty recorder: %+v", s)
	}
	if _, ok := r.Summary(now).Recent.Quantiles(0.5); ok {
		t.Fatal("an empty recorder has quantiles")
	}
	for _, v := range []int64{5, 3, 9, 0, 4} {
		r.Observe(v, now)
	}
	s := r.Summary(now)
	if s.Min != 0 || s.Max != 9 || s.Sum != 21 || s.Count != 5 {
		t.Errorf("summary %+v, want min 0 max 9 sum 21 count 5", s)
	}
	r.Reset()
	if s := r.Summary(now); s.Count != 0 || s.Sum != 0 || s.Min != 0 || s.Max != 0 || s.Recent.Len() != 0 {
		t.Errorf("after Reset: %+v", s)
	}
	r.Observe(-2, now)
	if s := r.Summary(now); s.Min != -2 || s.Max != -2 {
		t.Errorf("after Reset, one observation of -2: min %d max %d", s.Min, s.Max)
	}
}

func TestRecorderQuantilesForgetObservationsOlderThanTheWindow(t *testing.T) {
	start := time.Now()
	var r Recorder
	r.Observe(1000, start)
	for i := range 10 {
		r.Observe(int64(i), start.Add(QuantileWindow/2))
	}
	// Half a window later both are recent.
	if s := r.Summary(start.Add(QuantileWindow / 2)); s.Recent.Len() != 11 {
		t.Fatalf("after half a window %d recent observations, want 11", s.Recent.Len())
	}
	// A window (and a bucket span) after the first, only the later ten
	// are; the count, sum and extremes keep everything.
	later := start.Add(QuantileWindow + QuantileWindow/windowBuckets)
	s := r.Summary(later)
	if s.Recent.Len() != 10 {
		t.Errorf("a window later %d recent observations, want 10", s.Recent.Len())
	}
	if q, _ := s.Recent.Quantiles(1); q[0] != 9 {
		t.Errorf("max of the recent ones = %d, want 9", q[0])
	}
	if s.Count != 11 || s.Max != 1000 {
		t.Errorf("count %d max %d, want 11 and 1000", s.Count, s.Max)
	}
	// Long after, nothing is recent: no quantiles.
	if s := r.Summary(start.Add(3 * QuantileWindow)); s.Recent.Len() != 0 || s.Count != 11 {
		t.Errorf("long after: %d recent of %d", s.Recent.Len(), s.Count)
	}
	// A bucket reused for a later span starts afresh.
	r.Observe(42, start.Add(2*QuantileWindow))
	if s := r.Summary(start.Add(2 * QuantileWindow)); s.Recent.Len() != 1 {
		t.Errorf("after a quiet window, one observation: %d recent", s.Recent.Len())
	}
}

func TestRecorderQuantilesOfManyObservationsAreClose(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	start := time.Now()
	for _, tc := range []struct {
		name string
		// at returns when observation i of n is made.
		at func(i, n int) time.Time
	}{
		{"all in one bucket span", func(int, int) time.Time { return start }},
		{"spread over the window", func(i, n int) time.Time {
			return start.Add(time.Duration(int64(QuantileWindow) * 9 / 10 * int64(i) / int64(n)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const n = 200_000
			var r Recorder
			values := make([]int64, n)
			for i := range values {
				// A skewed distribution, like latencies: mostly small,
				// with a long tail.
				v := int64(rng.ExpFloat64() * 100)
				values[i] = v
				r.Observe(v, tc.at(i, n))
			}
			s := r.Summary(tc.at(n-1, n))
			if s.Count != n || s.Recent.Len() > windowBuckets*bucketSample {
				t.Fatalf("count %d, %d kept", s.Count, s.Recent.Len())
			}
			qs := []float64{0.5, 0.9, 0.95, 0.99}
			got, _ := s.Recent.Quantiles(qs...)
			sorted := slices.Sorted(slices.Values(values))
			for i, q := range qs {
				// The estimate's rank among all observations is within a
				// few standard errors of a uniform sample of the kept size.
				lo, _ := slices.BinarySearch(sorted, got[i])
				hi, _ := slices.BinarySearch(sorted, got[i]+1)
				rankLo, rankHi := float64(lo)/n, float64(hi)/n
				tol := 0.05
				if q >= 0.95 {
					tol = 0.02
				}
				if rankHi < q-tol || rankLo > q+tol {
					t.Errorf("q%v = %d, whose rank is %.3f..%.3f (true quantile %d)", q, got[i], rankLo, rankHi, exactQuantile(values, q))
				}
			}
		})
	}
}

func TestRecorderWeighsBucketsByTheirObservations(t *testing.T) {
	start := time.Now()
	var r Recorder
	// A busy bucket span of small values, then a quiet one of large ones.
	for i := range 10_000 {
		r.Observe(int64(i%100), start)
	}
	for i := range 100 {
		r.Observe(int64(1000+i), start.Add(QuantileWindow/windowBuckets))
	}
	got, _ := r.Summary(start.Add(QuantileWindow/windowBuckets)).Recent.Quantiles(0.5, 0.98, 0.999)
	// Of 10,100 observations the median and the 98th percentile are small;
	// only the top 1% are large.
	if got[0] < 40 || got[0] > 60 || got[1] >= 100 || got[2] < 1000 {
		t.Errorf("p50, p98, p99.9 = %v, want about 50, below 100, at least 1000", got)
	}
}

func TestRecorderObserveDoesNotAllocate(t *testing.T) {
	var r Recorder
	now := time.Now()
	v := int64(0)
	if n := testing.AllocsPerRun(10_000, func() {
		v++
		r.Observe(v%1000, now)
	}); n != 0 {
		t.Errorf("Observe allocates %v times per call", n)
	}
}

func BenchmarkRecorderObserve(b *testing.B) {
	var r Recorder
	now := time.Now()
	v := int64(0)
	for b.Loop() {
		v++
		r.Observe(v&1023, now)
	}
}

func BenchmarkRecorderSummaryQuantiles(b *testing.B) {
	var r Recorder
	now := time.Now()
	for i := range 100_000 {
		r.Observe(int64(i%1000), now.Add(time.Duration(i)*time.Millisecond))
	}
	now = now.Add(100 * time.Second)
	for b.Loop() {
		r.Summary(now).Recent.Quantiles(mntrPercentiles...)
	}
}
