package config

import "strings"

// suggest returns the explicit key or known property closest to an unknown
// key k, when one is close enough to be a likely typo, or "".
func suggest(k string) string {
	if len(k) < 4 {
		return ""
	}
	best, bestDist := "", 3 // accept at most 2 edits
	try := func(name string) {
		d := editDistance(strings.ToLower(k), strings.ToLower(name))
		if d < bestDist || (d == bestDist && best != "" && name < best) {
			best, bestDist = name, d
		}
	}
	for _, e := range explicitKeyList {
		try(e.name)
	}
	for name := range knownProps {
		try(name)
	}
	if best == "" {
		// Documentation sometimes drops a family prefix that the key needs,
		// as with maxTimeToWaitForEpoch (spec §8.2).
		for name := range knownProps {
			if strings.HasSuffix(name, "."+k) && (best == "" || name < best) {
				best = name
			}
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return len(a) + len(b) // long keys are no typo of a known name
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
