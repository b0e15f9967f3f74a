"""Writing one object's rows to its landing file, block by block (CSV or Parquet)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from revops.crm_contract import CrmObject
from revops_demo.arrays import api_name

_ARROW_TYPES = {
    "VARCHAR": pa.string(),
    "BOOLEAN": pa.bool_(),
    "BIGINT": pa.int64(),
    "DOUBLE": pa.float64(),
    "DATE": pa.date32(),
    "TIMESTAMP": pa.timestamp("us"),
}
_CSV_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


class _ObjectWriter:
    """Appends blocks of one object's rows to its file (written under a temporary name)."""

    def __init__(self, obj: CrmObject, out_dir: Path, file_format: str, camel_case: bool):
        self.obj = obj
        self.file_format = file_format
        self.path = out_dir / f"{obj.name}.{file_format}"
        self.tmp_path = out_dir / f".{obj.name}.{file_format}.partial"
        self.headers = [api_name(c) if camel_case else c for c in obj.required_columns]
        self.rows = 0
        if file_format == "parquet":
            self.schema = pa.schema(
                [
                    pa.field(h, _ARROW_TYPES[t])
                    for h, t in zip(self.headers, obj.columns.values(), strict=True)
                ]
            )
            self._writer = pq.ParquetWriter(self.tmp_path, self.schema, compression="snappy")
        else:
            self.schema = pa.schema(
                [
                    pa.field(h, pa.string() if t == "TIMESTAMP" else _ARROW_TYPES[t])
                    for h, t in zip(self.headers, obj.columns.values(), strict=True)
                ]
            )
            self._file = open(self.tmp_path, "wb")  # noqa: SIM115 - closed in close()
            self._file.write((",".join(self.headers) + "\n").encode())
            self._writer = pacsv.CSVWriter(
                self._file,
                self.schema,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )

    def write(self, columns: dict[str, pa.Array]) -> None:
        arrays = []
        for name, type_name in self.obj.columns.items():
            array = columns[name]
            if type_name == "TIMESTAMP":
                array = (
                    pc.cast(array, pa.timestamp("us"))
                    if self.file_format == "parquet"
                    else pc.strftime(array, format=_CSV_TIMESTAMP_FORMAT)
                )
            elif array.type != _ARROW_TYPES[type_name]:
                array = pc.cast(array, _ARROW_TYPES[type_name])
            arrays.append(array)
        table = pa.Table.from_arrays(arrays, schema=self.schema)
        self._writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        self._writer.close()
        if self.file_format == "csv":
            self._file.close()

    def publish(self) -> None:
        os.replace(self.tmp_path, self.path)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
        self.tmp_path.unlink(missing_ok=True)
