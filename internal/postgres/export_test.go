package postgres

// LockDecisionsProfile is the statement whose plan plan_test.go checks.
const LockDecisionsProfile = lockDecisionsProfile

// WithAnalyzeAt sets the counts of logged decisions at which the store
// analyses its learning tables.
func WithAnalyzeAt(at ...int64) Option { return func(o *options) { o.analyzeAt = at } }

// Analyzed reports how many times the store has analysed them.
func (db *DB) Analyzed() int64 { return db.analyzed.Load() }
