"""Writes small parquet files shaped like the Hugging Face datasets ptq reads by name (columns and
dtypes as on the hub), from the bundled real text, with pyarrow, so ptq's parquet path is proven
against an independent writer.

    python3 tooling/reference/make_parquet_fixtures.py <cnn jsonl> <wiki.test.raw> <out folder>
"""

import json
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

articles = [json.loads(line) for line in Path(sys.argv[1]).read_text(encoding="utf-8").splitlines()[:12]]
out = Path(sys.argv[3])
out.mkdir(parents=True, exist_ok=True)
cnn = pa.table({"article": [a["article"] for a in articles], "highlights": [a["highlights"] for a in articles], "id": [a["id"] for a in articles]})
pq.write_table(cnn, out / "cnn_dailymail-3.0.0-train-sample.parquet", compression="snappy", row_group_size=5)
lines = Path(sys.argv[2]).read_text(encoding="utf-8").split("\n")[:60]
wiki = pa.table({"text": [line + "\n" if line.strip() else "" for line in lines]})
pq.write_table(wiki, out / "wikitext-2-raw-v1-test-sample.parquet", compression="zstd")
print("wrote parquet fixtures", cnn.num_rows, wiki.num_rows)
