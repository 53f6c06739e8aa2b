//! newsmill: a batch processor for news reports.
//!
//! The flow: discover -> read -> normalize -> extract (entities, quotes) -> link -> overlap ->
//! write. Per-document stages are pure functions run under rayon; whole-run stages (link,
//! overlap) see every document of the run. `run::run` drives it; `schema` declares the
//! tables; `write` is the only place bytes become code-point offsets.
#![warn(missing_docs)]

pub mod cli;
pub mod config;
mod crf;
pub mod entities;
pub mod error;
pub mod ingest;
pub mod lock;
pub mod mem;
pub mod normalize;
pub mod overlap;
pub mod quotes;
pub mod record;
pub mod run;
pub mod schema;
pub mod write;
