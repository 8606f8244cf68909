#!/usr/bin/env bash
# Peak RSS of `sluice plan` over 10,000 and 1,000,000 keys, bounded to 1,000 files and
# unbounded (saving the plan, so a million inputs are pinned in it), on a local directory
# and on the loopback S3 gateway. Not part of make test or the default make bench.
#
# The key sets are the ones `make bench BENCHFLAGS='-large -only 6'` generates (hive layout,
# 1,000 keys per dt= prefix). The gateway (posix backend) serves them from hard links, so the
# million objects are not uploaded one by one.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
SLUICE=${SLUICE:-$ROOT/bin/sluice}
GW=${SLUICE_VERSITYGW:-$ROOT/.tools/versitygw}
K10K=$ROOT/.tools/cache/bench/keys-10000
K1M=$ROOT/.tools/cache/bench/large/keys-1000000
for d in "$K10K" "$K1M"; do
  [ -d "$d" ] || { echo "missing $d: run make bench BENCHFLAGS='-large -only 6' first"; exit 1; }
done
WORK=$(mktemp -d)
trap 'kill $GWPID 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/data"
cp -al "$K10K" "$WORK/data/k10k"
cp -al "$K1M" "$WORK/data/k1m"
PORT=$((20000 + RANDOM % 20000))
"$GW" --access sluicebench --secret sluicebenchsecret --port 127.0.0.1:$PORT posix "$WORK/data" >"$WORK/gw.log" 2>&1 &
GWPID=$!
sleep 3
export AWS_EC2_METADATA_DISABLED=true AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=sluicebench \
  AWS_SECRET_ACCESS_KEY=sluicebenchsecret AWS_ENDPOINT_URL_S3=http://127.0.0.1:$PORT
for src in s3://k10k/ s3://k1m/ "$K10K/" "$K1M/"; do
  for bound in bounded unbounded; do
    rm -rf "$WORK/cfg" "$WORK/state"; mkdir -p "$WORK/cfg"
    b=""; [ $bound = bounded ] && b='bounded {
      files = 1000
    }'
    cat >"$WORK/cfg/p.hcl" <<HCL
state {
  url = "$WORK/state"
}
pipeline "p" {
  source "s" {
    url        = "$src"
    format     = "json"
    partitions = ["dt"]
    column "id" {
      type = "int64"
    }
    $b
  }
  sink "k" {
    url = "$WORK/out"
  }
}
HCL
    /usr/bin/time -f "%M %e" -o "$WORK/time" "$SLUICE" plan -out "$WORK/plan.bin" "$WORK/cfg" >"$WORK/plan.txt"
    read -r rss wall <"$WORK/time"
    printf '%-12s %-9s peak RSS %6.1f MiB  %6.2f s  plan file %9d bytes  %s\n' \
      "$(basename "$src")" "$bound" "$(echo "$rss/1024" | bc -l)" "$wall" "$(stat -c %s "$WORK/plan.bin")" \
      "$(grep -o 'This run: [0-9]* files' "$WORK/plan.txt")"
  done
done
