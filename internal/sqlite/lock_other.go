//go:build !unix

package sqlite

import (
	"errors"
	"os"
)

// lockLearning is not implemented off Unix: without the lock the cache
// would be unsound, so Open refuses WithCache there.
func lockLearning(path string) (*os.File, error) {
	return nil, errors.New("WithCache needs an advisory file lock, not supported on this platform")
}
