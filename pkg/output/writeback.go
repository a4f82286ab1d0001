package output

import (
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// Writeback starts writing a file's bytes to disk while the file is still
// being written, so that the sync that ends the write waits for the last
// few MiB rather than for the whole file: the disk works beside the
// writer instead of after it. Without it, a 1 GiB output is written to the
// page cache, then all of it to disk at the sync; the kernel would start
// on its own only past its dirty thresholds.
//
// It looks at the file's size every writebackTick (whoever writes it: a
// bufio.Writer, copy_file_range) and asks the kernel to start writing what
// was added since, once that is at least writebackPiece
// (sync_file_range(SYNC_FILE_RANGE_WRITE), which does not wait for the
// disk). Stop ends it; it must be called before the file is closed.
type Writeback struct {
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

const (
	writebackTick  = 20 * time.Millisecond
	writebackPiece = 8 << 20
)

// syncRange is unix.SyncFileRange; a test replaces it to see the calls.
var syncRange = unix.SyncFileRange

// StartWriteback starts the writeback of f, a regular file being written
// from its start.
func StartWriteback(f *os.File) *Writeback {
	w := &Writeback{stop: make(chan struct{})}
	fd := int(f.Fd())
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		t := time.NewTicker(writebackTick)
		defer t.Stop()
		var started int64
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
			var st unix.Stat_t
			if unix.Fstat(fd, &st) != nil {
				return
			}
			if st.Size-started < writebackPiece {
				continue
			}
			// A failure costs only the head start: the sync still writes
			// everything, and reports what fails.
			if syncRange(fd, started, st.Size-started, unix.SYNC_FILE_RANGE_WRITE) != nil {
				return
			}
			started = st.Size
		}
	}()
	return w
}

// Stop ends the writeback and returns once it has ended. It may be called
// more than once, and on a zero Writeback, which does nothing.
func (w *Writeback) Stop() {
	w.once.Do(func() {
		if w.stop != nil {
			close(w.stop)
		}
	})
	w.wg.Wait()
}
