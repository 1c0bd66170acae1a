package admin

import (
	"math/bits"
	"math/rand/v2"
	"slices"
	"time"
)

// The quantile window. ZooKeeper 3.8's Prometheus provider keeps its
// summary quantiles over the last ten minutes in five rotating age buckets
// (the Prometheus Java client's defaults); a Recorder keeps the same
// window, with a bounded uniform sample in each bucket.
const (
	// QuantileWindow is how far back a Recorder's quantiles look: an
	// observation counts for at least QuantileWindow minus one bucket
	// span, and for at most QuantileWindow.
	QuantileWindow = 10 * time.Minute
	windowBuckets  = 5
	bucketSpan     = int64(QuantileWindow / windowBuckets)
	// bucketSample is how many observations a bucket keeps. Up to this
	// many observations per bucket span, quantiles are exact; beyond it each
	// bucket holds a uniform sample of its observations (Vitter's
	// reservoir algorithm R) and quantiles are estimates.
	bucketSample = 256
)

// recorderEpoch is the origin of the bucket clock. Durations from it use
// the monotonic clock, so a wall-clock step moves no observation in or out
// of the window.
var recorderEpoch = time.Now()

// Recorder accumulates the observations of one summary family: count,
// sum, minimum and maximum since the last Reset, and a sample of the
// observations of the last QuantileWindow, from which Summary's quantiles
// are read.
//
// Observe takes constant time and never allocates; a Recorder takes about
// 10 KiB. The zero value is empty and ready. A Recorder is not safe for
// concurrent use: one goroutine owns it, or a lock its owner names guards
// it.
type Recorder struct {
	min, max, sum, count int64
	buckets              [windowBuckets]recorderBucket
	rng                  rand.PCG
}

// recorderBucket holds a uniform sample of the observations made during
// one bucket span.
type recorderBucket struct {
	span int64 // which span: bucket-clock time / bucketSpan
	seen int64 // observations made in the span
	kept [bucketSample]int64
}

// Observe records one observation made at now.
func (r *Recorder) Observe(v int64, now time.Time) {
	if r.count == 0 || v < r.min {
		r.min = v
	}
	if r.count == 0 || v > r.max {
		r.max = v
	}
	r.sum += v
	r.count++

	span := spanOf(now)
	b := &r.buckets[(span%windowBuckets+windowBuckets)%windowBuckets]
	if b.seen == 0 || span > b.span {
		// The bucket is empty or holds an older span: start it afresh. (An
		// observation stamped before the bucket's span, from a clock read a
		// moment earlier, joins the newer span.)
		b.span, b.seen = span, 0
	}
	b.seen++
	if b.seen <= bucketSample {
		b.kept[b.seen-1] = v
		return
	}
	// A uniform index in [0, seen): the high word of a 64×64-bit product.
	if j, _ := bits.Mul64(r.rng.Uint64(), uint64(b.seen)); j < bucketSample {
		b.kept[j] = v
	}
}

// spanOf returns the bucket span that holds now.
func spanOf(now time.Time) int64 {
	t := int64(now.Sub(recorderEpoch))
	span := t / bucketSpan
	if t < 0 && t%bucketSpan != 0 {
		span-- // round towards minus infinity
	}
	return span
}

// Summary returns what the Recorder holds at now: count, sum, minimum and
// maximum, and in Recent a copy of the sample of the last QuantileWindow.
func (r *Recorder) Summary(now time.Time) Summary {
	s := Summary{Min: r.min, Max: r.max, Sum: r.sum, Count: r.count}
	current := spanOf(now)
	n := 0
	for i := range r.buckets {
		if b := &r.buckets[i]; live(b, current) {
			n += int(min(b.seen, bucketSample))
		}
	}
	if n == 0 {
		return s
	}
	s.Recent.values = make([]int64, 0, n)
	s.Recent.weights = make([]float64, 0, n)
	for i := range r.buckets {
		b := &r.buckets[i]
		if !live(b, current) {
			continue
		}
		k := min(b.seen, bucketSample)
		// Each kept observation stands for seen/k of the span's.
		w := float64(b.seen) / float64(k)
		s.Recent.values = append(s.Recent.values, b.kept[:k]...)
		for range k {
			s.Recent.weights = append(s.Recent.weights, w)
		}
	}
	return s
}

// live reports whether bucket b holds observations of the window that
// ends in span current.
func live(b *recorderBucket, current int64) bool {
	return b.seen > 0 && b.span > current-windowBuckets
}

// Reset forgets every observation.
func (r *Recorder) Reset() {
	r.min, r.max, r.sum, r.count = 0, 0, 0, 0
	for i := range r.buckets {
		r.buckets[i].seen = 0
	}
}

// Sample is a weighted sample of a summary's recent observations, from
// which its quantiles are read; each observation kept stands for a number
// of observations made (its weight). The zero Sample is empty. A Sample is
// immutable, and safe for concurrent use.
type Sample struct {
	values  []int64
	weights []float64
}

// Len returns the number of observations the sample keeps.
func (s Sample) Len() int { return len(s.values) }

// Quantiles returns the q-quantile of the observations the sample stands
// for, for each q in qs (0 ≤ q ≤ 1), and false when the sample is empty.
//
// The q-quantile is the nearest rank: the smallest observation v such that
// at least a fraction q of the observations are ≤ v (the minimum for q =
// 0). It is always an observed value, so min ≤ quantile ≤ max; it is exact
// while the sample keeps every observation. (ZooKeeper's mntr interpolates
// between the two neighbouring observations and rounds, so on few
// observations its percentiles can be one step higher: the median of 0,
// 0, 0, 1, 1, 1 is 0 here and 1 there. Its Prometheus quantiles, like
// these, are observed values.)
func (s Sample) Quantiles(qs ...float64) ([]int64, bool) {
	if len(s.values) == 0 {
		return nil, false
	}
	order := make([]int32, len(s.values))
	total := 0.0
	for i := range order {
		order[i] = int32(i)
		total += s.weights[i]
	}
	slices.SortFunc(order, func(a, b int32) int {
		switch va, vb := s.values[a], s.values[b]; {
		case va < vb:
			return -1
		case va > vb:
			return 1
		}
		return 0
	})
	out := make([]int64, len(qs))
	for j, q := range qs {
		// The rank, less a hair for the rounding of q·total (0.95·20 must
		// be rank 19, not 20).
		rank := q*total - 1e-9*total
		cum := 0.0
		out[j] = s.values[order[len(order)-1]]
		for _, i := range order {
			cum += s.weights[i]
			if cum >= rank {
				out[j] = s.values[i]
				break
			}
		}
	}
	return out, true
}
