// Package temporaltest starts the Temporal CLI's development server on
// loopback for tests: free ports, a SQLite database in a temp directory
// (WAL, so a SIGKILLed server restarts on it), one task-queue partition
// (with the default four, tasks sometimes wait ~2s on a partition no
// poller watches), the version check off (it would look up
// version-info.temporal.io), no UI. A test can kill the server and restart
// it on the same ports and database. The CLI is installed by `make tools`
// into .tools/.
package temporaltest
