package storage

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The log's fdatasync goes through an io_uring where the kernel allows
// one. A goroutine that calls fdatasync(2) itself keeps its P (Go's
// scheduler slot) for the whole call, until the runtime's monitor hands
// the P to another thread; with one P (a server limited to one CPU) that
// stops every request while the disk works, so zkd used to run with two
// Ps on one CPU, which costs a thread switch or more per request. Through
// the ring the kernel runs the sync on a worker of its own, and the
// goroutine waits for the completion in Go's poller like a socket read,
// holding no P and no thread.
//
// ZKD_IO_URING=off in the environment turns the ring off; so does a
// kernel without io_uring, or one that refuses it (io_uring_disabled, a
// seccomp profile). DataSync is then fdatasync(2).

// io_uring constants and layouts, from the kernel's uapi linux/io_uring.h.
const (
	uringOffSQRing  = 0
	uringOffCQRing  = 0x8000000
	uringOffSQEs    = 0x10000000
	uringFeatSingle = 1 << 0 // IORING_FEAT_SINGLE_MMAP
	uringOpFsync    = 3      // IORING_OP_FSYNC
	uringFsyncData  = 1 << 0 // IORING_FSYNC_DATASYNC
	uringRegEventfd = 4      // IORING_REGISTER_EVENTFD
)

type uringSQOffsets struct {
	head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
	userAddr                                                        uint64
}

type uringCQOffsets struct {
	head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
	userAddr                                                        uint64
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  uringSQOffsets
	cqOff                                                                  uringCQOffsets
}

type uringSQE struct {
	opcode      uint8
	flags       uint8
	ioprio      uint16
	fd          int32
	off         uint64
	addr        uint64
	len         uint32
	opFlags     uint32
	userData    uint64
	bufIndex    uint16
	personality uint16
	spliceFDIn  int32
	addr3       uint64
	pad         uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

// syncRing is an io_uring that runs one fdatasync at a time.
type syncRing struct {
	mu     sync.Mutex // one operation in flight; guards the rings and broken
	broken bool       // a submission failed: the ring is not used again
	fd     int
	mem    []byte // the single mapping of both rings
	sqes   []byte
	sqTail *uint32
	sqMask uint32
	sqArr  unsafe.Pointer
	cqHead *uint32
	cqTail *uint32
	cqMask uint32
	cqes   unsafe.Pointer
	event  *os.File        // eventfd the kernel signals on each completion
	rc     syscall.RawConn // event's descriptor in Go's poller
}

var (
	theRing     *syncRing
	theRingOnce sync.Once
)

// ringForSync returns the process's sync ring, or nil where io_uring is
// off, missing or refused. The ring lives as long as the process.
func ringForSync() *syncRing {
	theRingOnce.Do(func() {
		if os.Getenv("ZKD_IO_URING") == "off" {
			return
		}
		r, err := newSyncRing()
		if err == nil {
			theRing = r
		}
	})
	return theRing
}

func newSyncRing() (*syncRing, error) {
	var p uringParams
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, 4, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, fmt.Errorf("io_uring_setup: %w", errno)
	}
	r := &syncRing{fd: int(fd)}
	fail := func(err error) (*syncRing, error) {
		r.close()
		return nil, err
	}
	if p.features&uringFeatSingle == 0 {
		return fail(errors.New("io_uring without single mmap"))
	}
	sqSize := p.sqOff.array + p.sqEntries*4
	cqSize := p.cqOff.cqes + p.cqEntries*uint32(unsafe.Sizeof(uringCQE{}))
	size := max(sqSize, cqSize)
	mem, err := unix.Mmap(r.fd, uringOffSQRing, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail(fmt.Errorf("mmap io_uring rings: %w", err))
	}
	r.mem = mem
	sqes, err := unix.Mmap(r.fd, uringOffSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return fail(fmt.Errorf("mmap io_uring entries: %w", err))
	}
	r.sqes = sqes
	base := unsafe.Pointer(&mem[0])
	r.sqTail = (*uint32)(unsafe.Add(base, p.sqOff.tail))
	r.sqMask = *(*uint32)(unsafe.Add(base, p.sqOff.ringMask))
	r.sqArr = unsafe.Add(base, p.sqOff.array)
	r.cqHead = (*uint32)(unsafe.Add(base, p.cqOff.head))
	r.cqTail = (*uint32)(unsafe.Add(base, p.cqOff.tail))
	r.cqMask = *(*uint32)(unsafe.Add(base, p.cqOff.ringMask))
	r.cqes = unsafe.Add(base, p.cqOff.cqes)

	efd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fail(fmt.Errorf("eventfd: %w", err))
	}
	r.event = os.NewFile(uintptr(efd), "io_uring-eventfd")
	e32 := int32(efd)
	if _, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(r.fd), uringRegEventfd, uintptr(unsafe.Pointer(&e32)), 1, 0, 0); errno != 0 {
		return fail(fmt.Errorf("io_uring_register eventfd: %w", errno))
	}
	if r.rc, err = r.event.SyscallConn(); err != nil {
		return fail(err)
	}
	return r, nil
}

func (r *syncRing) close() {
	if r.event != nil {
		r.event.Close()
	}
	if r.sqes != nil {
		unix.Munmap(r.sqes)
	}
	if r.mem != nil {
		unix.Munmap(r.mem)
	}
	unix.Close(r.fd)
}

// SyncsWithoutBlocking reports whether [DataSync] on a file of [OS] waits
// for the disk in Go's poller (through io_uring) rather than in a thread
// blocked in fdatasync(2) that holds its P.
func SyncsWithoutBlocking() bool { return ringForSync() != nil }

// dataSync runs fdatasync(fd) on the ring and waits for it; after a
// failed submission it runs fdatasync(2) itself, then and ever after.
func (r *syncRing) dataSync(fd int) error { return r.sync(fd, uringFsyncData, unix.Fdatasync) }

// fullSync is dataSync for fsync(2): it also writes the inode, which a
// directory's new entries need.
func (r *syncRing) fullSync(fd int) error { return r.sync(fd, 0, unix.Fsync) }

// sync runs an IORING_OP_FSYNC with flags on the ring and waits for it;
// after a failed submission it calls direct itself, then and ever after.
func (r *syncRing) sync(fd int, flags uint32, direct func(fd int) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.broken {
		return direct(fd)
	}
	tail := *r.sqTail
	idx := tail & r.sqMask
	sqe := (*uringSQE)(unsafe.Pointer(&r.sqes[uintptr(idx)*unsafe.Sizeof(uringSQE{})]))
	*sqe = uringSQE{opcode: uringOpFsync, fd: int32(fd), opFlags: flags, userData: uint64(tail)}
	*(*uint32)(unsafe.Add(r.sqArr, 4*idx)) = idx
	atomic.StoreUint32(r.sqTail, tail+1)
	for {
		n, _, errno := unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(r.fd), 1, 0, 0, 0, 0)
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 || n != 1 {
			// The entry may still sit in the ring, where a later
			// submission would carry it along: leave the ring alone.
			r.broken = true
			return direct(fd)
		}
		break
	}
	var res int32
	var done uint64
	var readErr error
	var buf [8]byte
	err := r.rc.Read(func(efd uintptr) bool {
		for {
			head := *r.cqHead
			if head != atomic.LoadUint32(r.cqTail) {
				cqe := (*uringCQE)(unsafe.Add(r.cqes, uintptr(head&r.cqMask)*unsafe.Sizeof(uringCQE{})))
				res, done = cqe.res, cqe.userData
				atomic.StoreUint32(r.cqHead, head+1)
				return true
			}
			// Consume the signal, then look again: a completion posted
			// after the look above has signalled too. Only once the
			// eventfd is empty (EAGAIN) is waiting for its next signal
			// safe.
			if _, err := unix.Read(int(efd), buf[:]); err == unix.EAGAIN {
				return false
			} else if err != nil && err != unix.EINTR {
				readErr = err
				return true
			}
		}
	})
	if err != nil || readErr != nil || done != uint64(tail) {
		// Only a closed eventfd, or a completion of something this ring
		// never submitted, gets here; neither says whether the sync ran.
		r.broken = true
		return direct(fd)
	}
	if res < 0 {
		return syscall.Errno(-res)
	}
	return nil
}
