// Package promexport turns the outcome of an apply into Prometheus
// metrics, written in the node exporter's textfile format (apply
// -metrics-file) or pushed to a Pushgateway (apply -metrics-push), so that
// a scheduled sluice can be alerted on: a failed run, a backlog growing
// old, a run that stopped happening. It only formats and ships what
// package apply measured.
package promexport
