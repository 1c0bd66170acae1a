package storage

import (
	"io"
	"sync"
)

// readAhead reads from r on a goroutine of its own, a block ahead of its
// reader, so that decompressing and reading a snapshot file overlap with
// parsing it. Close stops the goroutine.
type readAhead struct {
	full  chan []byte // blocks read, in order
	empty chan []byte // blocks to fill again
	stop  chan struct{}
	done  sync.WaitGroup
	err   error  // the read error that ended full; read after full closes
	block []byte // the block being read from, whole
	cur   []byte // its unread part
}

// readAheadBlock is the size of a block; readAheadBlocks blocks circulate.
const (
	readAheadBlock  = 1 << 20
	readAheadBlocks = 4
)

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full:  make(chan []byte, readAheadBlocks),
		empty: make(chan []byte, readAheadBlocks),
		stop:  make(chan struct{}),
	}
	for range readAheadBlocks {
		ra.empty <- make([]byte, readAheadBlock)
	}
	ra.done.Go(func() {
		defer close(ra.full)
		for {
			var b []byte
			select {
			case b = <-ra.empty:
			case <-ra.stop:
				return
			}
			n, err := io.ReadFull(r, b[:cap(b)])
			if n > 0 {
				ra.full <- b[:n] // never blocks: at most readAheadBlocks circulate
			}
			if err != nil {
				if err != io.ErrUnexpectedEOF {
					ra.err = err
				} else {
					ra.err = io.EOF
				}
				return
			}
		}
	})
	return ra
}

// Read implements io.Reader.
func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.block != nil {
			ra.empty <- ra.block[:cap(ra.block)]
			ra.block = nil
		}
		b, ok := <-ra.full
		if !ok {
			return 0, ra.err
		}
		ra.block, ra.cur = b, b
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// Close stops the reading goroutine and waits for it.
func (ra *readAhead) Close() {
	close(ra.stop)
	for range ra.full { // let it finish a read in progress
	}
	ra.done.Wait()
}
