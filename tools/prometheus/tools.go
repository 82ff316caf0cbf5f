//go:build tools

// Package tools pins promtool (rule tests, rule lint, exposition checks) and the Prometheus server the alert
// integration test scrapes the controller with.
package tools

import (
	_ "github.com/prometheus/prometheus/cmd/prometheus"
	_ "github.com/prometheus/prometheus/cmd/promtool"
)
