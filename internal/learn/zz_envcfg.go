package learn

import (
	"os"
	"reflect"
	"strconv"
	"strings"
)

// temporary: AMP_LEARN_CFG overrides defaults for experiments.
func init() {
	v := os.Getenv("AMP_LEARN_CFG")
	if v == "" {
		return
	}
	for _, kv := range strings.Split(v, ",") {
		k, val, _ := strings.Cut(kv, "=")
		f, _ := strconv.ParseFloat(val, 64)
		envOverrides[k] = f
	}
}

var envOverrides = map[string]float64{}

func applyEnv(c *Config) {
	rv := reflect.ValueOf(c).Elem()
	for k, f := range envOverrides {
		rv.FieldByName(k).SetFloat(f)
	}
}
