#!/usr/bin/env bash
# make demo: generate a local sample lake, then validate -> plan -> apply -> plan again,
# draining the bounded backlogs run by run, and say where the output is.
set -euo pipefail
cd "$(dirname "$0")/.."
SLUICE=${1:-bin/sluice}
LAKE=demo-lake
# A blank line before each step but the first.
first=1
step() {
  [ $first -eq 1 ] || echo
  first=0
  printf '\033[1m== %s\033[0m\n' "$*"
}

step "Generating a sample lake in $LAKE/ (deterministic)"
rm -rf "$LAKE"
go run ./internal/lakegen/cmd/lakegen demo "$LAKE"

step "sluice fmt -check pipelines schemas && sluice validate pipelines"
"$SLUICE" fmt -check pipelines schemas
"$SLUICE" validate pipelines

step "sluice plan -pipeline metrics_compacted -pipeline orders_table pipelines   (two of the four pipelines' first run)"
"$SLUICE" plan -pipeline metrics_compacted -pipeline orders_table pipelines

# Each apply plans again (one line per pipeline with -auto-approve) and
# commits; bounded pipelines take several runs to drain their backlog.
run=1
while :; do
  step "sluice apply -auto-approve pipelines   (run $run)"
  "$SLUICE" apply -auto-approve pipelines
  set +e
  "$SLUICE" plan -detailed-exitcode pipelines >/tmp/sluice-demo-plan.txt 2>&1
  rc=$?
  set -e
  if [ $rc -eq 0 ]; then
    step "sluice plan pipelines   (after run $run: nothing left to do)"
    cat /tmp/sluice-demo-plan.txt
    break
  elif [ $rc -ne 2 ]; then
    cat /tmp/sluice-demo-plan.txt; exit $rc
  fi
  run=$((run + 1))
  [ $run -le 10 ] || { echo "backlog did not drain in 10 runs"; exit 1; }
done

step "Done"
echo "Outputs: $(for d in "$LAKE"/curated/*/; do printf '%s (%d Parquet files)  ' "$d" "$(find "$d" -name '*.parquet' | wc -l)"; done)"
echo "Manifests: <sink>/_sluice/commits/; bookmarks: $LAKE/state/; bad lines: $LAKE/curated/orders/_sluice/bad/. Query with any Parquet reader, e.g. DuckDB: SELECT dt, count(*) FROM read_parquet('$LAKE/curated/orders/**/*.parquet', hive_partitioning=true) GROUP BY dt ORDER BY dt;"

step "sluice table show   (the Iceberg table: one snapshot per run, each carrying its run id)"
"$SLUICE" table show -chdir pipelines
meta=$("$SLUICE" table show -chdir pipelines -json orders_table | sed -n 's/.*"metadata_location": "file:\/\/\(.*\)".*/\1/p')
echo "Engines read it through its catalog ($LAKE/catalog.db) or its metadata file, e.g. DuckDB: SELECT dt, count(*) FROM iceberg_scan('$meta') GROUP BY dt ORDER BY dt;"
