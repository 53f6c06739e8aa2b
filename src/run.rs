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
use crate::overlap::{self, OverlapDoc, OverlapQuote};
use crate::quotes::QuoteExtractor;
use crate::record::{Mention, Quote, QuoteKind};
use crate::schema;
use crate::write::{self, CharIndex, Format, TableBuilder, Value};

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
    fn lap(&mut self, stage: &str) {
        let now = Instant::now();
        let secs = (now - self.at).as_secs_f64();
        tracing::info!(stage, seconds = secs, "stage done");
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

/// What one input file yielded: its documents with their extractions, and its refusals.
#[derive(Debug, Default, Serialize, serde::Deserialize)]
struct CacheEntry {
    docs: Vec<Document>,
    mentions: Vec<Vec<Mention>>,
    quotes: Vec<Vec<Quote>>,
    rejects: Vec<Reject>,
    text_bytes: u64,
}

/// `<output>/_state/cache/`: per input file, what the per-document stages produced, keyed by
/// the file's path and content, the extraction settings, the version and the model files. A
/// rerun after new files arrive extracts only the new ones; the whole-run stages (linking,
/// overlap) still see every document.
struct ExtractCache {
    dir: PathBuf,
    salt: String,
}

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

    fn load(&self, key: &str) -> Option<CacheEntry> {
        let f = fs::File::open(self.dir.join(format!("{key}.json.zst"))).ok()?;
        let r = zstd::stream::read::Decoder::new(f).ok()?;
        serde_json::from_reader(std::io::BufReader::new(r)).ok()
    }

    /// Best effort: a cache that cannot be written only costs the next run some work.
    fn store(&self, key: &str, e: &CacheEntry) {
        let write = || -> std::io::Result<()> {
            fs::create_dir_all(&self.dir)?;
            let tmp = self.dir.join(format!(".{key}.tmp"));
            let f = fs::File::create(&tmp)?;
            let mut z = zstd::stream::write::Encoder::new(std::io::BufWriter::new(f), 1)?;
            serde_json::to_writer(&mut z, e)?;
            z.finish()?;
            fs::rename(&tmp, self.dir.join(format!("{key}.json.zst")))
        };
        if let Err(err) = write() {
            tracing::warn!(error = %err, "could not write the extraction cache");
        }
    }

    /// Drops entries no longer used by the committed run (inputs removed or changed).
    fn retain(&self, keys: &[String]) {
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        for e in entries.filter_map(|e| e.ok()) {
            let name = e.file_name().to_string_lossy().into_owned();
            let key = name.strip_suffix(".json.zst").unwrap_or(&name);
            if !keys.iter().any(|k| k == key) {
                let _ = fs::remove_file(e.path());
            }
        }
    }
}

/// Everything extracted from a run's documents, before it becomes tables.
pub struct Extracted {
    /// Per document, its mentions.
    pub mentions: Vec<Vec<Mention>>,
    /// Per document, its quotes.
    pub quotes: Vec<Vec<Quote>>,
    /// The linking result.
    pub linked: entities::Linked,
    /// The overlap result.
    pub overlap: overlap::OverlapOutput,
    /// Quote positions (doc, quote) handed to the overlap stage, parallel to
    /// `overlap.quote_cluster_of`.
    pub overlap_quotes: Vec<(usize, usize)>,
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
    let pb = progress.bar("hash", files.len() as u64);
    let hashed: Vec<(InputFile, String, Option<CacheEntry>)> = files
        .par_iter()
        .map(|p| {
            let (size, content_hash) = hash_file(p);
            let path = p.to_string_lossy().into_owned();
            let key = cache.key(&path, &content_hash);
            let hit = if opts.full { None } else { cache.load(&key) };
            pb.inc(1);
            (InputFile { path, size, content_hash }, key, hit)
        })
        .collect();
    pb.finish_and_clear();
    let run_id = {
        let mut key = format!("{}\n{}\n", env!("CARGO_PKG_VERSION"), serde_json::to_string(&cfg).unwrap_or_default());
        for (f, _, _) in &hashed {
            key.push_str(&format!("{}\t{}\n", f.path, f.content_hash));
        }
        hex_id(xxh3_64(key.as_bytes()))
    };
    let fresh: Vec<usize> = (0..hashed.len()).filter(|&i| hashed[i].2.is_none()).collect();
    tracing::info!(files = hashed.len(), cached = hashed.len() - fresh.len(), "inputs hashed");
    timer.lap("hash");

    let pb = progress.bar("read", fresh.len() as u64);
    let read: Vec<(Vec<RawRecord>, Vec<Reject>)> = fresh
        .par_iter()
        .map(|&i| {
            let r = ingest::read_file(&files[i], &cfg.input);
            pb.inc(1);
            r
        })
        .collect();
    pb.finish_and_clear();
    // Every fresh record remembers which input it came from.
    let mut raws: Vec<(usize, RawRecord)> = Vec::new();
    let mut fresh_entries: BTreeMap<usize, CacheEntry> = BTreeMap::new();
    for (&i, (recs, rej)) in fresh.iter().zip(read) {
        let e = fresh_entries.entry(i).or_default();
        e.text_bytes = recs.iter().map(|r| r.text.len() as u64).sum();
        e.rejects = rej;
        raws.extend(recs.into_iter().map(|r| (i, r)));
    }
    timer.lap("read");

    let default_norm = NormalizeConfig { lift_header: false, lift_boilerplate: false };
    let norm_cfg = cfg.normalize().unwrap_or(&default_norm);
    let pb = progress.bar("normalize", raws.len() as u64);
    let normalized: Vec<(usize, Result<Document, Reject>)> = raws
        .into_par_iter()
        .map(|(i, r)| {
            let d = normalize::normalize(r, norm_cfg);
            pb.inc(1);
            (i, d)
        })
        .collect();
    pb.finish_and_clear();
    let mut new_docs = Vec::with_capacity(normalized.len());
    let mut new_doc_file = Vec::with_capacity(normalized.len());
    for (i, d) in normalized {
        match d {
            Ok(d) => {
                new_docs.push(d);
                new_doc_file.push(i);
            }
            Err(r) => fresh_entries.entry(i).or_default().rejects.push(r),
        }
    }
    timer.lap("normalize");

    let (new_mentions, new_quotes) = extract_docs(&cfg, &new_docs, &progress, &mut timer)?;
    for ((d, m), (q, i)) in new_docs.into_iter().zip(new_mentions).zip(new_quotes.into_iter().zip(new_doc_file)) {
        let e = fresh_entries.entry(i).or_default();
        e.docs.push(d);
        e.mentions.push(m);
        e.quotes.push(q);
    }
    let extracted_documents: u64 = fresh_entries.values().map(|e| e.docs.len() as u64).sum();
    for (&i, e) in &fresh_entries {
        cache.store(&hashed[i].1, e);
    }
    timer.lap("cache");

    // Assemble the whole run in input order.
    let mut inputs = Vec::with_capacity(hashed.len());
    let mut docs = Vec::new();
    let mut mentions = Vec::new();
    let mut quotes = Vec::new();
    let mut rejects = Vec::new();
    let mut input_text_bytes = 0;
    let mut used_keys = Vec::with_capacity(hashed.len());
    for (i, (f, key, hit)) in hashed.into_iter().enumerate() {
        let e = match hit {
            Some(e) => e,
            None => fresh_entries.remove(&i).unwrap_or_default(),
        };
        inputs.push(f);
        used_keys.push(key);
        input_text_bytes += e.text_bytes;
        docs.extend(e.docs);
        mentions.extend(e.mentions);
        quotes.extend(e.quotes);
        rejects.extend(e.rejects);
    }
    rejects.sort_by(|a, b| (&a.source_file, a.source_record).cmp(&(&b.source_file, b.source_record)));

    let extracted = link_and_overlap(&cfg, &docs, mentions, quotes, &mut timer);
    crate::lock::fault_point("extract");
    let n_docs = docs.len();
    let tables = build_tables(&mut docs, &rejects, &extracted, &run_id)?;
    drop(docs);
    let staging = out_dir.join(format!(".staging-{run_id}"));
    if staging.exists() {
        fs::remove_dir_all(&staging).map_err(|e| Error::io(&staging, e))?;
    }
    write::write_tables(&tables, &staging, cfg.output.format)?;
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
        tables: tables.iter().map(|t| (t.def().name.to_string(), t.len() as u64)).collect(),
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

/// Per-document extraction (entities, then quotes) over `docs`, in parallel.
#[allow(clippy::type_complexity)]
fn extract_docs(
    cfg: &PipelineConfig,
    docs: &[Document],
    progress: &Progress,
    timer: &mut Timer,
) -> Result<(Vec<Vec<Mention>>, Vec<Vec<Quote>>), Error> {
    let mentions: Vec<Vec<Mention>> = match cfg.entities() {
        Some(ec) => {
            let rec = Recognizer::load(Path::new(&ec.models))
                .map_err(|e| Error::Load { what: format!("entity model from {}", ec.models), detail: format!("{e:#}") })?;
            let pb = progress.bar("entities", docs.len() as u64);
            let m = docs
                .par_iter()
                .map(|d| {
                    let m = rec.extract(&d.text);
                    pb.inc(1);
                    m
                })
                .collect();
            pb.finish_and_clear();
            timer.lap("entities");
            m
        }
        None => vec![Vec::new(); docs.len()],
    };
    let quotes: Vec<Vec<Quote>> = match cfg.quotes() {
        Some(qc) => {
            let qx = QuoteExtractor::load(Path::new(&qc.models), qc)
                .map_err(|e| Error::Load { what: format!("quote model from {}", qc.models), detail: format!("{e:#}") })?;
            let pb = progress.bar("quotes", docs.len() as u64);
            let q = docs
                .par_iter()
                .zip(mentions.par_iter())
                .map(|(d, m)| {
                    let q = qx.extract(&d.text, m);
                    pb.inc(1);
                    q
                })
                .collect();
            pb.finish_and_clear();
            timer.lap("quotes");
            q
        }
        None => vec![Vec::new(); docs.len()],
    };
    Ok((mentions, quotes))
}

/// The whole-run stages: linking mentions into entities, then overlap across documents.
fn link_and_overlap(
    cfg: &PipelineConfig,
    docs: &[Document],
    mentions: Vec<Vec<Mention>>,
    quotes: Vec<Vec<Quote>>,
    timer: &mut Timer,
) -> Extracted {
    let linked = if cfg.entities().is_some() {
        let input: Vec<(&str, &[Mention])> = docs.iter().zip(&mentions).map(|(d, m)| (d.text.as_str(), m.as_slice())).collect();
        let l = entities::link(&input);
        timer.lap("link");
        l
    } else {
        entities::Linked { mention_entity: mentions.iter().map(|m| vec![None; m.len()]).collect(), entities: Vec::new() }
    };
    let mut overlap_quotes = Vec::new();
    let overlap = match cfg.overlap() {
        Some(oc) => {
            let odocs: Vec<OverlapDoc> = docs
                .iter()
                .enumerate()
                .map(|(i, d)| OverlapDoc {
                    doc_id: &d.doc_id,
                    text: &d.text,
                    title: d.title.as_deref(),
                    published_at: d.published_at,
                    entity_ids: mentions[i]
                        .iter()
                        .zip(&linked.mention_entity[i])
                        .filter(|(m, _)| m.label.is_name())
                        .filter_map(|(_, e)| e.as_deref())
                        .collect(),
                })
                .collect();
            let mut oq = Vec::new();
            for (di, qs) in quotes.iter().enumerate() {
                for (qi, q) in qs.iter().enumerate() {
                    if matches!(q.kind, QuoteKind::Direct | QuoteKind::Partial) {
                        let speaker = q.speaker_mention.and_then(|m| linked.mention_entity[di].get(m)).and_then(|e| e.as_deref());
                        oq.push(OverlapQuote { doc: di, text: q.content.slice(&docs[di].text), speaker_entity_id: speaker });
                        overlap_quotes.push((di, qi));
                    }
                }
            }
            let o = overlap::run(&odocs, &oq, oc);
            timer.lap("overlap");
            o
        }
        None => overlap::OverlapOutput::default(),
    };
    Extracted { mentions, quotes, linked, overlap, overlap_quotes }
}

/// Turns documents, rejects and extraction results into the eight tables.
/// Each document's text is moved into its row (not copied): `docs` keep empty texts afterwards.
pub fn build_tables(docs: &mut [Document], rejects: &[Reject], x: &Extracted, run_id: &str) -> Result<Vec<TableBuilder>, Error> {
    let mut documents = TableBuilder::new(&schema::DOCUMENTS);
    let mut mentions = TableBuilder::new(&schema::MENTIONS);
    let mut entities = TableBuilder::new(&schema::ENTITIES);
    let mut quotes = TableBuilder::new(&schema::QUOTES);
    let mut quote_clusters = TableBuilder::new(&schema::QUOTE_CLUSTERS);
    let mut duplicates = TableBuilder::new(&schema::DUPLICATES);
    let mut stories = TableBuilder::new(&schema::STORIES);
    let mut rejects_t = TableBuilder::new(&schema::REJECTS);

    let names: HashMap<&str, &str> = x.linked.entities.iter().map(|e| (e.entity_id.as_str(), e.name.as_str())).collect();
    let mut cluster_of: HashMap<(usize, usize), &str> = HashMap::new();
    for (pos, c) in x.overlap_quotes.iter().zip(&x.overlap.quote_cluster_of) {
        if let Some(c) = c {
            cluster_of.insert(*pos, c.as_str());
        }
    }
    for (di, d) in docs.iter_mut().enumerate() {
        let ix = CharIndex::new(&d.text);
        let ents = x.linked.mention_entity.get(di);
        for (mi, m) in x.mentions[di].iter().enumerate() {
            if m.span.end > d.text.len() || !d.text.is_char_boundary(m.span.start) || !d.text.is_char_boundary(m.span.end) {
                return Err(Error::Schema(format!("mention span {:?} outside document {}", m.span, d.doc_id)));
            }
            let eid = ents.and_then(|e| e.get(mi)).cloned().flatten();
            mentions.push(vec![
                d.doc_id.clone().into(),
                ix.char_of(m.span.start).into(),
                ix.char_of(m.span.end).into(),
                m.span.slice(&d.text).into(),
                m.label.as_str().into(),
                eid.into(),
                m.title.clone().into(),
                m.method.as_str().into(),
                m.score.into(),
            ])?;
        }
        for (qi, q) in x.quotes[di].iter().enumerate() {
            for s in [Some(q.content), q.cue, q.speaker].into_iter().flatten() {
                if s.end > d.text.len() || !d.text.is_char_boundary(s.start) || !d.text.is_char_boundary(s.end) {
                    return Err(Error::Schema(format!("quote span {s:?} outside document {}", d.doc_id)));
                }
            }
            let speaker_eid = q.speaker_mention.and_then(|m| ents.and_then(|e| e.get(m)).cloned().flatten());
            let speaker_name = speaker_eid.as_deref().and_then(|e| names.get(e)).map(|s| s.to_string());
            let qid = hex_id(xxh3_64(format!("{}\u{1f}{}\u{1f}{}\u{1f}{}", d.doc_id, q.kind.as_str(), q.content.start, q.content.end).as_bytes()));
            let span_cols = |s: Option<crate::record::Span>| -> [Value; 3] {
                match s {
                    Some(s) => [s.slice(&d.text).into(), ix.char_of(s.start).into(), ix.char_of(s.end).into()],
                    None => [Value::Null, Value::Null, Value::Null],
                }
            };
            let [sp_text, sp_start, sp_end] = span_cols(q.speaker);
            let [cue_text, cue_start, cue_end] = span_cols(q.cue);
            quotes.push(vec![
                qid.into(),
                d.doc_id.clone().into(),
                q.kind.as_str().into(),
                q.content.slice(&d.text).into(),
                ix.char_of(q.content.start).into(),
                ix.char_of(q.content.end).into(),
                sp_text,
                sp_start,
                sp_end,
                speaker_eid.into(),
                speaker_name.into(),
                cue_text,
                cue_start,
                cue_end,
                cluster_of.get(&(di, qi)).map(|s| s.to_string()).into(),
                q.confidence.into(),
            ])?;
        }
        documents.push(vec![
            d.doc_id.clone().into(),
            d.source_file.clone().into(),
            (d.source_record as i64).into(),
            d.source_id.clone().into(),
            d.url.clone().into(),
            d.outlet.clone().into(),
            d.section.clone().into(),
            d.title.clone().into(),
            d.byline.clone().into(),
            d.dateline.clone().into(),
            d.published_at.into(),
            d.language.clone().into(),
            d.encoding.clone().into(),
            std::mem::take(&mut d.text).into(),
            d.n_chars.into(),
            d.n_words.into(),
            d.content_hash.clone().into(),
            run_id.into(),
        ])?;
    }
    for e in &x.linked.entities {
        entities.push(vec![
            e.entity_id.clone().into(),
            e.label.as_str().into(),
            e.name.clone().into(),
            e.aliases.clone().into(),
            e.n_mentions.into(),
            e.n_documents.into(),
        ])?;
    }
    for c in &x.overlap.quote_clusters {
        quote_clusters.push(vec![
            c.quote_cluster_id.clone().into(),
            c.text.clone().into(),
            c.speaker_entity_id.clone().into(),
            c.n_documents.into(),
            c.first_doc_id.clone().into(),
        ])?;
    }
    for r in &x.overlap.duplicates {
        duplicates.push(vec![
            r.doc_id.clone().into(),
            r.dup_cluster_id.clone().into(),
            r.is_canonical.into(),
            r.similarity.into(),
            r.relation.clone().into(),
            r.story_id.clone().into(),
        ])?;
    }
    for s in &x.overlap.stories {
        stories.push(vec![
            s.story_id.clone().into(),
            s.n_documents.into(),
            s.representative_doc_id.clone().into(),
            s.title.clone().into(),
            s.top_entities.clone().into(),
        ])?;
    }
    for r in rejects {
        rejects_t.push(vec![
            r.source_file.clone().into(),
            (r.source_record as i64).into(),
            r.reason.as_str().into(),
            r.detail.clone().into(),
            run_id.into(),
        ])?;
    }
    Ok(vec![documents, mentions, entities, quotes, quote_clusters, duplicates, stories, rejects_t])
}
