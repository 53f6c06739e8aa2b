//! The runner: discover -> read -> normalize -> extract -> link -> overlap -> write -> commit.
//!
//! Per-document stages fan out with rayon (`par_iter().map().collect()` keeps input order,
//! so the tables are identical whatever the thread count). Whole-run stages see everything.
//! The runner owns the bookkeeping: counters, timings, progress and the run manifest; stages
//! never count or print.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;
use serde::Serialize;
use xxhash_rust::xxh3::{xxh3_64, Xxh3};

use crate::config::{NormalizeConfig, PipelineConfig};
use crate::entities::{self, Recognizer};
use crate::error::{Error, Reject};
use crate::ingest::{self, RawRecord};
use crate::normalize::{self, hex_id, Document};
use crate::overlap::{self, SpilledQuote};
use crate::quotes::QuoteExtractor;
use crate::record::{Mention, Quote};
use crate::schema;
use crate::write::{self, Cell, CharIndex, Format, TableWriter};

/// When to draw progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProgressMode {
    /// Only when stderr is a terminal.
    #[default]
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// How this run behaves (flags), as opposed to what it does (the pipeline file).
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Replaces the pipeline's input paths.
    pub inputs: Option<Vec<String>>,
    /// Replaces the pipeline's output folder.
    pub output: Option<PathBuf>,
    /// Replaces the pipeline's output format.
    pub format: Option<Format>,
    /// Progress bars.
    pub progress: ProgressMode,
    /// Reprocess everything even when the state says the inputs are unchanged.
    pub full: bool,
}

/// `--max-rejects N|P%`: how many refusals a run may have before it exits 3 (after committing).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MaxRejects {
    /// At most this many refused records.
    Count(u64),
    /// At most this share of records, in percent.
    Percent(f64),
}

impl std::str::FromStr for MaxRejects {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        if let Some(p) = s.strip_suffix('%') {
            let v: f64 = p.trim().parse().map_err(|_| format!("not a percentage: {s}"))?;
            if !(0.0..=100.0).contains(&v) {
                return Err(format!("percentage must be in 0..=100, got {v}"));
            }
            Ok(MaxRejects::Percent(v))
        } else {
            s.parse().map(MaxRejects::Count).map_err(|_| format!("expected a count or a percentage (N or P%), got {s}"))
        }
    }
}

impl MaxRejects {
    /// True when the run refused more than allowed.
    pub fn exceeded(&self, summary: &RunSummary) -> bool {
        match *self {
            MaxRejects::Count(n) => summary.rejected > n,
            MaxRejects::Percent(p) => summary.records > 0 && (summary.rejected as f64) * 100.0 > p * summary.records as f64,
        }
    }
}

/// What the state file remembers of one input, to tell whether a rerun has anything new.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
struct StateEntry {
    path: String,
    size: u64,
    mtime_ns: i128,
}

/// `<output>/_state.json`: what the last committed run processed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
struct State {
    version: String,
    config_hash: String,
    run_id: String,
    inputs: Vec<StateEntry>,
    /// The committed run's summary, returned again when nothing changed.
    summary_file: String,
}

fn stat_inputs(files: &[PathBuf]) -> Vec<StateEntry> {
    files
        .iter()
        .map(|p| {
            let md = fs::metadata(p).ok();
            let mtime_ns = md
                .as_ref()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            StateEntry { path: p.to_string_lossy().into_owned(), size: md.map_or(0, |m| m.len()), mtime_ns }
        })
        .collect()
}

/// One input file as the run saw it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct InputFile {
    /// Path as discovered.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// xxh3-64 of the raw bytes, hex.
    pub content_hash: String,
}

/// What a run did: printed at the end and written to `_runs/<run_id>.json`.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RunSummary {
    /// Content-derived id of the run (inputs, config and version).
    pub run_id: String,
    /// newsmill version.
    pub version: String,
    /// Table schema version.
    pub schema_version: u32,
    /// Pipeline name.
    pub pipeline: String,
    /// When the run started (RFC 3339, informational only; never part of an id).
    pub started_at: String,
    /// Input files read.
    pub inputs: Vec<InputFile>,
    /// Records read from the inputs (documents + rejects).
    pub records: u64,
    /// Rows of `documents`.
    pub documents: u64,
    /// Rows of `rejects`.
    pub rejected: u64,
    /// Refusals by reason.
    pub rejected_by_reason: BTreeMap<String, u64>,
    /// Rows written per table.
    pub tables: BTreeMap<String, u64>,
    /// Wall seconds per stage, in order.
    pub stage_seconds: Vec<(String, f64)>,
    /// Bytes of input text (after decoding, before normalization).
    pub input_text_bytes: u64,
    /// The output folder.
    pub output: String,
    /// The pipeline as run.
    pub config: PipelineConfig,
    /// Documents that went through extraction in this run (0 when nothing was new).
    #[serde(default)]
    pub extracted_documents: u64,
    /// True when the run found nothing new and left the tables as they were.
    #[serde(default)]
    pub nothing_new: bool,
}

impl RunSummary {
    /// The one-screen summary for a terminal.
    pub fn human(&self) -> String {
        let mut s = format!(
            "newsmill run {} ({}): {} records from {} files -> {} documents, {} refused\n",
            self.run_id,
            self.pipeline,
            self.records,
            self.inputs.len(),
            self.documents,
            self.rejected
        );
        for (r, n) in &self.rejected_by_reason {
            s.push_str(&format!("  refused {r}: {n}\n"));
        }
        s.push_str("  tables:");
        for (t, n) in &self.tables {
            s.push_str(&format!(" {t}={n}"));
        }
        s.push('\n');
        let total: f64 = self.stage_seconds.iter().map(|(_, t)| t).sum();
        s.push_str("  time:");
        for (st, t) in &self.stage_seconds {
            s.push_str(&format!(" {st} {t:.2}s,"));
        }
        s.push_str(&format!(" total {total:.2}s\n  output: {}\n", self.output));
        s
    }
}

struct Progress {
    enabled: bool,
    /// Without bars, log a progress line this often (non-terminal runs).
    log_every: Option<std::time::Duration>,
}

impl Progress {
    fn bar(&self, stage: &str, total: u64) -> ProgressBar {
        if !self.enabled {
            let pb = ProgressBar::hidden();
            pb.set_length(total);
            if let Some(every) = self.log_every {
                let watch = pb.clone();
                let stage = stage.to_string();
                std::thread::spawn(move || {
                    let started = Instant::now();
                    let mut last = Instant::now();
                    while !watch.is_finished() {
                        std::thread::sleep(std::time::Duration::from_millis(200));
                        if last.elapsed() >= every && !watch.is_finished() {
                            last = Instant::now();
                            tracing::info!(stage = %stage, done = watch.position(), total, seconds = started.elapsed().as_secs_f64(), "progress");
                        }
                    }
                });
            }
            return pb;
        }
        let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        pb.set_style(
            ProgressStyle::with_template("{prefix:>10} [{bar:30}] {pos}/{len} {per_sec} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        pb.set_prefix(stage.to_string());
        pb
    }
}

struct Timer {
    stages: Vec<(String, f64)>,
    at: Instant,
}

impl Timer {
    /// Adds time spent in a stage that ran interleaved with others.
    fn add(&mut self, stage: &str, secs: f64) {
        tracing::info!(stage, seconds = secs, peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "stage done");
        self.stages.push((stage.to_string(), secs));
    }

    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let secs = (now - self.at).as_secs_f64();
        tracing::info!(stage, seconds = secs, peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "stage done");
        self.stages.push((stage.to_string(), secs));
        self.at = now;
    }
}

fn hash_file(path: &Path) -> (u64, String) {
    let mut h = Xxh3::new();
    let mut size = 0u64;
    if let Ok(mut f) = fs::File::open(path) {
        let mut buf = vec![0u8; 1 << 20];
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            size += n as u64;
            h.update(&buf[..n]);
        }
    }
    (size, hex_id(h.digest()))
}

/// A batch is processed (normalized, extracted) in parallel once it holds this much text...
const BATCH_TEXT_BYTES: u64 = 32 << 20;
/// ...or this many records.
const BATCH_RECORDS: usize = 8192;
/// Files up to this size are read whole, several at once; larger ones are streamed record by
/// record.
const SMALL_FILE: u64 = 1 << 20;
/// A streamed file is read in blocks of this many records...
const READ_BLOCK: usize = 256;
/// ...at most this many blocks ahead of the batch being processed.
const READ_AHEAD_BLOCKS: usize = 16;

/// A slice of one input file's documents with what the per-document stages found in them, and
/// the file's refusals: the unit a batch produces, the cache stores and the writer reads back.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct Chunk {
    docs: Vec<Document>,
    mentions: Vec<Vec<Mention>>,
    quotes: Vec<Vec<Quote>>,
    rejects: Vec<Reject>,
    text_bytes: u64,
}

/// `<output>/_state/cache/`: per input file, the chunks the per-document stages produced,
/// keyed by the file's path and content, the extraction settings, the version and the model
/// files. It is also where the writer reads the documents back from, so the run never holds
/// every text at once; and a rerun after new files arrive extracts only the new ones, while
/// the whole-run stages (linking, overlap) still see every document.
struct ExtractCache {
    dir: PathBuf,
    salt: String,
}

/// Appends one input file's chunks to its cache entry; the entry appears (by rename) only
/// when the file is complete.
struct CacheWriter {
    tmp: PathBuf,
    path: PathBuf,
    z: zstd::stream::write::Encoder<'static, std::io::BufWriter<fs::File>>,
}

impl CacheWriter {
    /// Appends a chunk: its length (u64, little-endian), then its postcard encoding, made in
    /// `buf`. The caller keeps `buf` from chunk to chunk: an encoding is tens of megabytes, and
    /// a new vector grown by doubling for each chunk costs more in fresh pages than the
    /// encoding itself.
    fn append(&mut self, c: &Chunk, buf: &mut Vec<u8>) -> Result<(), Error> {
        buf.clear();
        postcard::to_io(c, &mut *buf).map_err(|e| Error::io(&self.tmp, std::io::Error::other(e)))?;
        let w = &mut self.z;
        std::io::Write::write_all(w, &(buf.len() as u64).to_le_bytes()).map_err(|e| Error::io(&self.tmp, e))?;
        std::io::Write::write_all(w, buf).map_err(|e| Error::io(&self.tmp, e))
    }

    fn finish(self) -> Result<(), Error> {
        let tmp = self.tmp;
        let mut w = self.z.finish().map_err(|e| Error::io(&tmp, e))?;
        std::io::Write::flush(&mut w).map_err(|e| Error::io(&tmp, e))?;
        drop(w);
        fs::rename(&tmp, &self.path).map_err(|e| Error::io(&self.path, e))
    }
}

const CACHE_SUFFIX: &str = ".chunks.zst";

impl ExtractCache {
    fn new(out_dir: &Path, cfg: &PipelineConfig) -> ExtractCache {
        let mut salt = format!(
            "{}\u{1f}{}\u{1f}{}\u{1f}{}\u{1f}{}",
            env!("CARGO_PKG_VERSION"),
            serde_json::to_string(&cfg.input.fields).unwrap_or_default(),
            cfg.input.max_doc_bytes,
            serde_json::to_string(&cfg.normalize()).unwrap_or_default(),
            serde_json::to_string(&(cfg.entities(), cfg.quotes())).unwrap_or_default(),
        );
        let mut model_dirs: Vec<&str> = cfg.entities().map(|e| e.models.as_str()).into_iter().collect();
        model_dirs.extend(cfg.quotes().map(|q| q.models.as_str()));
        for d in model_dirs {
            for e in walkdir::WalkDir::new(d).sort_by_file_name().into_iter().filter_map(|e| e.ok()) {
                if let Ok(md) = e.metadata() {
                    let mtime = md.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                    salt.push_str(&format!("\u{1f}{}:{}:{:?}", e.path().display(), md.len(), mtime));
                }
            }
        }
        ExtractCache { dir: out_dir.join("_state").join("cache"), salt }
    }

    fn key(&self, path: &str, content_hash: &str) -> String {
        hex_id(xxh3_64(format!("{}\u{1f}{path}\u{1f}{content_hash}", self.salt).as_bytes()))
    }

    fn path(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}{CACHE_SUFFIX}"))
    }

    fn has(&self, key: &str) -> bool {
        self.path(key).is_file()
    }

    /// The chunks of an entry, in order; an unreadable chunk is an error item.
    fn chunks(&self, key: &str) -> Result<impl Iterator<Item = Result<Chunk, Error>>, Error> {
        let path = self.path(key);
        let f = fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
        let mut r = zstd::stream::read::Decoder::new(f).map_err(|e| Error::io(&path, e))?;
        let mut buf = Vec::new();
        Ok(std::iter::from_fn(move || {
            let mut len = [0u8; 8];
            match ingest::read_up_to(&mut r, &mut len) {
                Ok(0) => return None,
                Ok(8) => {}
                Ok(_) => return Some(Err(Error::io(&path, std::io::ErrorKind::UnexpectedEof.into()))),
                Err(e) => return Some(Err(Error::io(&path, e))),
            }
            let n = u64::from_le_bytes(len);
            if n > 1 << 31 {
                return Some(Err(Error::io(&path, std::io::Error::other("corrupt chunk length"))));
            }
            buf.resize(n as usize, 0);
            if let Err(e) = std::io::Read::read_exact(&mut r, &mut buf) {
                return Some(Err(Error::io(&path, e)));
            }
            Some(postcard::from_bytes::<Chunk>(&buf).map_err(|e| Error::io(&path, std::io::Error::other(e))))
        }))
    }

    fn writer(&self, key: &str) -> Result<CacheWriter, Error> {
        fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))?;
        let tmp = self.dir.join(format!(".{key}.tmp"));
        let f = fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
        let z = zstd::stream::write::Encoder::new(std::io::BufWriter::new(f), 1).map_err(|e| Error::io(&tmp, e))?;
        Ok(CacheWriter { tmp, path: self.path(key), z })
    }

    /// Drops entries no longer used by the committed run (inputs removed or changed).
    fn retain(&self, keys: &[String]) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = name.strip_suffix(CACHE_SUFFIX).unwrap_or(&name);
            if !keys.iter().any(|k| k == key) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// What the whole-run stages keep of one document: its distinct names, and what the overlap
/// stage needs (its prepared form, not its text).
struct Kept {
    names: entities::DocNames,
    overlap: Option<overlap::PreparedDoc>,
}

/// A direct or partial quote handed to the overlap stage (its text waits in the spill).
struct QuoteKept {
    /// The quote's story-tier key, from its text.
    story_key: Option<u64>,
    doc: u32,
    quote: u32,
    /// The speaker's name (index into the document's names), when the speaker is a mention.
    speaker: Option<u32>,
}

/// One file's share of a batch: raw records still to normalize and extract.
struct Piece {
    file: usize,
    recs: Vec<RawRecord>,
    rejects: Vec<Reject>,
    text_bytes: u64,
    /// The file ends with this piece.
    last: bool,
}

/// The first pass: reads, normalizes and extracts batch by batch, caches each file's chunks,
/// and keeps only what the whole-run stages need.
struct FirstPass<'a> {
    cfg: &'a PipelineConfig,
    norm_cfg: &'a NormalizeConfig,
    cache: &'a ExtractCache,
    keys: &'a [String],
    rec: Option<Recognizer>,
    qx: Option<QuoteExtractor>,
    keeper: Keeper<'a>,
    /// The last batch's chunks, prepared but not yet kept: they are kept while the next
    /// batch is normalized, so that this serial step does not leave the other cores idle.
    pending: Vec<(Chunk, Vec<PreparedForKeep>)>,
    extracted: u64,
    writers: BTreeMap<usize, CacheWriter>,
    /// Where [`CacheWriter::append`] encodes each chunk.
    encoded: Vec<u8>,
    seconds: BTreeMap<&'static str, f64>,
}

/// What the first pass keeps for the whole-run stages, document by document in input order.
struct Keeper<'a> {
    cfg: &'a PipelineConfig,
    names: entities::Names,
    kept: Vec<Kept>,
    /// The kept documents' story terms, signatures and quote texts, on disk until the overlap
    /// stage reads them back.
    spill: Option<overlap::spill::DocSpill>,
    /// The first error writing the spill (the run fails with it after the first pass).
    spill_error: Option<std::io::Error>,
    quotes: Vec<QuoteKept>,
    rejects: Vec<Reject>,
    text_bytes: u64,
    /// Seconds spent keeping (on whichever thread kept).
    seconds: f64,
    pb: ProgressBar,
}

impl FirstPass<'_> {
    fn time<T>(&mut self, stage: &'static str, f: impl FnOnce(&mut Self) -> T) -> T {
        let t = Instant::now();
        let out = f(self);
        *self.seconds.entry(stage).or_default() += t.elapsed().as_secs_f64();
        out
    }

    /// Normalizes and extracts a batch, caches its chunks, keeps what the run needs.
    fn process(&mut self, pieces: Vec<Piece>) -> Result<(), Error> {
        if pieces.is_empty() {
            return Ok(());
        }
        let norm_cfg = self.norm_cfg;
        let mut chunks: Vec<(usize, bool, Chunk)> = Vec::with_capacity(pieces.len());
        let mut flat: Vec<(usize, RawRecord)> = Vec::new();
        for (k, p) in pieces.into_iter().enumerate() {
            flat.extend(p.recs.into_iter().map(|r| (k, r)));
            chunks.push((p.file, p.last, Chunk { rejects: p.rejects, text_bytes: p.text_bytes, ..Chunk::default() }));
        }
        // The last batch is kept on one thread while the others normalize this one.
        let pending = std::mem::take(&mut self.pending);
        let keeper = &mut self.keeper;
        let ((), (normalized, norm_secs)) = rayon::join(
            || keeper.keep_all(pending),
            || {
                let t = Instant::now();
                let n: Vec<(usize, Result<Document, Reject>)> =
                    flat.into_par_iter().map(|(k, r)| (k, normalize::normalize(r, norm_cfg))).collect();
                (n, t.elapsed().as_secs_f64())
            },
        );
        *self.seconds.entry("normalize").or_default() += norm_secs;
        let mut docs = Vec::with_capacity(normalized.len());
        let mut doc_piece = Vec::with_capacity(normalized.len());
        for (k, d) in normalized {
            match d {
                Ok(d) => {
                    docs.push(d);
                    doc_piece.push(k);
                }
                Err(r) => chunks[k].2.rejects.push(r),
            }
        }
        let mentions: Vec<Vec<Mention>> = match &self.rec {
            Some(rec) => {
                let t = Instant::now();
                let m = docs.par_iter().map(|d| rec.extract(&d.text)).collect();
                *self.seconds.entry("entities").or_default() += t.elapsed().as_secs_f64();
                m
            }
            None => vec![Vec::new(); docs.len()],
        };
        let quotes: Vec<Vec<Quote>> = match &self.qx {
            Some(qx) => {
                let t = Instant::now();
                let q = docs.par_iter().zip(mentions.par_iter()).map(|(d, m)| qx.extract(&d.text, m)).collect();
                *self.seconds.entry("quotes").or_default() += t.elapsed().as_secs_f64();
                q
            }
            None => vec![Vec::new(); docs.len()],
        };
        self.extracted += docs.len() as u64;
        for ((d, m), (q, k)) in docs.into_iter().zip(mentions).zip(quotes.into_iter().zip(doc_piece)) {
            let c = &mut chunks[k].2;
            c.docs.push(d);
            c.mentions.push(m);
            c.quotes.push(q);
        }
        for (file, last, chunk) in chunks {
            // The chunk is compressed into the cache on one thread of the pool while the
            // others prepare its documents for the whole-run stages: the compression is one
            // serial stream, which would otherwise leave the other cores idle.
            let (cache, keys, writers, encoded, cfg) = (self.cache, self.keys, &mut self.writers, &mut self.encoded, self.cfg);
            let (written, (prepared, keep_secs)) = rayon::join(
                || {
                    let t = Instant::now();
                    let r = (|| -> Result<(), Error> {
                        let w = match writers.entry(file) {
                            std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                            std::collections::btree_map::Entry::Vacant(e) => e.insert(cache.writer(&keys[file])?),
                        };
                        w.append(&chunk, encoded)?;
                        if last {
                            writers.remove(&file).expect("writer").finish()?;
                        }
                        Ok(())
                    })();
                    (r, t.elapsed().as_secs_f64())
                },
                || {
                    let t = Instant::now();
                    let p = prepare_chunk(cfg, &chunk);
                    (p, t.elapsed().as_secs_f64())
                },
            );
            *self.seconds.entry("cache").or_default() += written.1;
            self.keeper.seconds += keep_secs;
            written.0?;
            self.pending.push((chunk, prepared));
        }
        Ok(())
    }

    /// Keeps the chunks still pending, before anything read after them is kept.
    fn flush(&mut self) {
        self.keeper.keep_all(std::mem::take(&mut self.pending));
    }

    /// Keeps a cached file's documents without extracting them again. False (and nothing
    /// kept) when the cache entry turns out unreadable: the file is then read afresh.
    fn keep_cached(&mut self, file: usize) -> bool {
        self.flush();
        let k = &mut self.keeper;
        let (kept, quotes, rejects, bytes) = (k.kept.len(), k.quotes.len(), k.rejects.len(), k.text_bytes);
        let spilled = k.spill.as_ref().map(|s| s.mark());
        let key = self.keys[file].clone();
        let ok = (|| -> Result<(), Error> {
            for c in self.cache.chunks(&key)? {
                let t = Instant::now();
                let c = c?;
                *self.seconds.entry("cache").or_default() += t.elapsed().as_secs_f64();
                self.keeper.keep(c);
            }
            Ok(())
        })();
        if let Err(e) = ok {
            tracing::warn!(error = %e, "unreadable extraction cache entry; reading the input again");
            let k = &mut self.keeper;
            k.kept.truncate(kept);
            if let (Some(spill), Some(m)) = (k.spill.as_mut(), spilled) {
                if let Err(e) = spill.rewind(m) {
                    k.spill_error.get_or_insert(e);
                }
            }
            k.quotes.truncate(quotes);
            k.rejects.truncate(rejects);
            k.text_bytes = bytes;
            return false;
        }
        true
    }
}

impl Keeper<'_> {
    /// Keeps what the whole-run stages need of a chunk's documents.
    fn keep(&mut self, chunk: Chunk) {
        let t = Instant::now();
        let prepared = prepare_chunk(self.cfg, &chunk);
        self.seconds += t.elapsed().as_secs_f64();
        self.keep_prepared(chunk, prepared);
    }

    /// Keeps prepared chunks, in order.
    fn keep_all(&mut self, chunks: Vec<(Chunk, Vec<PreparedForKeep>)>) {
        for (chunk, prepared) in chunks {
            self.keep_prepared(chunk, prepared);
        }
    }

    /// Keeps a chunk's documents once [`prepare_chunk`] has prepared them.
    fn keep_prepared(&mut self, chunk: Chunk, per_doc: Vec<PreparedForKeep>) {
        let t = Instant::now();
        let with_overlap = self.cfg.overlap().is_some();
        let base = self.kept.len();
        for (k, ((local, slots, mut ov), d)) in per_doc.into_iter().zip(&chunk.docs).enumerate() {
            let doc = base + k;
            let mut texts: Vec<&str> = Vec::new();
            if with_overlap {
                for (qi, q) in chunk.quotes[k].iter().enumerate() {
                    if q.kind.is_verbatim() {
                        let text = q.content.slice(&d.text);
                        self.quotes.push(QuoteKept {
                            story_key: overlap::stories::quote_key(text),
                            doc: doc as u32,
                            quote: qi as u32,
                            speaker: q.speaker_mention.and_then(|m| slots.get(m).copied().flatten()),
                        });
                        texts.push(text);
                    }
                }
            }
            if let (Some(spill), Some(p)) = (self.spill.as_mut(), ov.as_mut()) {
                if let Err(e) = spill.push(&p.terms, &p.sig.minhash, &p.sig.char_minhash, &texts) {
                    self.spill_error.get_or_insert(e);
                }
                p.terms = Default::default();
                p.sig.free_minhashes();
            }
            self.kept.push(Kept { names: entities::intern_names(&local, &mut self.names), overlap: ov });
        }
        self.text_bytes += chunk.text_bytes;
        self.rejects.extend(chunk.rejects);
        self.pb.inc(chunk.docs.len() as u64);
        self.seconds += t.elapsed().as_secs_f64();
    }
}

/// One document as [`prepare_chunk`] leaves it: its distinct names, the slot of each mention
/// among them, and its prepared form for the overlap stage.
type PreparedForKeep = (entities::LocalNames, Vec<Option<u32>>, Option<overlap::PreparedDoc>);

/// The per-document work of keeping a chunk (on the pool): names and overlap preparation.
fn prepare_chunk(cfg: &PipelineConfig, chunk: &Chunk) -> Vec<PreparedForKeep> {
    let overlap_cfg = cfg.overlap();
    chunk
        .docs
        .par_iter()
        .zip(chunk.mentions.par_iter())
        .map(|(d, m)| {
            let (local, slots) = entities::local_names(&d.text, m);
            let ov = overlap_cfg.map(|oc| overlap::prepare(&d.doc_id, &d.text, d.title.as_deref(), d.published_at, oc));
            (local, slots, ov)
        })
        .collect()
}

/// Reads the fresh inputs into batches (small files whole and several at once, large ones
/// streamed) and hands each full batch to the first pass; cached inputs are kept from the
/// cache in their turn, so documents stay in input order.
fn first_pass(fp: &mut FirstPass, files: &[PathBuf], sizes: &[u64], cached: &[bool]) -> Result<(), Error> {
    let cfg: &PipelineConfig = fp.cfg;
    let input = &cfg.input;
    let mut batch: Vec<Piece> = Vec::new();
    let mut batch_bytes = 0u64;
    let mut batch_records = 0usize;
    let mut small: Vec<usize> = Vec::new();
    let mut small_bytes = 0u64;
    // Reads the queued small files (in parallel) into the batch.
    let read_small = |fp: &mut FirstPass, small: &mut Vec<usize>, batch: &mut Vec<Piece>, bytes: &mut u64, records: &mut usize| {
        if small.is_empty() {
            return;
        }
        let pieces: Vec<Piece> = fp.time("read", |_| {
            small
                .par_iter()
                .map(|&i| {
                    let (recs, rejects) = ingest::read_file(&files[i], input);
                    let text_bytes = recs.iter().map(|r| r.text.len() as u64).sum();
                    Piece { file: i, recs, rejects, text_bytes, last: true }
                })
                .collect()
        });
        for p in pieces {
            *bytes += p.text_bytes;
            *records += p.recs.len();
            batch.push(p);
        }
        small.clear();
    };
    for i in 0..files.len() {
        if cached[i] {
            read_small(fp, &mut small, &mut batch, &mut batch_bytes, &mut batch_records);
            small_bytes = 0;
            fp.process(std::mem::take(&mut batch))?;
            (batch_bytes, batch_records) = (0, 0);
            if fp.keep_cached(i) {
                continue;
            }
        }
        if sizes[i] <= SMALL_FILE {
            small.push(i);
            small_bytes += sizes[i];
            if small_bytes + batch_bytes >= BATCH_TEXT_BYTES || small.len() + batch_records >= BATCH_RECORDS {
                read_small(fp, &mut small, &mut batch, &mut batch_bytes, &mut batch_records);
                small_bytes = 0;
                fp.process(std::mem::take(&mut batch))?;
                (batch_bytes, batch_records) = (0, 0);
            }
            continue;
        }
        read_small(fp, &mut small, &mut batch, &mut batch_bytes, &mut batch_records);
        small_bytes = 0;
        let mut reader = ingest::RecordReader::open(&files[i], input);
        let mut piece = Piece { file: i, recs: Vec::new(), rejects: Vec::new(), text_bytes: 0, last: false };
        // The file is read (decompressed, parsed) in blocks of records; with two threads or
        // more, on a thread of its own, a few blocks ahead of the batches being processed.
        let blocks = Timed {
            items: std::iter::from_fn(move || {
                let block: Vec<ingest::Item> = std::iter::from_fn(|| reader.next_item()).take(READ_BLOCK).collect();
                (!block.is_empty()).then_some(block)
            }),
            secs: 0.0,
        };
        let read_secs = std::thread::scope(|s| -> Result<f64, Error> {
            let mut add = |item: ingest::Item| -> Result<(), Error> {
                match item {
                    ingest::Item::Reject(r) => piece.rejects.push(r),
                    ingest::Item::Record(r) => {
                        piece.text_bytes += r.text.len() as u64;
                        batch_bytes += r.text.len() as u64;
                        batch_records += 1;
                        piece.recs.push(r);
                    }
                }
                if batch_bytes >= BATCH_TEXT_BYTES || batch_records >= BATCH_RECORDS {
                    let next = Piece { file: i, recs: Vec::new(), rejects: Vec::new(), text_bytes: 0, last: false };
                    batch.push(std::mem::replace(&mut piece, next));
                    fp.process(std::mem::take(&mut batch))?;
                    (batch_bytes, batch_records) = (0, 0);
                }
                Ok(())
            };
            if rayon::current_num_threads() >= 2 {
                let (items, reading) = ahead(s, READ_AHEAD_BLOCKS, blocks);
                items.into_iter().flatten().try_for_each(&mut add)?;
                Ok(reading.join().unwrap_or_else(|p| std::panic::resume_unwind(p)).secs)
            } else {
                let mut blocks = blocks;
                blocks.by_ref().flatten().try_for_each(&mut add)?;
                Ok(blocks.secs)
            }
        })?;
        *fp.seconds.entry("read").or_default() += read_secs;
        piece.last = true;
        batch.push(piece);
    }
    read_small(fp, &mut small, &mut batch, &mut batch_bytes, &mut batch_records);
    fp.process(batch)?;
    fp.flush();
    Ok(())
}

/// The entity and quote models the pipeline's stages use.
fn load_models(cfg: &PipelineConfig) -> Result<(Option<Recognizer>, Option<QuoteExtractor>), Error> {
    let rec = match cfg.entities() {
        Some(ec) => Some(Recognizer::load(Path::new(&ec.models)).map_err(|e| Error::Load {
            what: format!("entity model from {}", ec.models),
            detail: format!("{e:#}"),
        })?),
        None => None,
    };
    let qx = match cfg.quotes() {
        Some(qc) => {
            // The quote tagger reads the same word clusters as the entity tagger: one table.
            let shared = match (&rec, cfg.entities()) {
                (Some(r), Some(ec)) if Path::new(&ec.models) == Path::new(&qc.models) => Some(r.lexicon()),
                _ => None,
            };
            Some(QuoteExtractor::load_with(Path::new(&qc.models), qc, shared).map_err(|e| Error::Load {
                what: format!("quote model from {}", qc.models),
                detail: format!("{e:#}"),
            })?)
        }
        None => None,
    };
    Ok((rec, qx))
}

/// Runs a pipeline. Bad records become rejects; only config and output problems fail the run.
pub fn run(cfg: &PipelineConfig, opts: &RunOptions) -> Result<RunSummary, Error> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut cfg = cfg.clone();
    if let Some(i) = &opts.inputs {
        cfg.input.paths = i.clone();
    }
    if let Some(o) = &opts.output {
        cfg.output.dir = o.to_string_lossy().into_owned();
    }
    if let Some(f) = opts.format {
        cfg.output.format = f;
    }
    let enabled = match opts.progress {
        ProgressMode::Always => true,
        ProgressMode::Never => false,
        ProgressMode::Auto => std::io::stderr().is_terminal(),
    };
    let progress = Progress {
        enabled,
        log_every: (!enabled && opts.progress != ProgressMode::Never).then(|| std::time::Duration::from_secs(5)),
    };
    let mut timer = Timer { stages: Vec::new(), at: Instant::now() };
    let out_dir = cfg.output_dir();
    let _lock = crate::lock::acquire(&out_dir)?;
    crate::lock::clean_leftovers(&out_dir)?;

    // discover; stop here when the state says nothing changed since the last committed run
    let files = ingest::discover(&cfg.input.paths)?;
    tracing::info!(files = files.len(), "discovered inputs");
    let config_hash = hex_id(xxh3_64(serde_json::to_string(&cfg).unwrap_or_default().as_bytes()));
    let stats = stat_inputs(&files);
    let state_path = out_dir.join("_state.json");
    if !opts.full {
        if let Some(prev) = fs::read_to_string(&state_path).ok().and_then(|s| serde_json::from_str::<State>(&s).ok()) {
            if prev.version == env!("CARGO_PKG_VERSION") && prev.config_hash == config_hash && prev.inputs == stats {
                let manifest = out_dir.join("_runs").join(&prev.summary_file);
                if let Some(mut summary) =
                    fs::read_to_string(&manifest).ok().and_then(|s| serde_json::from_str::<RunSummary>(&s).ok())
                {
                    tracing::info!(run_id = %prev.run_id, "nothing new since the last run; tables unchanged");
                    summary.nothing_new = true;
                    summary.extracted_documents = 0;
                    return Ok(summary);
                }
            }
        }
    }
    // Per input file: reuse what an earlier run extracted from the same bytes with the same
    // extraction settings and models, or read, normalize and extract it now.
    let cache = ExtractCache::new(&out_dir, &cfg);
    // The models load while the inputs are read for their hashes: one waits on the disk,
    // the other mostly on decompression.
    let pb = progress.bar("hash", files.len() as u64);
    let ((hashed, hash_secs), (models, load_secs)) = rayon::join(
        || {
            let t = Instant::now();
            let hashed: Vec<(InputFile, String, bool)> = files
                .par_iter()
                .map(|p| {
                    let (size, content_hash) = hash_file(p);
                    let path = p.to_string_lossy().into_owned();
                    let key = cache.key(&path, &content_hash);
                    let hit = !opts.full && cache.has(&key);
                    pb.inc(1);
                    (InputFile { path, size, content_hash }, key, hit)
                })
                .collect();
            (hashed, t.elapsed().as_secs_f64())
        },
        || {
            let t = Instant::now();
            (load_models(&cfg), t.elapsed().as_secs_f64())
        },
    );
    pb.finish_and_clear();
    let run_id = {
        let mut key = format!("{}\n{}\n", env!("CARGO_PKG_VERSION"), serde_json::to_string(&cfg).unwrap_or_default());
        for (f, _, _) in &hashed {
            key.push_str(&format!("{}\t{}\n", f.path, f.content_hash));
        }
        hex_id(xxh3_64(key.as_bytes()))
    };
    let n_cached = hashed.iter().filter(|h| h.2).count();
    tracing::info!(files = hashed.len(), cached = n_cached, "inputs hashed");
    // Side by side, each reports its own seconds.
    timer.add("hash", hash_secs);
    timer.add("load", load_secs);
    timer.at = Instant::now();
    let (rec, qx) = models?;
    let keys: Vec<String> = hashed.iter().map(|h| h.1.clone()).collect();
    let sizes: Vec<u64> = hashed.iter().map(|h| h.0.size).collect();
    let cached: Vec<bool> = hashed.iter().map(|h| h.2).collect();
    let inputs: Vec<InputFile> = hashed.into_iter().map(|h| h.0).collect();

    // First pass: read, normalize, extract and cache batch by batch; keep what the whole-run
    // stages need.
    let default_norm = NormalizeConfig { lift_header: false, lift_boilerplate: false };
    let spill_path = out_dir.join(format!(".spill-{run_id}"));
    let spill = match cfg.overlap() {
        Some(_) => Some(overlap::spill::DocSpill::create(&spill_path).map_err(|e| Error::io(&spill_path, e))?),
        None => None,
    };
    let mut fp = FirstPass {
        cfg: &cfg,
        norm_cfg: cfg.normalize().unwrap_or(&default_norm),
        cache: &cache,
        keys: &keys,
        rec,
        qx,
        keeper: Keeper {
            cfg: &cfg,
            names: entities::Names::default(),
            kept: Vec::new(),
            spill,
            spill_error: None,
            quotes: Vec::new(),
            rejects: Vec::new(),
            text_bytes: 0,
            seconds: 0.0,
            pb: progress.bar("documents", 0),
        },
        pending: Vec::new(),
        extracted: 0,
        writers: BTreeMap::new(),
        encoded: Vec::new(),
        seconds: BTreeMap::new(),
    };
    first_pass(&mut fp, &files, &sizes, &cached)?;
    fp.keeper.pb.finish_and_clear();
    fp.seconds.insert("keep", fp.keeper.seconds);
    for stage in ["read", "normalize", "entities", "quotes", "cache", "keep"] {
        if let Some(&secs) = fp.seconds.get(stage) {
            timer.add(stage, secs);
        }
    }
    timer.at = Instant::now();
    // What the whole-run stages need; the models and the rest of the first pass are freed
    // here, not at the end of the run.
    let FirstPass { keeper, extracted: extracted_documents, rec, qx, encoded, .. } = fp;
    let Keeper { mut kept, spill, spill_error, quotes: kept_quotes, mut rejects, names, text_bytes: input_text_bytes, .. } = keeper;
    drop((rec, qx, encoded));
    if let Some(e) = spill_error {
        return Err(Error::io(&spill_path, e));
    }
    let spill = spill.map(|s| s.finish()).transpose().map_err(|e| Error::io(&spill_path, e))?;
    rejects.sort_by(|a, b| (&a.source_file, a.source_record).cmp(&(&b.source_file, b.source_record)));

    // Whole-run stages. The overlap stage's copy tier needs nothing of the linking, so it
    // runs while the entities are linked.
    let n_docs = kept.len();
    let spill = match (cfg.overlap(), spill) {
        (Some(_), None) => return Err(Error::io(&spill_path, std::io::Error::other("no spill for the overlap stage"))),
        (_, spill) => spill,
    };
    let prepared: Vec<overlap::PreparedDoc> = match cfg.overlap() {
        Some(_) => kept.iter_mut().map(|k| k.overlap.take().expect("kept for overlap")).collect(),
        None => Vec::new(),
    };
    let ((linked, link_secs), copies) = rayon::join(
        || {
            let t = Instant::now();
            let linked = if cfg.entities().is_some() {
                let lists: Vec<&entities::DocNames> = kept.iter().map(|k| &k.names).collect();
                entities::link_names(&lists, &names)
            } else {
                entities::LinkedNames::unlinked(kept.iter().map(|k| k.names.len()))
            };
            (linked, t.elapsed().as_secs_f64())
        },
        || cfg.overlap().zip(spill).map(|(oc, spill)| overlap::copies_first(prepared, spill, oc)),
    );
    drop(names);
    if cfg.entities().is_some() {
        timer.add("link", link_secs);
    }
    let entity_of = |doc: usize, slot: Option<u32>| linked.entity_id(doc, slot?);
    let mut overlap_out = match (cfg.overlap(), copies) {
        (Some(oc), Some(copies)) => {
            let copies = copies.map_err(|e| Error::io(&spill_path, e))?;
            // The rest of what the overlap stage needs of each kept document; its names are
            // freed document by document as they are taken apart.
            let mut entity_ids =
                overlap::DocEntities::new(linked.entities.iter().map(|e| e.entity_id.as_str()).collect());
            for (i, k) in std::mem::take(&mut kept).into_iter().enumerate() {
                entity_ids.push_doc(
                    k.names
                        .iter()
                        .enumerate()
                        .filter(|(_, n)| n.1.is_name())
                        .filter_map(|(slot, n)| Some((linked.entity_index(i, slot as u32)?, n.2))),
                );
            }
            let oq: Vec<SpilledQuote> = kept_quotes
                .iter()
                .map(|q| SpilledQuote {
                    doc: q.doc as usize,
                    story_key: q.story_key,
                    speaker_entity_id: entity_of(q.doc as usize, q.speaker),
                })
                .collect();
            let o = overlap::finish_spilled(copies, &entity_ids, &oq, oc).map_err(|e| Error::io(&spill_path, e))?;
            // Since the copy tier began, beside the linking.
            timer.lap("overlap");
            o
        }
        _ => {
            timer.at = Instant::now();
            overlap::OverlapOutput::default()
        }
    };
    // Each kept quote's cluster, by (document, quote) in ascending order (the order quotes
    // were kept in), for the quotes table.
    let cluster_of: Vec<((u32, u32), u32)> = kept_quotes
        .iter()
        .zip(std::mem::take(&mut overlap_out.quote_cluster_of))
        .filter_map(|(q, c)| Some(((q.doc, q.quote), c?)))
        .collect();
    debug_assert!(cluster_of.windows(2).all(|w| w[0].0 < w[1].0));
    drop(kept_quotes);
    drop(kept);
    crate::lock::fault_point("extract");

    // Second pass: the tables, written while the cached chunks are read back in input order.
    let staging = out_dir.join(format!(".staging-{run_id}"));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    let sources = Sources { linked: &linked, overlap: &overlap_out, cluster_of: &cluster_of, run_id: &run_id };
    let tables = write_tables(&cfg, &cache, &keys, &staging, &sources, &rejects)?;
    if tables.get("documents").copied() != Some(n_docs as u64) {
        return Err(Error::Schema(format!(
            "documents: wrote {} rows for {n_docs} documents read",
            tables.get("documents").copied().unwrap_or(0)
        )));
    }
    write::verify_staging(&staging, &tables, cfg.output.format)?;
    crate::lock::fault_point("write");
    write::commit_staging(&staging, &out_dir)?;
    // A CSV-only or Parquet-only run removes the other format's stale copy of older runs, once
    // the new tables are in place (before that, the old ones are what readers have).
    match cfg.output.format {
        Format::Parquet => remove_if_exists(&out_dir.join("csv"))?,
        Format::Csv => {
            for t in schema::TABLES {
                remove_if_exists(&out_dir.join(t.name))?;
            }
        }
        Format::Both => {}
    }
    timer.lap("write");
    let used_keys = keys;

    let mut rejected_by_reason = BTreeMap::new();
    for r in &rejects {
        *rejected_by_reason.entry(r.reason.as_str().to_string()).or_insert(0u64) += 1;
    }
    let summary = RunSummary {
        run_id: run_id.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        schema_version: schema::SCHEMA_VERSION,
        pipeline: cfg.name.clone(),
        started_at,
        records: (n_docs + rejects.len()) as u64,
        documents: n_docs as u64,
        rejected: rejects.len() as u64,
        rejected_by_reason,
        tables,
        stage_seconds: timer.stages,
        input_text_bytes,
        inputs,
        output: out_dir.to_string_lossy().into_owned(),
        config: cfg,
        extracted_documents,
        nothing_new: false,
    };
    let runs = out_dir.join("_runs");
    fs::create_dir_all(&runs).map_err(|e| Error::io(&runs, e))?;
    let manifest = runs.join(format!("{run_id}.json"));
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Schema(e.to_string()))?;
    let tmp = runs.join(format!(".{run_id}.json.tmp"));
    fs::write(&tmp, json).map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, &manifest).map_err(|e| Error::io(&manifest, e))?;
    // The state is written last: a run killed before this point is simply redone next time.
    let state = State {
        version: env!("CARGO_PKG_VERSION").to_string(),
        config_hash,
        run_id: run_id.clone(),
        inputs: stats,
        summary_file: format!("{run_id}.json"),
    };
    let tmp = out_dir.join("._state.json.tmp");
    fs::write(&tmp, serde_json::to_string_pretty(&state).map_err(|e| Error::Schema(e.to_string()))?)
        .map_err(|e| Error::io(&tmp, e))?;
    fs::rename(&tmp, &state_path).map_err(|e| Error::io(&state_path, e))?;
    cache.retain(&used_keys);
    Ok(summary)
}

fn remove_if_exists(p: &Path) -> Result<(), Error> {
    if p.exists() {
        fs::remove_dir_all(p).map_err(|e| Error::io(p, e))?;
    }
    Ok(())
}

/// The whole-run results the second pass writes beside each document.
struct Sources<'a> {
    linked: &'a entities::LinkedNames,
    overlap: &'a overlap::OverlapOutput,
    /// Each quote's cluster (an index into the overlap's quote clusters), by (document,
    /// quote), ascending.
    cluster_of: &'a [((u32, u32), u32)],
    run_id: &'a str,
}

impl<'a> Sources<'a> {
    /// The cluster id of document `doc`'s quote `quote`, if it has one.
    fn quote_cluster_id(&self, doc: usize, quote: usize) -> Option<&'a str> {
        let key = (u32::try_from(doc).ok()?, u32::try_from(quote).ok()?);
        let k = self.cluster_of.binary_search_by_key(&key, |x| x.0).ok()?;
        Some(self.overlap.quote_clusters.get(self.cluster_of[k].1 as usize)?.quote_cluster_id.as_str())
    }
}

/// Documents whose whole-run columns the writer's helper thread may work out ahead of the rows
/// being written.
const ROWS_AHEAD: usize = 512;

/// What one document's mention rows add to the mention itself.
struct MentionCols<'a> {
    start: usize,
    end: usize,
    entity_id: Option<&'a str>,
}

/// One document's mention and quote columns, or why its rows cannot be written.
type DocCols<'a> = Result<(Vec<MentionCols<'a>>, Vec<QuoteCols<'a>>), Error>;

/// A span's code-point offsets.
type CharSpan = Option<(usize, usize)>;

/// What one document's quote rows add to the quote itself.
struct QuoteCols<'a> {
    quote_id: String,
    content: (usize, usize),
    speaker: CharSpan,
    cue: CharSpan,
    speaker_entity_id: Option<&'a str>,
    speaker_name: Option<&'a str>,
    quote_cluster_id: Option<&'a str>,
}

/// Writes the eight tables into `staging`, reading the documents back from the cache chunk by
/// chunk (the per-document tables stream; the whole-run ones are small). Returns the row
/// count of each table.
fn write_tables(
    cfg: &PipelineConfig,
    cache: &ExtractCache,
    keys: &[String],
    staging: &Path,
    src: &Sources,
    rejects: &[Reject],
) -> Result<BTreeMap<String, u64>, Error> {
    let format = cfg.output.format;
    let mut documents = TableWriter::create(&schema::DOCUMENTS, staging, format)?;
    let mut mentions = TableWriter::create(&schema::MENTIONS, staging, format)?;
    let mut quotes = TableWriter::create(&schema::QUOTES, staging, format)?;
    let names: HashMap<&str, &str> = src.linked.entities.iter().map(|e| (e.entity_id.as_str(), e.name.as_str())).collect();
    // The whole-run columns (offsets, entity ids, clusters) of each document are worked out
    // on a helper thread while this one puts the rows before them into the tables, in order;
    // the tables encode full row groups on the pool. One thread does both when the run is
    // held to one.
    let helper = rayon::current_num_threads() >= 2;
    let mut base = 0usize;
    let mut per_doc = |chunks: &mut dyn Iterator<Item = Result<Chunk, Error>>| -> Result<(), Error> {
        for chunk in chunks {
            let chunk = chunk?;
            // A chunk's documents, mentions and quotes go together (zipped, as the cache
            // holds them: a damaged entry cannot make one list outrun the others).
            let docs: Vec<_> = chunk.docs.iter().zip(&chunk.mentions).zip(&chunk.quotes).collect();
            let first = base;
            base += docs.len();
            let cols_of = |k: usize, ((d, m), q): &((&Document, &Vec<Mention>), &Vec<Quote>)| doc_cols(d, m, q, first + k, src, &names);
            let mut push = |((d, m), q): &((&Document, &Vec<Mention>), &Vec<Quote>), cols: DocCols| -> Result<(), Error> {
                let (mcols, qcols) = cols?;
                push_doc_rows(d, m, q, &mcols, &qcols, src.run_id, [&mut documents, &mut mentions, &mut quotes])
            };
            if !helper {
                for (k, row) in docs.iter().enumerate() {
                    push(row, cols_of(k, row))?;
                }
                continue;
            }
            std::thread::scope(|s| -> Result<(), Error> {
                let cols_of = &cols_of;
                let (cols, _) = ahead(s, ROWS_AHEAD, docs.iter().enumerate().map(|(k, row)| cols_of(k, row)));
                for (row, cols) in docs.iter().zip(cols) {
                    push(row, cols)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    };
    // With two threads or more, the cached chunks are read back (decompressed, decoded) on a
    // thread of their own, one chunk ahead, and the run-wide tables are filled on another
    // meanwhile.
    let [entities, quote_clusters, duplicates, stories, rejects_t] = if helper {
        std::thread::scope(|s| -> Result<[TableWriter; 5], Error> {
            let run_wide = s.spawn(|| run_wide_tables(staging, format, src, rejects));
            let (chunks, _) = ahead(s, 1, cached_chunks(cache, keys));
            per_doc(&mut chunks.into_iter())?;
            run_wide.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        })?
    } else {
        per_doc(&mut cached_chunks(cache, keys))?;
        run_wide_tables(staging, format, src, rejects)?
    };
    let mut tables = [documents, mentions, entities, quotes, quote_clusters, duplicates, stories, rejects_t];
    for t in &mut tables {
        t.flush()?;
    }
    let mut counts = BTreeMap::new();
    for t in tables {
        let name = t.def().name.to_string();
        counts.insert(name, t.finish()?);
    }
    Ok(counts)
}

/// Every chunk of the cache entries `keys`, in order, up to and including the first error (an
/// entry that cannot be opened gives one in its place).
fn cached_chunks<'a>(cache: &'a ExtractCache, keys: &'a [String]) -> impl Iterator<Item = Result<Chunk, Error>> + 'a {
    keys.iter()
        .flat_map(move |key| {
            let (chunks, failed) = match cache.chunks(key) {
                Ok(chunks) => (Some(chunks), None),
                Err(e) => (None, Some(Err(e))),
            };
            failed.into_iter().chain(chunks.into_iter().flatten())
        })
        .scan(false, |failed, c| {
            (!*failed).then(|| {
                *failed = c.is_err();
                c
            })
        })
}

/// Sends what `items` yields from a thread of `scope`, at most `bound` items ahead of the
/// receiver. The thread ends when `items` does, or when the receiver is dropped (its reader
/// stopped, on an error), and gives `items` back.
fn ahead<'scope, I>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    bound: usize,
    mut items: I,
) -> (std::sync::mpsc::Receiver<I::Item>, std::thread::ScopedJoinHandle<'scope, I>)
where
    I: Iterator + Send + 'scope,
    I::Item: Send + 'scope,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(bound);
    let thread = scope.spawn(move || {
        for x in items.by_ref() {
            if tx.send(x).is_err() {
                break;
            }
        }
        items
    });
    (rx, thread)
}

/// An iterator that adds up the seconds spent in its `next`.
struct Timed<I> {
    items: I,
    secs: f64,
}

impl<I: Iterator> Iterator for Timed<I> {
    type Item = I::Item;

    fn next(&mut self) -> Option<I::Item> {
        let t = Instant::now();
        let next = self.items.next();
        self.secs += t.elapsed().as_secs_f64();
        next
    }
}

/// The tables of whole-run results: entities, quote clusters, duplicates, stories, rejects.
fn run_wide_tables(staging: &Path, format: Format, src: &Sources, rejects: &[Reject]) -> Result<[TableWriter; 5], Error> {
    let mut entities = TableWriter::create(&schema::ENTITIES, staging, format)?;
    for e in &src.linked.entities {
        entities.push(&[
            e.entity_id.as_str().into(),
            e.label.as_str().into(),
            e.name.as_str().into(),
            (&e.aliases).into(),
            e.n_mentions.into(),
            e.n_documents.into(),
        ])?;
    }
    let mut quote_clusters = TableWriter::create(&schema::QUOTE_CLUSTERS, staging, format)?;
    for c in &src.overlap.quote_clusters {
        quote_clusters.push(&[
            c.quote_cluster_id.as_str().into(),
            c.text.as_str().into(),
            c.speaker_entity_id.as_deref().into(),
            c.n_documents.into(),
            c.first_doc_id.as_str().into(),
        ])?;
    }
    let mut duplicates = TableWriter::create(&schema::DUPLICATES, staging, format)?;
    for r in &src.overlap.duplicates {
        duplicates.push(&[
            r.doc_id.as_str().into(),
            r.dup_cluster_id.as_str().into(),
            r.is_canonical.into(),
            r.similarity.into(),
            r.relation.as_str().into(),
            r.story_id.as_str().into(),
        ])?;
    }
    let mut stories = TableWriter::create(&schema::STORIES, staging, format)?;
    for s in &src.overlap.stories {
        stories.push(&[
            s.story_id.as_str().into(),
            s.n_documents.into(),
            s.representative_doc_id.as_str().into(),
            s.title.as_deref().into(),
            (&s.top_entities).into(),
        ])?;
    }
    let mut rejects_t = TableWriter::create(&schema::REJECTS, staging, format)?;
    for r in rejects {
        rejects_t.push(&[
            r.source_file.as_str().into(),
            (r.source_record as i64).into(),
            r.reason.as_str().into(),
            r.detail.as_str().into(),
            src.run_id.into(),
        ])?;
    }
    Ok([entities, quote_clusters, duplicates, stories, rejects_t])
}

/// The whole-run columns of one document's mention and quote rows (the document is the
/// `di`-th of the run): code-point offsets, entity ids, speakers and quote clusters. Spans
/// outside the text are refused here, before any row is written.
fn doc_cols<'a>(
    d: &Document,
    ms: &[Mention],
    qs: &[Quote],
    di: usize,
    src: &Sources<'a>,
    names: &HashMap<&'a str, &'a str>,
) -> DocCols<'a> {
    let text = d.text.as_str();
    let fits = |s: crate::record::Span| s.end <= text.len() && text.is_char_boundary(s.start) && text.is_char_boundary(s.end);
    let ix = CharIndex::new(text);
    let (_, slots) = entities::local_names(text, ms);
    let entity_of = |mi: usize| -> Option<&'a str> {
        let slot = slots.get(mi).copied().flatten()?;
        src.linked.entity_id(di, slot)
    };
    let mut mcols = Vec::with_capacity(ms.len());
    for (mi, m) in ms.iter().enumerate() {
        if !fits(m.span) {
            return Err(Error::Schema(format!("mention span {:?} outside document {}", m.span, d.doc_id)));
        }
        mcols.push(MentionCols { start: ix.char_of(m.span.start), end: ix.char_of(m.span.end), entity_id: entity_of(mi) });
    }
    let mut qcols = Vec::with_capacity(qs.len());
    for (qi, q) in qs.iter().enumerate() {
        for s in [Some(q.content), q.cue, q.speaker].into_iter().flatten() {
            if !fits(s) {
                return Err(Error::Schema(format!("quote span {s:?} outside document {}", d.doc_id)));
            }
        }
        let speaker_entity_id = q.speaker_mention.and_then(entity_of);
        let chars = |s: crate::record::Span| (ix.char_of(s.start), ix.char_of(s.end));
        qcols.push(QuoteCols {
            quote_id: hex_id(xxh3_64(format!("{}\u{1f}{}\u{1f}{}\u{1f}{}", d.doc_id, q.kind.as_str(), q.content.start, q.content.end).as_bytes())),
            content: chars(q.content),
            speaker: q.speaker.map(chars),
            cue: q.cue.map(chars),
            speaker_entity_id,
            speaker_name: speaker_entity_id.and_then(|e| names.get(e).copied()),
            quote_cluster_id: src.quote_cluster_id(di, qi),
        });
    }
    Ok((mcols, qcols))
}

/// Pushes one document's rows into the `documents`, `mentions` and `quotes` tables.
fn push_doc_rows(
    d: &Document,
    ms: &[Mention],
    qs: &[Quote],
    mcols: &[MentionCols],
    qcols: &[QuoteCols],
    run_id: &str,
    [documents, mentions, quotes]: [&mut TableWriter; 3],
) -> Result<(), Error> {
    let text = d.text.as_str();
    for (m, c) in ms.iter().zip(mcols) {
        mentions.push(&[
            d.doc_id.as_str().into(),
            c.start.into(),
            c.end.into(),
            m.span.slice(text).into(),
            m.label.as_str().into(),
            c.entity_id.into(),
            m.title.as_deref().into(),
            m.method.as_str().into(),
            m.score.into(),
        ])?;
    }
    let span_cols = |s: Option<crate::record::Span>, at: CharSpan| -> [Cell; 3] {
        match (s, at) {
            (Some(s), Some((a, b))) => [s.slice(text).into(), a.into(), b.into()],
            _ => [Cell::Null, Cell::Null, Cell::Null],
        }
    };
    for (q, c) in qs.iter().zip(qcols) {
        let [sp_text, sp_start, sp_end] = span_cols(q.speaker, c.speaker);
        let [cue_text, cue_start, cue_end] = span_cols(q.cue, c.cue);
        quotes.push(&[
            c.quote_id.as_str().into(),
            d.doc_id.as_str().into(),
            q.kind.as_str().into(),
            q.content.slice(text).into(),
            c.content.0.into(),
            c.content.1.into(),
            sp_text,
            sp_start,
            sp_end,
            c.speaker_entity_id.into(),
            c.speaker_name.into(),
            cue_text,
            cue_start,
            cue_end,
            c.quote_cluster_id.into(),
            q.confidence.into(),
        ])?;
    }
    documents.push(&[
        d.doc_id.as_str().into(),
        d.source_file.as_str().into(),
        (d.source_record as i64).into(),
        d.source_id.as_deref().into(),
        d.url.as_deref().into(),
        d.outlet.as_deref().into(),
        d.section.as_deref().into(),
        d.title.as_deref().into(),
        d.byline.as_deref().into(),
        d.dateline.as_deref().into(),
        d.published_at.into(),
        d.language.as_deref().into(),
        d.encoding.as_str().into(),
        text.into(),
        d.n_chars.into(),
        d.n_words.into(),
        d.content_hash.as_str().into(),
        run_id.into(),
    ])
}
