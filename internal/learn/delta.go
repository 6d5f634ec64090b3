package learn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/amp-protocol/amp"
)

// populationDelta is what one outcome teaches the population: the evidence
// for the context's cells and, from a user the model knows well, a sample
// of the prediction error for the noise estimate.
type populationDelta struct {
	task       string // taskKey of the decision's task type; "" for none
	complexity int    // complexityIndex; -1 for none
	epoch      int32  // the outcome's epoch (see epochOf)
	ev         evidence
	noise      bool    // resid is a sample of the reward noise
	resid      float64 // reward minus the user's predicted reward
	// tauK samples (0 to 4, one per dimension) of how far the user's own
	// effects lie from the population's, summing to tauX (see
	// Engine.spreadSample).
	tauK, tauX float64
	// cov is the user's sample for the population's covariance of users'
	// effects (see Engine.covSampleOf), if any.
	cov covSample
}

// deltaVersion starts every encoded delta; decode refuses any other.
const deltaVersion = 3

// covSampleBytes is the size of an encoded covSample: d and v per option
// (float32).
const covSampleBytes = numOpts * 2 * 4

// encode lays d out as version, complexity+1, flags (1: noise sample, 2:
// covariance sample), the four arms, the epoch (int32), reward, success,
// known, resid, tauK, tauX (float64), with flag 2 the covariance sample
// (covSampleBytes), all little endian, then the task kind.
func (d *populationDelta) encode() []byte {
	b := make([]byte, 0, 8+4+6*8+covSampleBytes+len(d.task))
	b = append(b, deltaVersion, byte(d.complexity+1), 0)
	if d.noise {
		b[2] |= 1
	}
	if d.cov.ok {
		b[2] |= 2
	}
	for _, a := range d.ev.arms {
		b = append(b, byte(a))
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(d.epoch))
	for _, f := range []float64{d.ev.reward, d.ev.success, d.ev.known, d.resid, d.tauK, d.tauX} {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(f))
	}
	if d.cov.ok {
		for i := range numOpts {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(d.cov.d[i])))
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(d.cov.v[i])))
		}
	}
	return append(b, d.task...)
}

func (d *populationDelta) decode(b []byte) error {
	const fixed = 3 + numDims + 4 + 6*8
	// Version 2, written by the previous release, is version 3 without
	// the covariance sample: deltas pending at an upgrade still merge.
	if len(b) < fixed || b[0] != deltaVersion && b[0] != 2 {
		return errors.New("learn: not a population delta of this engine")
	}
	if b[1] > 3 || b[2] > 3 || b[0] == 2 && b[2] > 1 {
		return fmt.Errorf("learn: population delta with complexity %d, flags %d", b[1], b[2])
	}
	d.complexity = int(b[1]) - 1
	d.noise = b[2]&1 != 0
	for i := range numDims {
		a := int(b[3+i])
		if a >= numArms {
			return fmt.Errorf("learn: population delta with option %d", a)
		}
		d.ev.arms[i] = a
	}
	d.epoch = int32(binary.LittleEndian.Uint32(b[3+numDims:]))
	f := func(i int) float64 { return math.Float64frombits(binary.LittleEndian.Uint64(b[3+numDims+4+8*i:])) }
	d.ev.reward, d.ev.success, d.ev.known, d.resid, d.tauK, d.tauX = f(0), f(1), f(2), f(3), f(4), f(5)
	if d.tauK < 0 || d.tauK > numDims {
		return errors.New("learn: population delta with an invalid spread sample")
	}
	for _, v := range []float64{d.ev.reward, d.ev.success, d.ev.known, d.resid, d.tauX} {
		if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 10 {
			return errors.New("learn: population delta with an invalid number")
		}
	}
	rest := b[fixed:]
	d.cov = covSample{}
	if b[2]&2 != 0 {
		if len(rest) < covSampleBytes {
			return errors.New("learn: truncated population delta")
		}
		d.cov.ok = true
		g := func(o int) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(rest[o:]))) }
		for i := range numOpts {
			d.cov.d[i], d.cov.v[i] = g(8*i), g(4+8*i)
		}
		for i := range numOpts {
			if !(math.Abs(d.cov.d[i]) <= 10) || !(d.cov.v[i] >= 0 && d.cov.v[i] <= 10) {
				return errors.New("learn: population delta with an invalid covariance sample")
			}
		}
		rest = rest[covSampleBytes:]
	}
	d.task = string(rest)
	if len(d.task) > amp.MaxTaskTypeBytes {
		return errors.New("learn: population delta with an oversized task key")
	}
	return nil
}
