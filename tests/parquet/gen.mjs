// Writes one small verl-shaped data set as JSONL (rows.jsonl) and as Parquet
// files from two independent writers, DuckDB (@duckdb/node-api) and
// hyparquet-writer, with several codecs and encodings; files.txt lists the
// Parquet files. tests/test_parquet.c reads each back and compares it with
// the JSONL. Usage: NPM_ROOT=build/npm/node_modules node tests/parquet/gen.mjs OUTDIR
// (PARQUET_ROWS=N: N rows, default 37). The committed 6-row files,
// tests/fuzz/corpus/parquet/*.parquet (the fuzz seeds) with
// tests/parquet/rows6.jsonl and map6.jsonl, are this script's output with
// PARQUET_ROWS=6 (rows.jsonl and map.jsonl renamed).
import { createRequire } from "node:module";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import zlib from "node:zlib";

const root = resolve(process.env.NPM_ROOT ?? "build/npm/node_modules");
const require = createRequire(root + "/");
const out = resolve(process.argv[2] ?? ".");

// verl's RL layout (data_source, prompt as chat turns, ability, reward_model,
// extra_info) plus flat columns of each value kind, with nulls.
const N = Number(process.env.PARQUET_ROWS ?? 37);
const rows = [];
for (let i = 0; i < N; i++) {
  const a = i * 7 + 3, b = (i * 13) % 11;
  const question = `Q${i}: what is ${a} + ${b}? Think step by step — café ${"é".repeat(i % 3)}😀`;
  const prompt = [];
  if (i % 4 === 0) prompt.push({ role: "system", content: "Answer after ####." });
  prompt.push({ role: "user", content: question });
  rows.push({
    data_source: i % 3 ? "lighteval/MATH" : "openai/gsm8k",
    prompt,
    ability: "math",
    reward_model: { ground_truth: String(a + b), style: "rule" },
    extra_info: { split: i % 5 ? "train" : "test", index: i, note: i % 6 ? `n${i}` : null },
    question,
    answer: `${a} + ${b} = ${a + b}\n#### ${a + b}`,
    score: i % 7 ? i + 0.25 : null,
    count: i * 1000 - 5,
    flag: i % 2 === 0,
    comment: i % 3 === 1 ? null : `c${i % 4}`, // repeats: dictionary-friendly
  });
}
writeFileSync(join(out, "rows.jsonl"), rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
const files = [];

// ---- hyparquet-writer: data page v2; explicit schema for the nested columns ----
const hw = await import(pathToFileURL(require.resolve("hyparquet-writer")).href);
const col = (name) => rows.map((r) => r[name]);
const S = (name, o) => ({ name, repetition_type: "OPTIONAL", ...o });
const STR = { type: "BYTE_ARRAY", converted_type: "UTF8" };
const schema = [
  { name: "root", num_children: 11 },
  S("data_source", STR),
  S("prompt", { num_children: 1, converted_type: "LIST" }),
  { name: "list", repetition_type: "REPEATED", num_children: 1 },
  S("element", { num_children: 2 }),
  S("role", STR),
  S("content", STR),
  S("ability", { ...STR, repetition_type: "REQUIRED" }),
  S("reward_model", { num_children: 2 }),
  S("ground_truth", STR),
  S("style", STR),
  S("extra_info", { num_children: 3 }),
  S("split", STR),
  S("index", { type: "INT64" }),
  S("note", STR),
  S("question", STR),
  S("answer", STR),
  S("score", { type: "DOUBLE" }),
  S("count", { type: "INT32", repetition_type: "REQUIRED" }), // no levels at all
  S("flag", { type: "BOOLEAN", repetition_type: "REQUIRED" }),
  S("comment", STR),
];
const names = ["data_source", "prompt", "ability", "reward_model", "extra_info", "question",
  "answer", "score", "count", "flag", "comment"];
const hwData = (name) => name === "extra_info"
  ? rows.map((r) => ({ ...r.extra_info, index: BigInt(r.extra_info.index) }))
  : col(name);
const hyparquet = [
  // name, codec, per-column encoding (undefined: dictionary when it pays), row group size
  ["hyp_snappy_dict", "SNAPPY", undefined, 1000],
  ["hyp_none_plain", "UNCOMPRESSED", "PLAIN", 1000],
  ["hyp_gzip_dict", "GZIP", undefined, 10],
  ["hyp_gzip_plain", "GZIP", "PLAIN", 16],
  ["hyp_snappy_plain_rle", "SNAPPY", "PLAIN", 1000],
  ["hyp_none_delta", "UNCOMPRESSED", "DELTA", 1000],
];
// "DELTA": each flat column in the delta or byte-stream-split encoding of its type
const delta = { data_source: "DELTA_BYTE_ARRAY", question: "DELTA_LENGTH_BYTE_ARRAY",
  answer: "DELTA_BYTE_ARRAY", comment: "DELTA_LENGTH_BYTE_ARRAY", score: "BYTE_STREAM_SPLIT",
  count: "DELTA_BINARY_PACKED", ability: "DELTA_BYTE_ARRAY", flag: "RLE" };
for (const [name, codec, enc, rg] of hyparquet) {
  const columnData = names.map((n) => {
    const c = { name: n, data: hwData(n) };
    if (enc === "DELTA") c.encoding = delta[n];
    else if (enc && !["prompt", "reward_model", "extra_info"].includes(n)) c.encoding = enc;
    if (name.endsWith("_rle") && n === "flag") c.encoding = "RLE";
    return c;
  });
  hw.parquetWriteFile({
    filename: join(out, name + ".parquet"),
    columnData,
    schema,
    codec,
    compressors: { GZIP: (buf) => new Uint8Array(zlib.gzipSync(buf)) },
    rowGroupSize: rg,
    pageSize: 256, // several pages per column chunk
  });
  files.push(name + ".parquet");
}

// ---- DuckDB: data page v1 by default, v2 on request; reads the JSONL itself ----
const duckdb = await import(pathToFileURL(require.resolve("@duckdb/node-api")).href);
const inst = await duckdb.DuckDBInstance.create(":memory:");
const con = await inst.connect();
const src = join(out, "rows.jsonl").replaceAll("'", "''");
await con.run(`CREATE TABLE t AS SELECT * FROM read_json('${src}', format='newline_delimited',
  columns={data_source: 'VARCHAR', prompt: 'STRUCT(role VARCHAR, content VARCHAR)[]',
  ability: 'VARCHAR', reward_model: 'STRUCT(ground_truth VARCHAR, style VARCHAR)',
  extra_info: 'STRUCT(split VARCHAR, "index" BIGINT, note VARCHAR)', question: 'VARCHAR',
  answer: 'VARCHAR', score: 'DOUBLE', count: 'INTEGER', flag: 'BOOLEAN', comment: 'VARCHAR'})`);
const duck = [
  ["duck_none", "uncompressed", ""],
  ["duck_snappy", "snappy", ""],
  ["duck_gzip", "gzip", ", ROW_GROUP_SIZE 8"],
  ["duck_zstd", "zstd", ""],
  ["duck_zstd_v2", "zstd", ", PARQUET_VERSION V2"],
  ["duck_snappy_nodict", "snappy", ", DICTIONARY_SIZE_LIMIT 1"],
];
for (const [name, codec, extra] of duck) {
  const dst = join(out, name + ".parquet").replaceAll("'", "''");
  await con.run(`COPY (SELECT * FROM t) TO '${dst}' (FORMAT parquet, COMPRESSION ${codec}${extra})`);
  files.push(name + ".parquet");
}
// Codecs rlc refuses (by name): not in files.txt.
for (const codec of ["lz4", "brotli"]) {
  const dst = join(out, `duck_${codec}.parquet`).replaceAll("'", "''");
  await con.run(`COPY (SELECT question, answer FROM t) TO '${dst}' (FORMAT parquet, COMPRESSION ${codec})`);
}
// A MAP column (DuckDB writes MAP; the JSONL holds it as an object).
const mapRows = rows.map((r, i) => ({ question: r.question, answer: r.answer,
  tags: { kind: r.ability, src: r.data_source, ...(i % 2 ? {} : { even: "yes" }) } }));
writeFileSync(join(out, "map.jsonl"), mapRows.map((r) => JSON.stringify(r)).join("\n") + "\n");
const msrc = join(out, "map.jsonl").replaceAll("'", "''");
await con.run(`COPY (SELECT question, answer, CAST(tags AS MAP(VARCHAR, VARCHAR)) AS tags FROM
  read_json('${msrc}', format='newline_delimited', columns={question: 'VARCHAR', answer: 'VARCHAR',
  tags: 'MAP(VARCHAR, VARCHAR)'})) TO '${join(out, "duck_map.parquet").replaceAll("'", "''")}'
  (FORMAT parquet)`);
writeFileSync(join(out, "files.txt"), files.join("\n") + "\n");

// What each file holds, as DuckDB's parquet_metadata() reads it: one line per
// file, its codecs and value encodings, so the test can check the coverage.
const meta = [];
for (const f of files) {
  const p = join(out, f).replaceAll("'", "''");
  const r = await con.runAndReadAll(`SELECT list(DISTINCT compression), flatten(list(DISTINCT
    string_split(encodings, ', '))) FROM parquet_metadata('${p}')`);
  const [codecs, encs] = r.getRows()[0];
  meta.push(`${f} ${[...codecs.items].sort().join(",")} ${[...new Set(encs.items)].sort().join(",")}`);
}
writeFileSync(join(out, "meta.txt"), meta.join("\n") + "\n");
