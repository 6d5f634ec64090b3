package learn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"

	"github.com/amp-protocol/amp"
)

// The four adapted dimensions and their options, indexed in the fixed order
// of amp.Framings, amp.Styles, amp.Handlings and amp.Encouragements.
const (
	numDims = 4
	numArms = 4

	dimFraming       = 0
	dimStyle         = 1
	dimHandling      = 2
	dimEncouragement = 3

	numComplexities = 3 // amp.TaskComplexities; "not given" has no cell
)

// Caps on the task-type contexts kept. A new task type beyond the cap
// replaces the one with the least recent evidence (the smallest discounted
// count), so a state never grows past MaxUserStateBytes or
// MaxPopulationStateBytes.
const (
	MaxUserTaskTypes       = 6
	MaxPopulationTaskTypes = 16
)

// Sizes of the encoded states. A user's state (format version 1, floats
// as float32) is at most 2,540 bytes: a 70-byte header, a 208-byte cell for
// everything, and one more cell (plus its name) per task kind (at most
// MaxUserTaskTypes) and per request complexity seen; a new user's first
// outcome on a debugging task of high complexity makes it 704 bytes. A
// tenant's population (format version 3, floats as float64, so that sums
// merged in any order agree to float64 rounding) is at most 11,426 bytes: a
// 2,226-byte header (2,176 of it the covariance sums of users' effects), a
// 408-byte cell for everything, and one per request complexity and task
// kind (at most MaxPopulationTaskTypes).
const (
	cellBytes               = 16 + numDims*numArms*3*4 // seq, N, S, K, then n, s, c per option
	popCellBytes            = 3*8 + numDims*numArms*3*8
	userHeaderBytes         = 4 + 4 + 8 + numDims*13 + 2
	popHeaderBytes          = 4 + 8 + 4 + 4*8 + 2*numCov*8 + 2
	MaxUserStateBytes       = userHeaderBytes + (1+numComplexities+MaxUserTaskTypes)*cellBytes + MaxUserTaskTypes*(1+amp.MaxTaskTypeBytes)
	MaxPopulationStateBytes = popHeaderBytes + (1+numComplexities+MaxPopulationTaskTypes)*popCellBytes + MaxPopulationTaskTypes*(1+amp.MaxTaskTypeBytes)
)

const (
	magic0, magic1 = 'a', 'm'
	kindUser       = 'u'
	kindPopulation = 'p'
	formatVersion  = 1 // of user states
	popVersion     = 3 // of population states; 2 has no covariance sums
)

// ErrBadState is wrapped by every error about state bytes the engine cannot
// read: truncated, of another kind or version, or holding impossible values.
var ErrBadState = errors.New("learn: unreadable state")

// arm holds the discounted evidence about one option of one dimension in
// one cell.
type arm struct {
	N float64 // discounted count
	S float64 // discounted sum of the rewards of outcomes with this option (see Engine.Learn)
	C float64 // discounted successes: completions, or starts when completion is not reported
}

// cell is the evidence of one context: everything (the global cell), one
// task type, or one request complexity. Counts decay lazily: a cell holds
// the owner's update counter at its last update, and its counts are worth
// discount^(owner.Seq-cell.Seq) of their stored values.
type cell struct {
	Seq  uint32
	N    float64 // discounted count of outcomes
	S    float64 // discounted sum of rewards (see Engine.Learn)
	K    float64 // discounted count of outcomes that reported completion
	Arms [numDims][numArms]arm
}

type taskCell struct {
	Key string
	cell
}

// manualPref is a preference set through PUT /v1/profile: pseudo-evidence
// worth Weight outcomes (decaying like the user's own evidence from Seq on)
// that Arm is Margin better than the best other option.
type manualPref struct {
	Arm    int8 // -1: none
	Weight float64
	Margin float64
	Seq    uint32
}

// userState is one user's model.
type userState struct {
	Seq uint32 // outcomes learned
	// Surprise and Shortfall are running means of the user's standardised
	// prediction errors against the user's model and against the
	// population's (see alarm).
	Surprise, Shortfall float64
	Manual              [numDims]manualPref
	Global              cell
	Cx                  [numComplexities]cell
	Tasks               []taskCell
}

// popState is a tenant's population model: the prior of its users. Its
// cells hold sums of evidence weighted by the outcome's age at Origin (see
// Engine.MergePopulation); their Seq is always 0.
type popState struct {
	// Outcomes counts the outcomes merged, unweighted.
	Outcomes float64
	// Origin is the epoch (hours since the Unix epoch) the weights refer
	// to: the latest epoch of any merged outcome.
	Origin int32
	// NoiseN and NoiseSS are the weighted count and sum of squares of the
	// prediction errors of well-known users: the reward noise σ² is
	// NoiseSS/NoiseN.
	NoiseN, NoiseSS float64
	// TauN and TauS are the weighted count and sum of samples of the
	// variance of users' effects around the population's (see
	// Engine.spreadSample).
	TauN, TauS float64
	// CovN and CovS are, per pair of options (the upper triangle, see
	// covIndex), the weighted count and sum of samples of the covariance
	// of users' effects (see Engine.covSampleOf).
	CovN, CovS [numCov]float64
	Global     cell
	Cx         [numComplexities]cell
	Tasks      []taskCell
}

func newUserState() *userState {
	u := &userState{}
	for d := range u.Manual {
		u.Manual[d].Arm = -1
	}
	return u
}

func (u *userState) task(key string) *taskCell {
	for i := range u.Tasks {
		if u.Tasks[i].Key == key {
			return &u.Tasks[i]
		}
	}
	return nil
}

// cells lists every cell of u.
func (u *userState) cells() []*cell {
	cs := []*cell{&u.Global, &u.Cx[0], &u.Cx[1], &u.Cx[2]}
	for i := range u.Tasks {
		cs = append(cs, &u.Tasks[i].cell)
	}
	return cs
}

func (p *popState) cells() []*cell {
	cs := []*cell{&p.Global, &p.Cx[0], &p.Cx[1], &p.Cx[2]}
	for i := range p.Tasks {
		cs = append(cs, &p.Tasks[i].cell)
	}
	return cs
}

func (p *popState) task(key string) *taskCell {
	for i := range p.Tasks {
		if p.Tasks[i].Key == key {
			return &p.Tasks[i]
		}
	}
	return nil
}

// complexityIndex maps a request complexity to its cell, -1 when not given.
func complexityIndex(c amp.TaskComplexity) int {
	switch c {
	case amp.TaskComplexityLow:
		return 0
	case amp.TaskComplexityMedium:
		return 1
	case amp.TaskComplexityHigh:
		return 2
	}
	return -1
}

// ---- encoding (format version 1, little endian, floats as float32) ----
//
//	user:       'a' 'm' 'u' 1 | seq u32 | surprise f32 | shortfall f32 | 4 × (arm i8, weight f32, effect f32, seq u32)
//	            | cx mask u8 | task count u8 | global cell | cx cells in mask order
//	            | task count × (key length u8, key, cell)
//	population: 'a' 'm' 'p' 3 | outcomes f64 | origin u32 | noiseN, noiseSS, tauN, tauS f64
//	            | 136 × (covN, covS) f64 | cx mask u8 | task count u8 | global cell | cx cells | tasks
//	            (version 2: the same without the covariance sums; version 1: see decodePopulationV1)
//	cell:       seq u32 | N f32 | S f32 | K f32 | 16 options × (n, s, c) f32
//
// A complexity cell is stored only once it holds evidence.

type writer struct{ b []byte }

func (w *writer) u8(v byte)    { w.b = append(w.b, v) }
func (w *writer) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *writer) f32(v float64) {
	w.b = binary.LittleEndian.AppendUint32(w.b, math.Float32bits(float32(v)))
}

func (w *writer) f64(v float64) { w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v)) }

// popCell writes a population's cell: float64s, no seq.
func (w *writer) popCell(c *cell) {
	w.f64(c.N)
	w.f64(c.S)
	w.f64(c.K)
	for d := range c.Arms {
		for a := range c.Arms[d] {
			x := &c.Arms[d][a]
			w.f64(x.N)
			w.f64(x.S)
			w.f64(x.C)
		}
	}
}

// cell writes a user's cell: its seq, then float32s.
func (w *writer) cell(c *cell) {
	w.u32(c.Seq)
	w.f32(c.N)
	w.f32(c.S)
	w.f32(c.K)
	for d := range c.Arms {
		for a := range c.Arms[d] {
			x := &c.Arms[d][a]
			w.f32(x.N)
			w.f32(x.S)
			w.f32(x.C)
		}
	}
}

func cxMask(cx *[numComplexities]cell) byte {
	var m byte
	for i := range cx {
		if cx[i].N > 0 {
			m |= 1 << i
		}
	}
	return m
}

func (u *userState) encode() []byte {
	w := writer{b: make([]byte, 0, userHeaderBytes+(1+len(u.Tasks)+numComplexities)*cellBytes+len(u.Tasks)*16)}
	w.b = append(w.b, magic0, magic1, kindUser, formatVersion)
	w.u32(u.Seq)
	w.f32(u.Surprise)
	w.f32(u.Shortfall)
	for _, m := range u.Manual {
		w.u8(byte(m.Arm))
		w.f32(m.Weight)
		w.f32(m.Margin)
		w.u32(m.Seq)
	}
	w.contexts(&u.Global, &u.Cx, u.Tasks)
	return w.b
}

func (p *popState) encode() []byte {
	w := writer{b: make([]byte, 0, popHeaderBytes+(1+len(p.Tasks)+numComplexities)*popCellBytes+len(p.Tasks)*16)}
	w.b = append(w.b, magic0, magic1, kindPopulation, popVersion)
	w.f64(p.Outcomes)
	w.u32(uint32(p.Origin))
	w.f64(p.NoiseN)
	w.f64(p.NoiseSS)
	w.f64(p.TauN)
	w.f64(p.TauS)
	for k := range numCov {
		w.f64(p.CovN[k])
		w.f64(p.CovS[k])
	}
	mask := cxMask(&p.Cx)
	w.u8(mask)
	w.u8(byte(len(p.Tasks)))
	w.popCell(&p.Global)
	for i := range p.Cx {
		if mask&(1<<i) != 0 {
			w.popCell(&p.Cx[i])
		}
	}
	for i := range p.Tasks {
		w.u8(byte(len(p.Tasks[i].Key)))
		w.b = append(w.b, p.Tasks[i].Key...)
		w.popCell(&p.Tasks[i].cell)
	}
	return w.b
}

// contexts writes the evidence cells a user and a population share the
// layout of: which complexity cells are present, the task count, the
// global cell, the present complexity cells, then each task's key and cell.
func (w *writer) contexts(global *cell, cx *[numComplexities]cell, tasks []taskCell) {
	mask := cxMask(cx)
	w.u8(mask)
	w.u8(byte(len(tasks)))
	w.cell(global)
	for i := range cx {
		if mask&(1<<i) != 0 {
			w.cell(&cx[i])
		}
	}
	for i := range tasks {
		w.u8(byte(len(tasks[i].Key)))
		w.b = append(w.b, tasks[i].Key...)
		w.cell(&tasks[i].cell)
	}
}

type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: "+format, append([]any{ErrBadState}, args...)...)
	}
}

func (r *reader) need(n int) bool {
	if r.err != nil {
		return false
	}
	if len(r.b) < n {
		r.fail("truncated")
		return false
	}
	return true
}

func (r *reader) u8() byte {
	if !r.need(1) {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u32() uint32 {
	if !r.need(4) {
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

// f32 reads a float that must be finite; nonNeg also refuses negatives, for
// counts.
func (r *reader) f32(nonNeg bool) float64 {
	if !r.need(4) {
		return 0
	}
	v := float64(math.Float32frombits(binary.LittleEndian.Uint32(r.b)))
	r.b = r.b[4:]
	if math.IsNaN(v) || math.IsInf(v, 0) || nonNeg && v < 0 {
		r.fail("invalid number %v", v)
		return 0
	}
	return v
}

// f64 reads a float64 as f32 does a float32.
func (r *reader) f64(nonNeg bool) float64 {
	if !r.need(8) {
		return 0
	}
	v := math.Float64frombits(binary.LittleEndian.Uint64(r.b))
	r.b = r.b[8:]
	if math.IsNaN(v) || math.IsInf(v, 0) || nonNeg && v < 0 {
		r.fail("invalid number %v", v)
		return 0
	}
	return v
}

func (r *reader) popCell(c *cell) {
	c.N = r.f64(true)
	c.S = r.f64(false)
	c.K = r.f64(true)
	for d := range c.Arms {
		for a := range c.Arms[d] {
			x := &c.Arms[d][a]
			x.N = r.f64(true)
			x.S = r.f64(false)
			x.C = r.f64(true)
		}
	}
}

func (r *reader) cell(c *cell, owner uint32) {
	c.Seq = r.u32()
	c.N = r.f32(true)
	c.S = r.f32(false)
	c.K = r.f32(true)
	for d := range c.Arms {
		for a := range c.Arms[d] {
			x := &c.Arms[d][a]
			x.N = r.f32(true)
			x.S = r.f32(false)
			x.C = r.f32(true)
		}
	}
	if r.err == nil && c.Seq > owner {
		r.fail("cell newer than its owner")
	}
}

func (r *reader) skip(n int) {
	if r.need(n) {
		r.b = r.b[n:]
	}
}

func (r *reader) header(kind, version byte) {
	if !r.need(4) {
		return
	}
	if r.b[0] != magic0 || r.b[1] != magic1 || r.b[2] != kind {
		r.fail("not a %s state", kindName(kind))
		return
	}
	if r.b[3] != version {
		r.fail("unknown format version %d", r.b[3])
		return
	}
	r.b = r.b[4:]
}

func kindName(k byte) string {
	if k == kindUser {
		return "user"
	}
	return "population"
}

// key reads a task key: non-empty, at most amp.MaxTaskTypeBytes of valid
// UTF-8. The bytes alias the input.
func (r *reader) key() []byte {
	n := int(r.u8())
	if r.err != nil {
		return nil
	}
	if n == 0 || n > amp.MaxTaskTypeBytes {
		r.fail("task key length %d", n)
		return nil
	}
	if !r.need(n) {
		return nil
	}
	k := r.b[:n:n]
	r.b = r.b[n:]
	if !utf8.Valid(k) {
		r.fail("invalid task key")
		return nil
	}
	return k
}

// dupKey reports whether k is among keys.
func dupKey(keys [][]byte, k []byte) bool {
	for _, x := range keys {
		if string(x) == string(k) {
			return true
		}
	}
	return false
}

// decodeUser reads a user state; nil or empty bytes are a new user. When
// only is not nil, task cells other than *only are skipped unread (Decide
// needs one); the result then holds at most that task.
func decodeUser(b []byte, only *string) (*userState, error) {
	u := newUserState()
	if len(b) == 0 {
		return u, nil
	}
	r := reader{b: b}
	r.header(kindUser, formatVersion)
	u.Seq = r.u32()
	u.Surprise = r.f32(false)
	u.Shortfall = r.f32(false)
	if r.err == nil && (math.Abs(u.Surprise) > maxSurprise || math.Abs(u.Shortfall) > maxSurprise) {
		r.fail("invalid surprise")
	}
	for d := range u.Manual {
		m := &u.Manual[d]
		m.Arm = int8(r.u8())
		m.Weight = r.f32(true)
		m.Margin = r.f32(false)
		m.Seq = r.u32()
		if r.err == nil && (m.Arm < -1 || m.Arm >= numArms || m.Seq > u.Seq || m.Margin < -1 || m.Margin > 1) {
			r.fail("invalid manual preference")
		}
	}
	mask := r.u8()
	nt := int(r.u8())
	if r.err == nil && (mask >= 1<<numComplexities || nt > MaxUserTaskTypes) {
		r.fail("invalid layout")
	}
	if r.err != nil {
		return nil, r.err
	}
	r.cell(&u.Global, u.Seq)
	for i := range u.Cx {
		if mask&(1<<i) != 0 {
			r.cell(&u.Cx[i], u.Seq)
		}
	}
	if only == nil && nt > 0 {
		u.Tasks = make([]taskCell, 0, nt+1) // room for one more
	}
	var keys [MaxPopulationTaskTypes][]byte
	for i := range nt {
		k := r.key()
		if r.err == nil && dupKey(keys[:i], k) {
			r.fail("duplicate task key")
		}
		keys[i] = k
		if only != nil && string(k) != *only {
			r.skip(cellBytes)
			continue
		}
		u.Tasks = append(u.Tasks, taskCell{Key: string(k)})
		r.cell(&u.Tasks[len(u.Tasks)-1].cell, u.Seq)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return u, nil
}

// decodePopulation reads a population state; nil or empty bytes are a
// tenant without one. only works as in decodeUser.
func decodePopulation(b []byte, only *string) (*popState, error) {
	p := &popState{}
	if len(b) == 0 {
		return p, nil
	}
	if len(b) >= 4 && b[0] == magic0 && b[1] == magic1 && b[2] == kindPopulation && b[3] == formatVersion {
		return decodePopulationV1(b, only)
	}
	r := reader{b: b}
	version := byte(popVersion)
	if len(b) >= 4 && b[3] == 2 {
		version = 2 // before the covariance sums
	}
	r.header(kindPopulation, version)
	p.Outcomes = r.f64(true)
	p.Origin = int32(r.u32())
	p.NoiseN = r.f64(true)
	p.NoiseSS = r.f64(true)
	p.TauN = r.f64(true)
	p.TauS = r.f64(false)
	if version >= 3 {
		for k := range numCov {
			p.CovN[k] = r.f64(true)
			p.CovS[k] = r.f64(false)
		}
	}
	mask := r.u8()
	nt := int(r.u8())
	if r.err == nil && (mask >= 1<<numComplexities || nt > MaxPopulationTaskTypes) {
		r.fail("invalid layout")
	}
	if r.err != nil {
		return nil, r.err
	}
	r.popCell(&p.Global)
	for i := range p.Cx {
		if mask&(1<<i) != 0 {
			r.popCell(&p.Cx[i])
		}
	}
	if only == nil && nt > 0 {
		p.Tasks = make([]taskCell, 0, nt+1)
	}
	var keys [MaxPopulationTaskTypes][]byte
	for i := range nt {
		k := r.key()
		if r.err == nil && dupKey(keys[:i], k) {
			r.fail("duplicate task key")
		}
		keys[i] = k
		if only != nil && string(k) != *only {
			r.skip(popCellBytes)
			continue
		}
		p.Tasks = append(p.Tasks, taskCell{Key: string(k)})
		r.popCell(&p.Tasks[len(p.Tasks)-1].cell)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}

// v1PopulationDiscount is the per-outcome discount of format version 1
// populations, which forgot by count.
const v1PopulationDiscount = 0.9999

// decodePopulationV1 reads a population of format version 1, which earlier
// releases stored: float32 cells with lazy per-outcome discounts. Each cell
// is brought to its present weight; the origin is left unset (0), so that
// the first merge takes the newest delta's epoch without ageing what the
// old population knew (see Engine.MergePopulation), and its next encode
// writes the current version.
//
//	'a' 'm' 'p' 1 | seq u32 | noiseVar f32 | noiseN f32 | cx mask u8
//	| task count u8 | global cell | cx cells | task count × (key, cell)
func decodePopulationV1(b []byte, only *string) (*popState, error) {
	p := &popState{}
	r := reader{b: b}
	r.header(kindPopulation, formatVersion)
	seq := r.u32()
	noiseVar := r.f32(true)
	p.NoiseN = r.f32(true)
	p.NoiseSS = noiseVar * p.NoiseN
	p.Outcomes = float64(seq)
	mask := r.u8()
	nt := int(r.u8())
	if r.err == nil && (mask >= 1<<numComplexities || nt > MaxPopulationTaskTypes) {
		r.fail("invalid layout")
	}
	if r.err != nil {
		return nil, r.err
	}
	present := func(c *cell) {
		c.scale(pow(v1PopulationDiscount, seq-c.Seq))
		c.Seq = 0
	}
	r.cell(&p.Global, seq)
	present(&p.Global)
	for i := range p.Cx {
		if mask&(1<<i) != 0 {
			r.cell(&p.Cx[i], seq)
			present(&p.Cx[i])
		}
	}
	var keys [MaxPopulationTaskTypes][]byte
	for i := range nt {
		k := r.key()
		if r.err == nil && dupKey(keys[:i], k) {
			r.fail("duplicate task key")
		}
		keys[i] = k
		if only != nil && string(k) != *only {
			r.skip(cellBytes)
			continue
		}
		p.Tasks = append(p.Tasks, taskCell{Key: string(k)})
		c := &p.Tasks[len(p.Tasks)-1].cell
		r.cell(c, seq)
		present(c)
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail("%d trailing bytes", len(r.b))
	}
	if r.err != nil {
		return nil, r.err
	}
	return p, nil
}
