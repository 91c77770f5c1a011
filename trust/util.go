package trust

import (
	"crypto"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

const cryptoSHA256 = crypto.SHA256

func hexString(b []byte) string { return hex.EncodeToString(b) }

// LockFile is the file in the data directory that one process holds.
const LockFile = ".lock"

// lockDataDir takes an exclusive advisory lock on dir, so that two
// processes never append to one log: the index and the checkpoint cache
// assume a single writer. Closing the file releases it.
func lockDataDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("trust: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("trust: data directory %s is in use by another process: %w", dir, err)
	}
	return f, nil
}
