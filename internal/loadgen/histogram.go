package loadgen

import (
	"math"
	"math/bits"
	"time"
)

// subBucketBits sets the histogram's precision: every power of two is split
// into 1<<subBucketBits linear sub-buckets, so a recorded value is known to
// within 1/128 (0.8%) of itself, and values below 256ns exactly.
const subBucketBits = 7

const (
	subBuckets = 1 << subBucketBits
	// numBuckets covers every non-negative int64: the exact region
	// [0, 2*subBuckets) and then subBuckets buckets for each further power
	// of two.
	numBuckets = (64 - subBucketBits) * subBuckets
)

// Histogram records latencies in logarithmic buckets of bounded relative
// error, in the manner of an HDR histogram, and answers quantile queries.
// Its memory is fixed (about 58 KiB) whatever it records. The zero value is
// an empty histogram ready to use. A Histogram is not safe for concurrent
// use: give each goroutine its own and Merge them.
type Histogram struct {
	counts   [numBuckets]uint64
	n        uint64
	min, max int64   // exact extremes, valid when n > 0
	sum      float64 // of all recorded values, in nanoseconds
}

// bucketOf returns the index of the bucket holding v (v >= 0).
//
// Values below 2*subBuckets index themselves. Above that, v's top
// subBucketBits+1 bits (its mantissa, in [subBuckets, 2*subBuckets)) choose
// the sub-bucket and the number of bits below them (shift) the power of two.
// The index is monotonic in v.
func bucketOf(v int64) int {
	shift := bits.Len64(uint64(v)) - (subBucketBits + 1)
	if shift <= 0 {
		return int(v)
	}
	mantissa := int(v >> shift)
	return (shift+1)<<subBucketBits + mantissa - subBuckets
}

// bucketRange returns the smallest and largest values bucket i holds.
func bucketRange(i int) (lo, hi int64) {
	if i < 2*subBuckets {
		return int64(i), int64(i)
	}
	shift := i>>subBucketBits - 1
	mantissa := int64(i&(subBuckets-1) + subBuckets)
	lo = mantissa << shift
	return lo, lo + (int64(1) << shift) - 1
}

// Record adds one latency. Negative durations count as zero.
func (h *Histogram) Record(d time.Duration) {
	v := max(int64(d), 0)
	h.counts[bucketOf(v)]++
	if h.n == 0 || v < h.min {
		h.min = v
	}
	if h.n == 0 || v > h.max {
		h.max = v
	}
	h.n++
	h.sum += float64(v)
}

// Merge adds everything o recorded to h.
func (h *Histogram) Merge(o *Histogram) {
	if o.n == 0 {
		return
	}
	for i, c := range o.counts {
		h.counts[i] += c
	}
	if h.n == 0 || o.min < h.min {
		h.min = o.min
	}
	if h.n == 0 || o.max > h.max {
		h.max = o.max
	}
	h.n += o.n
	h.sum += o.sum
}

// Count returns how many latencies were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// CountAbove returns how many recorded latencies exceeded d, to within the
// histogram's precision: a value in the same bucket as d (within 0.8% of
// it) counts as exceeding d only if the bucket's smallest value does.
func (h *Histogram) CountAbove(d time.Duration) uint64 {
	if h.n == 0 || int64(d) >= h.max {
		return 0
	}
	if int64(d) < h.min {
		return h.n
	}
	var n uint64
	for i := bucketOf(max(int64(d), 0)) + 1; i < numBuckets; i++ {
		n += h.counts[i]
	}
	return n
}

// Min returns the smallest recorded latency, or 0 if none was recorded.
func (h *Histogram) Min() time.Duration { return time.Duration(h.min) }

// Max returns the largest recorded latency, or 0 if none was recorded.
func (h *Histogram) Max() time.Duration { return time.Duration(h.max) }

// Mean returns the average recorded latency, or 0 if none was recorded.
func (h *Histogram) Mean() time.Duration {
	if h.n == 0 {
		return 0
	}
	return time.Duration(h.sum / float64(h.n))
}

// Quantile returns the latency at quantile q (0.5 for the median, 0.99 for
// p99): the smallest recorded value such that at least a fraction q of all
// recorded values are no larger, to within the histogram's precision (0.8%).
// Quantile(0) is Min and Quantile(1) is Max, exactly. It returns 0 for an
// empty histogram; q is clamped to [0, 1].
func (h *Histogram) Quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	q = min(max(q, 0), 1)
	// rank is the 1-based position of the wanted value in sorted order.
	rank := uint64(math.Ceil(q * float64(h.n)))
	if rank <= 1 {
		return time.Duration(h.min)
	}
	if rank >= h.n {
		return time.Duration(h.max)
	}
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, hi := bucketRange(i)
			// The middle of the bucket halves the worst-case error; the
			// exact extremes are better bounds where they fall inside it.
			mid := lo + (hi-lo)/2
			return time.Duration(min(max(mid, h.min), h.max))
		}
	}
	return time.Duration(h.max) // unreachable: the counts sum to n
}
