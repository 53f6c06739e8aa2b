//! The sinks: tables built column by column against the declared schema, written as Parquet
//! (arrow + parquet, zstd) and as a CSV mirror, into a staging folder that is then swapped into
//! place so readers never see a half-written table.
//!
//! Rows go straight into per-column Arrow builders (a row is a slice of borrowed cells, so
//! pushing one copies its text once and allocates nothing of its own). A full row group is
//! encoded on the thread pool while the caller fills the next one.
//!
//! Also home of `CharIndex`, the one place byte offsets become code-point offsets.

use std::fmt::Write as _;
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{mpsc, Arc};

use arrow_array::builder::{
    BooleanBuilder, Float32Builder, Int64Builder, ListBuilder, StringBuilder, TimestampMicrosecondBuilder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type, TimestampMicrosecondType};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use crate::error::Error;
use crate::schema::{ColType, TableDef};

/// Converts byte offsets of one text into Unicode code-point offsets.
pub struct CharIndex {
    /// Byte offset of every char start, or None when the text is ASCII (identity map).
    starts: Option<Vec<u32>>,
    len_bytes: usize,
}

impl CharIndex {
    /// Indexes `text`.
    pub fn new(text: &str) -> CharIndex {
        let starts = if text.is_ascii() {
            None
        } else {
            Some(text.char_indices().map(|(i, _)| i as u32).collect())
        };
        CharIndex { starts, len_bytes: text.len() }
    }

    /// Code-point offset of byte offset `b` (a char boundary, or the text's end).
    pub fn char_of(&self, b: usize) -> usize {
        match &self.starts {
            None => b,
            Some(s) => {
                if b >= self.len_bytes {
                    return s.len();
                }
                match s.binary_search(&(b as u32)) {
                    Ok(i) => i,
                    // Not on a boundary: round down to the char that holds it.
                    Err(i) => i.saturating_sub(1),
                }
            }
        }
    }
}

/// One cell of a row handed to a `TableBuilder`, borrowed from the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    /// Null.
    Null,
    /// Text.
    Str(&'a str),
    /// Integer (also timestamps, in microseconds).
    I64(i64),
    /// Float.
    F32(f32),
    /// Boolean.
    Bool(bool),
    /// List of strings.
    List(&'a [String]),
}

impl<'a> From<&'a str> for Cell<'a> {
    fn from(s: &'a str) -> Cell<'a> {
        Cell::Str(s)
    }
}
impl<'a> From<&'a String> for Cell<'a> {
    fn from(s: &'a String) -> Cell<'a> {
        Cell::Str(s)
    }
}
impl From<i64> for Cell<'_> {
    fn from(v: i64) -> Self {
        Cell::I64(v)
    }
}
impl From<usize> for Cell<'_> {
    fn from(v: usize) -> Self {
        Cell::I64(v as i64)
    }
}
impl From<u64> for Cell<'_> {
    fn from(v: u64) -> Self {
        Cell::I64(v as i64)
    }
}
impl From<f32> for Cell<'_> {
    fn from(v: f32) -> Self {
        Cell::F32(v)
    }
}
impl From<bool> for Cell<'_> {
    fn from(v: bool) -> Self {
        Cell::Bool(v)
    }
}
impl<'a> From<&'a [String]> for Cell<'a> {
    fn from(v: &'a [String]) -> Cell<'a> {
        Cell::List(v)
    }
}
impl<'a> From<&'a Vec<String>> for Cell<'a> {
    fn from(v: &'a Vec<String>) -> Cell<'a> {
        Cell::List(v)
    }
}
impl<'a, T: Into<Cell<'a>>> From<Option<T>> for Cell<'a> {
    fn from(v: Option<T>) -> Cell<'a> {
        v.map_or(Cell::Null, Into::into)
    }
}

/// One column being filled.
enum Column {
    Str(StringBuilder),
    I64(Int64Builder),
    Timestamp(TimestampMicrosecondBuilder),
    F32(Float32Builder),
    Bool(BooleanBuilder),
    StrList(ListBuilder<StringBuilder>),
}

impl Column {
    fn new(ty: ColType) -> Column {
        match ty {
            ColType::Str => Column::Str(StringBuilder::new()),
            ColType::I64 => Column::I64(Int64Builder::new()),
            ColType::Timestamp => Column::Timestamp(TimestampMicrosecondBuilder::new()),
            ColType::F32 => Column::F32(Float32Builder::new()),
            ColType::Bool => Column::Bool(BooleanBuilder::new()),
            ColType::StrList => Column::StrList(ListBuilder::new(StringBuilder::new())),
        }
    }

    /// Appends a cell already checked against the column's type.
    fn append(&mut self, v: Cell) {
        match (self, v) {
            (Column::Str(b), Cell::Str(s)) => b.append_value(s),
            (Column::Str(b), _) => b.append_null(),
            (Column::I64(b), Cell::I64(x)) => b.append_value(x),
            (Column::I64(b), _) => b.append_null(),
            (Column::Timestamp(b), Cell::I64(x)) => b.append_value(x),
            (Column::Timestamp(b), _) => b.append_null(),
            (Column::F32(b), Cell::F32(x)) => b.append_value(x),
            (Column::F32(b), _) => b.append_null(),
            (Column::Bool(b), Cell::Bool(x)) => b.append_value(x),
            (Column::Bool(b), _) => b.append_null(),
            (Column::StrList(b), Cell::List(items)) => {
                for s in items {
                    b.values().append_value(s);
                }
                b.append(true);
            }
            (Column::StrList(b), _) => b.append(false),
        }
    }

    /// The column's values so far as an Arrow array; the builder starts empty again, with
    /// room for as many values (and as many bytes of text) as this batch had. Grown from
    /// nothing by doubling, each batch's buffers (tens of megabytes for article texts) would
    /// be copied at every step and touch twice their size in fresh pages.
    fn finish(&mut self) -> ArrayRef {
        match self {
            Column::Str(b) => {
                let a = b.finish();
                *b = StringBuilder::with_capacity(a.len(), a.value_data().len());
                Arc::new(a)
            }
            Column::I64(b) => {
                let a = b.finish();
                *b = Int64Builder::with_capacity(a.len());
                Arc::new(a)
            }
            Column::Timestamp(b) => {
                let a = b.finish();
                *b = TimestampMicrosecondBuilder::with_capacity(a.len());
                Arc::new(a.with_timezone("UTC"))
            }
            Column::F32(b) => {
                let a = b.finish();
                *b = Float32Builder::with_capacity(a.len());
                Arc::new(a)
            }
            Column::Bool(b) => {
                let a = b.finish();
                *b = BooleanBuilder::with_capacity(a.len());
                Arc::new(a)
            }
            Column::StrList(b) => {
                let a = b.finish();
                let items = a.values().as_string::<i32>();
                *b = ListBuilder::with_capacity(StringBuilder::with_capacity(items.len(), items.value_data().len()), a.len());
                Arc::new(a)
            }
        }
    }
}

/// A table being filled row by row, column by column; each row is checked against the
/// declared schema before any of it is appended.
pub struct TableBuilder {
    def: &'static TableDef,
    /// The declared schema in Arrow form, made once for every batch.
    schema: SchemaRef,
    columns: Vec<Column>,
    rows: usize,
    /// Bytes of text in the rows so far.
    text_bytes: usize,
}

impl TableBuilder {
    /// An empty table of the given kind.
    pub fn new(def: &'static TableDef) -> TableBuilder {
        TableBuilder {
            def,
            schema: Arc::new(def.arrow_schema()),
            columns: def.columns.iter().map(|c| Column::new(c.ty)).collect(),
            rows: 0,
            text_bytes: 0,
        }
    }

    /// The table's declaration.
    pub fn def(&self) -> &'static TableDef {
        self.def
    }

    /// Adds a row; the cells follow the declared column order.
    pub fn push(&mut self, row: &[Cell]) -> Result<(), Error> {
        let def = self.def;
        if row.len() != def.columns.len() {
            return Err(Error::Schema(format!(
                "{}: row has {} values, the table has {} columns",
                def.name,
                row.len(),
                def.columns.len()
            )));
        }
        for (v, c) in row.iter().zip(def.columns) {
            let ok = match (v, c.ty) {
                (Cell::Null, _) => c.nullable,
                (Cell::Str(_), ColType::Str)
                | (Cell::I64(_), ColType::I64 | ColType::Timestamp)
                | (Cell::F32(_), ColType::F32)
                | (Cell::Bool(_), ColType::Bool)
                | (Cell::List(_), ColType::StrList) => true,
                _ => false,
            };
            if !ok {
                return Err(Error::Schema(format!("{}.{}: value {v:?} does not fit {:?}", def.name, c.name, c.ty)));
            }
        }
        for (col, v) in self.columns.iter_mut().zip(row) {
            self.text_bytes += match v {
                Cell::Str(s) => s.len(),
                Cell::List(items) => items.iter().map(String::len).sum(),
                _ => 0,
            };
            col.append(*v);
        }
        self.rows += 1;
        Ok(())
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows
    }

    /// True when no row was added.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// True once the rows so far make a full row group: [`ROW_GROUP`] rows, or
    /// [`ROW_GROUP_TEXT`] bytes of text.
    fn is_full(&self) -> bool {
        self.rows >= ROW_GROUP || self.text_bytes >= ROW_GROUP_TEXT
    }

    /// The rows so far as one Arrow record batch; the builder starts empty again.
    pub fn finish_batch(&mut self) -> Result<RecordBatch, Error> {
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(Column::finish).collect();
        self.rows = 0;
        self.text_bytes = 0;
        RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| Error::Schema(format!("{}: {e}", self.def.name)))
    }
}

/// Which files a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Parquet only.
    Parquet,
    /// CSV only.
    Csv,
    /// Parquet and the CSV mirror.
    Both,
}

impl Format {
    fn parquet(self) -> bool {
        matches!(self, Format::Parquet | Format::Both)
    }
    fn csv(self) -> bool {
        matches!(self, Format::Csv | Format::Both)
    }
}

/// Rows per Parquet row group, and per batch the streaming writer encodes at a time.
const ROW_GROUP: usize = 16_384;

/// Bytes of text after which a row group is full before [`ROW_GROUP`] rows: about five
/// thousand reports of the `documents` table. Each row group is encoded on one thread, and the
/// last one of a table is encoded after every row is in, so a row group of 16,384 whole
/// articles (tens of megabytes) would keep the run waiting on one core at its end.
const ROW_GROUP_TEXT: usize = 8 << 20;

/// Columns of long free text whose values are all but unique: no dictionary (it would be
/// tried and dropped in every row group) and no min/max statistics (every page would compare
/// whole articles, and the footer would carry two whole articles per row group, for a filter
/// no reader makes). Quote texts are not among them: copies of a report repeat its quotes, and
/// the dictionary makes that table smaller.
const LONG_TEXT: &[(&str, &str)] = &[("documents", "text"), ("quote_clusters", "text")];

fn parquet_props(table: &str) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).expect("valid zstd level")))
        .set_created_by(format!("newsmill {}", env!("CARGO_PKG_VERSION")))
        .set_max_row_group_size(ROW_GROUP);
    for &(_, column) in LONG_TEXT.iter().filter(|(t, _)| *t == table) {
        let path = ColumnPath::from(column);
        b = b.set_column_dictionary_enabled(path.clone(), false).set_column_statistics_enabled(path, EnabledStatistics::None);
    }
    b.build()
}

/// Something that takes a table's record batches in order: one file of one format.
trait Encode: Send + Sized + 'static {
    fn encode(&mut self, batch: &RecordBatch) -> Result<(), Error>;
    /// Completes the file once its last batch is encoded.
    fn close(self) -> Result<(), Error>;
}

struct ParquetFile {
    path: PathBuf,
    w: ArrowWriter<BufWriter<File>>,
}

impl Encode for ParquetFile {
    fn encode(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let err = |e: parquet::errors::ParquetError| Error::Write { path: self.path.clone(), detail: e.to_string() };
        self.w.write(batch).map_err(err)?;
        self.w.flush().map_err(err)
    }

    fn close(self) -> Result<(), Error> {
        self.w.close().map(drop).map_err(|e| Error::Write { path: self.path.clone(), detail: e.to_string() })
    }
}

struct CsvFile {
    path: PathBuf,
    w: csv::Writer<BufWriter<File>>,
    def: &'static TableDef,
    /// Scratch text for one cell.
    cell: String,
}

impl Encode for CsvFile {
    fn encode(&mut self, batch: &RecordBatch) -> Result<(), Error> {
        let err = |e: csv::Error| Error::Write { path: self.path.clone(), detail: e.to_string() };
        for row in 0..batch.num_rows() {
            for (c, col) in self.def.columns.iter().zip(batch.columns()) {
                csv_cell(col.as_ref(), row, c.ty, &mut self.cell);
                self.w.write_field(&self.cell).map_err(err)?;
            }
            self.w.write_record(None::<&[u8]>).map_err(err)?;
        }
        Ok(())
    }

    fn close(mut self) -> Result<(), Error> {
        self.w.flush().map_err(|e| Error::io(&self.path, e))
    }
}

/// The CSV form of row `row` of `col` (of type `ty`), written into `out`.
fn csv_cell(col: &dyn Array, row: usize, ty: ColType, out: &mut String) {
    out.clear();
    if col.is_null(row) {
        return;
    }
    match ty {
        ColType::Str => out.push_str(col.as_string::<i32>().value(row)),
        ColType::I64 => {
            let _ = write!(out, "{}", col.as_primitive::<Int64Type>().value(row));
        }
        ColType::Timestamp => {
            let x = col.as_primitive::<TimestampMicrosecondType>().value(row);
            if let Some(t) = chrono::DateTime::from_timestamp_micros(x) {
                out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true));
            }
        }
        ColType::F32 => {
            let _ = write!(out, "{}", col.as_primitive::<Float32Type>().value(row));
        }
        ColType::Bool => {
            let _ = write!(out, "{}", col.as_boolean().value(row));
        }
        ColType::StrList => {
            let items = col.as_list::<i32>().value(row);
            let items = items.as_string::<i32>();
            let items: Vec<&str> = (0..items.len()).map(|i| items.value(i)).collect();
            out.push_str(&serde_json::to_string(&items).unwrap_or_default());
        }
    }
}

/// One output file and where its encoder is: here, or away encoding a batch on the pool.
struct Sink<E: Encode> {
    idle: Option<E>,
    busy: Option<mpsc::Receiver<(E, Result<(), Error>)>>,
}

impl<E: Encode> Sink<E> {
    fn new(e: E) -> Sink<E> {
        Sink { idle: Some(e), busy: None }
    }

    /// Waits for the batch being encoded, if any; its error, if it failed.
    fn settle(&mut self) -> Result<&mut E, Error> {
        if let Some(rx) = self.busy.take() {
            // The task always sends before it ends, even when encoding fails; a lost task
            // (a panic inside the encoder) is reported rather than waited on forever.
            let (e, r) = rx.recv().map_err(|_| Error::Schema("a table encoder stopped without reporting".into()))?;
            self.idle = Some(e);
            r?;
        }
        Ok(self.idle.as_mut().expect("an encoder is idle once settled"))
    }

    /// Completes the file once the batch being encoded, if any, is done.
    fn close(mut self) -> Result<(), Error> {
        self.settle()?;
        self.idle.take().expect("an encoder is idle once settled").close()
    }

    /// Encodes a batch: on the pool when `background`, so the caller goes on filling the next
    /// one (batches of one file stay in order, since a file encodes one batch at a time).
    fn send(&mut self, batch: RecordBatch, background: bool) -> Result<(), Error> {
        let e = self.settle()?;
        if !background {
            return e.encode(&batch);
        }
        let mut e = self.idle.take().expect("settled");
        let (tx, rx) = mpsc::sync_channel(1);
        rayon::spawn(move || {
            let r = e.encode(&batch);
            let _ = tx.send((e, r));
        });
        self.busy = Some(rx);
        Ok(())
    }
}

/// Writes one table while its rows arrive: `<dir>/<name>/part-00000.parquet` and/or
/// `<dir>/csv/<name>.csv`. Rows are checked against the schema as they are pushed and written
/// a row group at a time, so memory holds at most two row groups of the table: the one being
/// filled and the one being encoded.
pub struct TableWriter {
    buf: TableBuilder,
    parquet: Option<Sink<ParquetFile>>,
    csv: Option<Sink<CsvFile>>,
    rows: u64,
    /// Full row groups are encoded on the pool while the next fills: only when the pool has
    /// two threads or more (a one-thread run stays on one core) and the writer is not itself
    /// on the pool (whose threads must never block waiting for each other).
    background: bool,
}

impl TableWriter {
    /// Creates the table's files under `dir` in the chosen formats.
    pub fn create(def: &'static TableDef, dir: &Path, format: Format) -> Result<TableWriter, Error> {
        let buf = TableBuilder::new(def);
        let parquet = if format.parquet() {
            let folder = dir.join(def.name);
            fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let path = folder.join("part-00000.parquet");
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let w = ArrowWriter::try_new(BufWriter::new(file), buf.schema.clone(), Some(parquet_props(def.name)))
                .map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            Some(Sink::new(ParquetFile { path, w }))
        } else {
            None
        };
        let csv = if format.csv() {
            let folder = dir.join("csv");
            fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
            let path = folder.join(format!("{}.csv", def.name));
            let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
            let mut w = csv::Writer::from_writer(BufWriter::new(file));
            w.write_record(def.columns.iter().map(|c| c.name)).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            Some(Sink::new(CsvFile { path, w, def, cell: String::new() }))
        } else {
            None
        };
        let background = rayon::current_num_threads() >= 2 && rayon::current_thread_index().is_none();
        Ok(TableWriter { buf, parquet, csv, rows: 0, background })
    }

    /// The table's declaration.
    pub fn def(&self) -> &'static TableDef {
        self.buf.def
    }

    /// Adds a row (cells in the declared column order).
    pub fn push(&mut self, row: &[Cell]) -> Result<(), Error> {
        self.buf.push(row)?;
        self.rows += 1;
        if self.buf.is_full() {
            self.flush()?;
        }
        Ok(())
    }

    /// Rows pushed so far.
    pub fn len(&self) -> u64 {
        self.rows
    }

    /// True when no row was pushed.
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Hands the rows pushed so far to be encoded as a row group (on the pool when the
    /// writer encodes in the background). [`TableWriter::finish`] does it too; calling it on
    /// every table first lets their last row groups encode side by side.
    pub fn flush(&mut self) -> Result<(), Error> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let batch = self.buf.finish_batch()?;
        // The two formats encode side by side when both are written.
        if let Some(s) = &mut self.csv {
            s.send(batch.clone(), self.background)?;
        }
        if let Some(s) = &mut self.parquet {
            s.send(batch, self.background)?;
        }
        Ok(())
    }

    /// Writes what is left and closes the files; returns the number of rows.
    pub fn finish(mut self) -> Result<u64, Error> {
        self.flush()?;
        if let Some(s) = self.parquet.take() {
            s.close()?;
        }
        if let Some(s) = self.csv.take() {
            s.close()?;
        }
        Ok(self.rows)
    }
}

/// Checks the tables written into `staging` before they are committed: each Parquet file's
/// schema is the declared one and its row count is the run's counter; each CSV file has the
/// declared header.
pub fn verify_staging(staging: &Path, counts: &std::collections::BTreeMap<String, u64>, format: Format) -> Result<(), Error> {
    for t in crate::schema::TABLES {
        let expected = counts.get(t.name).copied().unwrap_or(0);
        if format.parquet() {
            let path = staging.join(t.name).join("part-00000.parquet");
            let file = File::open(&path).map_err(|e| Error::io(&path, e))?;
            let builder = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file)
                .map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            let rows = builder.metadata().file_metadata().num_rows();
            if rows as u64 != expected {
                return Err(Error::Schema(format!("{}: {rows} rows written, {expected} counted", t.name)));
            }
            let declared = t.arrow_schema();
            let found = builder.schema();
            if found.fields() != declared.fields() {
                return Err(Error::Schema(format!("{}: written schema differs from the declared one", t.name)));
            }
        }
        if format.csv() {
            let path = staging.join("csv").join(format!("{}.csv", t.name));
            let mut r = csv::Reader::from_path(&path).map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            let header = r.headers().map_err(|e| Error::Write { path: path.clone(), detail: e.to_string() })?;
            if !header.iter().eq(t.columns.iter().map(|c| c.name)) {
                return Err(Error::Schema(format!("{}: CSV header differs from the declared columns", t.name)));
            }
        }
    }
    Ok(())
}


/// Moves each table folder (and `csv/`) of `staging` into `output`, replacing what was there,
/// then removes `staging`. Where the OS can, each replacement is one atomic exchange of the two
/// folders (Linux `renameat2(RENAME_EXCHANGE)`), so a reader sees the old or the new table and
/// never a missing one; elsewhere it falls back to moving the old table aside first, and a
/// run killed between those two renames is repaired by the next run (`lock::clean_leftovers`).
pub fn commit_staging(staging: &Path, output: &Path) -> Result<(), Error> {
    let entries = fs::read_dir(staging).map_err(|e| Error::io(staging, e))?;
    let mut names: Vec<_> = entries.filter_map(|e| e.ok()).map(|e| e.file_name()).collect();
    names.sort();
    for name in names {
        let from = staging.join(&name);
        let to = output.join(&name);
        if !to.exists() {
            fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
            continue;
        }
        if exchange(&from, &to).is_ok() {
            crate::lock::fault_point("commit");
            continue;
        }
        let old = output.join(format!(".old-{}", name.to_string_lossy()));
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        fs::rename(&to, &old).map_err(|e| Error::io(&to, e))?;
        crate::lock::fault_point("commit");
        fs::rename(&from, &to).map_err(|e| Error::io(&from, e))?;
        fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
    }
    fs::remove_dir_all(staging).map_err(|e| Error::io(staging, e))?;
    Ok(())
}

/// Atomically swaps two paths (both must exist).
#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{renameat_with, RenameFlags, CWD};
    if std::env::var_os("NEWSMILL_NO_EXCHANGE").is_some() {
        return Err(std::io::Error::other("exchange disabled"));
    }
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::other("atomic exchange is not available on this platform"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ENTITIES, REJECTS};

    #[test]
    fn char_index_maps_multibyte_text() {
        let t = "a’b “c”";
        let ix = CharIndex::new(t);
        let b = t.find('b').unwrap();
        assert_eq!(ix.char_of(b), 2);
        assert_eq!(ix.char_of(t.len()), t.chars().count());
        assert_eq!(CharIndex::new("abc").char_of(2), 2);
    }

    #[test]
    fn builder_refuses_wrong_types_and_nulls() {
        let mut t = TableBuilder::new(&REJECTS);
        assert!(t.push(&["f".into(), 1i64.into(), "empty".into(), "d".into(), "r".into()]).is_ok());
        assert!(t.push(&[Cell::Null, 1i64.into(), "empty".into(), "d".into(), "r".into()]).is_err());
        assert!(t.push(&["f".into(), "x".into(), "empty".into(), "d".into(), "r".into()]).is_err());
        assert!(t.push(&["f".into()]).is_err());
        // A refused row leaves nothing behind: every column still has one value.
        assert_eq!(t.len(), 1);
        let batch = t.finish_batch().unwrap();
        assert_eq!(batch.num_rows(), 1);
        assert!(t.is_empty());
    }

    fn write_entities(dir: &Path, rows: usize, background: bool) -> u64 {
        let aliases = vec!["Trump".to_string(), "Donald \"J\" Trump".to_string()];
        let mut w = TableWriter::create(&ENTITIES, dir, Format::Both).unwrap();
        w.background = background;
        for i in 0..rows {
            let id = format!("e{i}");
            let list: Cell = if i % 3 == 2 { Cell::List(&[]) } else { (&aliases).into() };
            w.push(&[id.as_str().into(), "PERSON".into(), "Donald Trump".into(), list, (i as i64).into(), 2i64.into()]).unwrap();
        }
        w.finish().unwrap()
    }

    #[test]
    fn parquet_and_csv_round_trip_counts() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(write_entities(dir.path(), 1, false), 1);
        let csv = fs::read_to_string(dir.path().join("csv/entities.csv")).unwrap();
        assert_eq!(
            csv,
            "entity_id,label,name,aliases,n_mentions,n_documents\ne0,PERSON,Donald Trump,\"[\"\"Trump\"\",\"\"Donald \\\"\"J\\\"\" Trump\"\"]\",0,2\n"
        );
        let f = File::open(dir.path().join("entities/part-00000.parquet")).unwrap();
        let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
        use parquet::file::reader::FileReader;
        assert_eq!(r.metadata().file_metadata().num_rows(), 1);
    }

    /// Long texts close a row group before it has [`ROW_GROUP`] rows.
    #[test]
    fn row_groups_are_bounded_by_their_text() {
        let dir = tempfile::tempdir().unwrap();
        let name = "x".repeat(1 << 20);
        let mut w = TableWriter::create(&ENTITIES, dir.path(), Format::Parquet).unwrap();
        for i in 0..20 {
            w.push(&[format!("e{i}").as_str().into(), "PERSON".into(), name.as_str().into(), Cell::List(&[]), 1i64.into(), 1i64.into()]).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 20);
        let f = File::open(dir.path().join("entities/part-00000.parquet")).unwrap();
        let r = parquet::file::reader::SerializedFileReader::new(f).unwrap();
        use parquet::file::reader::FileReader;
        let groups: Vec<i64> = r.metadata().row_groups().iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, vec![8, 8, 4]);
    }

    /// Several row groups, encoded in the background on the pool, come out complete and in
    /// order in both formats.
    #[test]
    fn row_groups_stay_in_order_when_encoded_on_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let rows = ROW_GROUP * 3 + 17;
        let n = write_entities(dir.path(), rows, true);
        assert_eq!(n as usize, rows);
        let csv = fs::read_to_string(dir.path().join("csv/entities.csv")).unwrap();
        let ids: Vec<&str> = csv.lines().skip(1).map(|l| l.split(',').next().unwrap()).collect();
        assert_eq!(ids.len(), rows);
        assert!(ids.iter().enumerate().all(|(i, id)| *id == format!("e{i}")));
        let f = File::open(dir.path().join("entities/part-00000.parquet")).unwrap();
        let r = parquet::arrow::arrow_reader::ParquetRecordBatchReader::try_new(f, 4096).unwrap();
        let mut next = 0i64;
        for b in r {
            let b = b.unwrap();
            let n = b.column(4).as_primitive::<Int64Type>();
            for i in 0..n.len() {
                assert_eq!(n.value(i), next);
                next += 1;
            }
        }
        assert_eq!(next as usize, rows);
    }
}
