// Package sim simulates users of an AMP integration and scores policies on
// them.
package sim
