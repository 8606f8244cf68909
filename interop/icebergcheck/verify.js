#!/usr/bin/env node
// An Apache Iceberg reader that shares no code with the writer (iceberg-go):
// it parses the table metadata JSON itself and decodes the manifest list and
// the manifests (Avro object container files) with the npm package avsc.
//
//   NODE_PATH=<dir holding avsc> node verify.js <metadata.json>
//
// prints one JSON document: the current snapshot, every snapshot (id,
// parent, operation, sluice run id), and the live data files of the current
// snapshot (entries ADDED or EXISTING in its manifests, DELETED ones
// skipped) with their partition tuple, record count and the snapshot that
// added them, and the records per partition.
'use strict';
const fs = require('fs');
const zlib = require('zlib');
const avro = require('avsc');

// Snapshot ids are random 63-bit integers: avsc's default long throws past
// 2^53, so every long is decoded as a BigInt.
const BigLong = avro.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; },
  fromJSON: (x) => BigInt(x),
  toJSON: (n) => n.toString(),
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
});

// JSON.parse would round the same ids in the metadata: quote bare integers
// of 16 digits or more first.
function parseJSONBig(text) {
  return JSON.parse(text.replace(/([:\[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}

// Locations are file:// URIs (percent-encoded) or plain paths.
function localPath(loc) {
  if (loc.startsWith('file://')) return decodeURIComponent(loc.slice('file://'.length));
  if (/^[a-z0-9]+:\/\//i.test(loc)) throw new Error('not a local location: ' + loc);
  return loc;
}

// An Avro object container file, read block by block so that the records
// are decoded with the BigInt long (avsc's file decoder builds its type
// without options).
const MAGIC = Buffer.from('Obj\x01', 'binary');
const HEADER = avro.Type.forSchema({
  type: 'record', name: 'org.apache.avro.file.Header',
  fields: [
    { name: 'magic', type: { type: 'fixed', name: 'Magic', size: 4 } },
    { name: 'meta', type: { type: 'map', values: 'bytes' } },
    { name: 'sync', type: { type: 'fixed', name: 'Sync', size: 16 } },
  ],
});
const LONG = avro.Type.forSchema('long');

function readAvro(path) {
  const buf = fs.readFileSync(path);
  if (!buf.subarray(0, 4).equals(MAGIC)) throw new Error(path + ': not an Avro container file');
  const { value: header, offset: start } = HEADER.decode(buf, 0);
  const codec = header.meta['avro.codec'] ? header.meta['avro.codec'].toString() : 'null';
  const type = avro.Type.forSchema(JSON.parse(header.meta['avro.schema'].toString()), { registry: { long: BigLong }, wrapUnions: false });
  const records = [];
  let pos = start;
  while (pos < buf.length) {
    const cnt = LONG.decode(buf, pos); pos = cnt.offset;
    const size = LONG.decode(buf, pos); pos = size.offset;
    let block = buf.subarray(pos, pos + size.value); pos += size.value;
    if (!buf.subarray(pos, pos + 16).equals(header.sync)) throw new Error(path + ': bad sync marker');
    pos += 16;
    if (codec === 'deflate') block = zlib.inflateRawSync(block);
    else if (codec !== 'null') throw new Error(path + ': unsupported codec ' + codec);
    let off = 0;
    for (let i = 0; i < cnt.value; i++) {
      const r = type.decode(block, off);
      if (r.offset < 0) throw new Error(path + ': truncated block');
      records.push(r.value); off = r.offset;
    }
  }
  return records;
}

function plain(v) {
  if (typeof v === 'bigint') return v.toString();
  if (Buffer.isBuffer(v)) return v.toString('hex');
  return v;
}

function main() {
  const metaPath = process.argv[2];
  if (!metaPath) { console.error('usage: verify.js <metadata.json>'); process.exit(2); }
  const md = parseJSONBig(fs.readFileSync(localPath(metaPath), 'utf8'));
  const cur = md['current-snapshot-id'];
  const out = {
    format_version: md['format-version'], location: md.location,
    current_snapshot_id: cur == null || String(cur) === '-1' ? null : String(cur),
    snapshots: [], files: [], partitions: {}, total_records: 0,
  };
  for (const s of md.snapshots || []) {
    const sum = s.summary || {};
    out.snapshots.push({
      id: String(s['snapshot-id']), parent: s['parent-snapshot-id'] == null ? null : String(s['parent-snapshot-id']),
      sequence: Number(s['sequence-number'] || 0), operation: sum.operation || null, run_id: sum['sluice.run-id'] || null,
    });
  }
  const snap = (md.snapshots || []).find((s) => String(s['snapshot-id']) === out.current_snapshot_id);
  if (out.current_snapshot_id && !snap) throw new Error('current snapshot ' + out.current_snapshot_id + ' is not listed');
  if (snap) {
    const manifests = snap['manifest-list']
      ? readAvro(localPath(snap['manifest-list']))
      : snap.manifests.map((p) => ({ manifest_path: p, content: 0 }));
    for (const m of manifests) {
      const content = m.content === undefined ? 0 : m.content;
      for (const e of readAvro(localPath(m.manifest_path))) {
        if (e.status === 2) continue; // DELETED
        const df = e.data_file;
        if (content !== 0 || (df.content || 0) !== 0) throw new Error('delete file ' + df.file_path + ': not handled by this reader');
        const part = {};
        for (const [k, v] of Object.entries(df.partition || {})) part[k] = plain(v);
        const rec = Number(df.record_count);
        out.files.push({
          path: df.file_path, local_path: localPath(df.file_path), partition: part, record_count: rec,
          file_size: Number(df.file_size_in_bytes), status: e.status === 1 ? 'ADDED' : 'EXISTING',
          snapshot_id: e.snapshot_id == null ? null : e.snapshot_id.toString(),
        });
        const key = JSON.stringify(part);
        out.partitions[key] = (out.partitions[key] || 0) + rec;
        out.total_records += rec;
      }
    }
  }
  process.stdout.write(JSON.stringify(out, null, 2) + '\n');
}

main();
