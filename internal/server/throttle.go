package server

import (
	"math/rand/v2"

	"github.com/zkd/zkd/internal/config"
)

// connThrottle is ZooKeeper's connection token bucket
// (zookeeper.connection_throttle_*): each new connection's handshake costs
// tokens, the bucket refills at a fixed rate, and a handshake that finds
// too few is refused (the connection closes without an answer). With a
// freeze time set, a drop probability rises while the bucket is empty and
// falls while it is nearly full, and handshakes are also refused at
// random with that probability. Owned by the core goroutine.
type connThrottle struct {
	cfg        config.ConnectionThrottle
	tokens     int
	lastFill   int64 // ms
	lastFreeze int64 // ms
	drop       float64
	rand       *rand.Rand
}

func newConnThrottle(cfg config.ConnectionThrottle, nowMS int64) *connThrottle {
	return &connThrottle{cfg: cfg, tokens: cfg.Tokens, lastFill: nowMS, lastFreeze: nowMS,
		rand: rand.New(rand.NewPCG(uint64(nowMS), 0x9e3779b97f4a7c15))}
}

func (t *connThrottle) enabled() bool { return t.cfg.Tokens > 0 }

// cost returns the tokens a handshake costs: one, or with weights on, the
// weight of a new or a resumed session.
func (t *connThrottle) cost(resume bool) int {
	switch {
	case !t.cfg.WeightEnabled:
		return 1
	case resume:
		return t.cfg.RenewWeight
	default:
		return t.cfg.GlobalWeight
	}
}

// admit takes need tokens if the bucket has them and the random early drop
// spares the connection.
func (t *connThrottle) admit(need int, nowMS int64) bool {
	if !t.enabled() {
		return true
	}
	if elapsed := nowMS - t.lastFill; elapsed > int64(t.cfg.FillTimeMS) {
		refill := elapsed * int64(t.cfg.FillCount) / int64(t.cfg.FillTimeMS)
		t.tokens = int(min(int64(t.tokens)+refill, int64(t.cfg.Tokens)))
		t.lastFill = nowMS
	}
	if t.cfg.FreezeTimeMS != -1 && !t.spareByChance(nowMS) {
		return false
	}
	if t.tokens < need {
		return false
	}
	t.tokens -= need
	return true
}

// spareByChance adjusts the drop probability at most once per freeze time
// (up while the bucket is empty, down while it holds more than the
// decrease point) and draws against it.
func (t *connThrottle) spareByChance(nowMS int64) bool {
	if nowMS-t.lastFreeze > int64(t.cfg.FreezeTimeMS) {
		used := t.cfg.Tokens - t.tokens
		decreasePoint := int64(float64(t.cfg.Tokens)*t.cfg.DecreaseRatio + 0.5)
		switch {
		case used == t.cfg.Tokens && t.drop < 1:
			t.drop = min(t.drop+t.cfg.DropIncrease, 1)
		case int64(used) <= decreasePoint && t.drop > 0:
			t.drop = max(t.drop-t.cfg.DropDecrease, 0)
		}
		t.lastFreeze = nowMS
	}
	return t.rand.Float64() >= t.drop
}

// deficit is how many tokens the bucket lacks (connection_token_deficit).
func (t *connThrottle) deficit() int { return t.cfg.Tokens - t.tokens }
