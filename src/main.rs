//! The thin binary: parse the command line, set up logging and threads, call the library,
//! map errors to exit codes (0 success, 1 failure, 2 usage or config error, 3 more refusals
//! than --max-rejects allows, 75 another run holds the output folder).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use newsmill::cli::{Cli, Command, EvalCommand, Level, LogFormat, SummaryFormat};
use newsmill::config::PipelineConfig;
use newsmill::overlap::EvalLevel;
use newsmill::run::{self, RunOptions};

/// mimalloc in place of glibc's allocator. Every stage makes small vectors and strings per
/// document on every worker thread; with glibc, malloc and free were about a tenth of a run's
/// CPU. mimalloc's per-thread free lists made the 50 MB bench run about 10% faster, and it
/// hands freed pages back to the system by itself (no `malloc_trim` between steps): the 1 GB
/// run's peak RSS went down, not up (1,844 MiB before; 1,733 and 1,774 MiB in two runs after).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match real_main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("newsmill: {e:#}");
            let code = e.downcast_ref::<newsmill::error::Error>().map_or(1, |e| e.exit_code());
            ExitCode::from(code)
        }
    }
}

fn init_logging(format: Option<LogFormat>) {
    let json = match format {
        Some(LogFormat::Json) => true,
        Some(LogFormat::Human) => false,
        None => !std::io::stderr().is_terminal(),
    };
    // NEWSMILL_LOG=debug adds per-step timings (overlap tiers, story steps).
    let filter = match std::env::var("NEWSMILL_LOG").as_deref() {
        Ok("debug") => tracing_subscriber::filter::LevelFilter::DEBUG,
        Ok("warn") => tracing_subscriber::filter::LevelFilter::WARN,
        _ => tracing_subscriber::filter::LevelFilter::INFO,
    };
    if json {
        tracing_subscriber::fmt().json().with_max_level(filter).with_writer(std::io::stderr).with_current_span(false).init();
    } else {
        tracing_subscriber::fmt().with_max_level(filter).with_writer(std::io::stderr).with_target(false).init();
    }
}

fn real_main(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Run(args) => {
            init_logging(args.log_format);
            let threads = args.threads.map(|n| n.get()).unwrap_or(0);
            rayon::ThreadPoolBuilder::new().num_threads(threads).build_global()?;
            let cfg = PipelineConfig::from_path(&args.pipeline)?;
            let opts = RunOptions {
                inputs: (!args.inputs.is_empty()).then_some(args.inputs),
                output: args.output,
                format: args.format,
                progress: args.progress,
                full: args.full,
            };
            let summary = run::run(&cfg, &opts)?;
            if std::io::stderr().is_terminal() {
                eprint!("{}", summary.human());
            } else {
                tracing::info!(
                    run_id = %summary.run_id,
                    documents = summary.documents,
                    rejected = summary.rejected,
                    rejected_by_reason = %serde_json::to_string(&summary.rejected_by_reason)?,
                    tables = %serde_json::to_string(&summary.tables)?,
                    "run committed"
                );
            }
            match args.summary {
                Some(SummaryFormat::Json) => println!("{}", serde_json::to_string_pretty(&summary)?),
                Some(SummaryFormat::Human) => print!("{}", summary.human()),
                None => {}
            }
            if args.max_rejects.is_some_and(|m| m.exceeded(&summary)) {
                tracing::warn!(rejected = summary.rejected, records = summary.records, "more refusals than --max-rejects allows");
                return Ok(ExitCode::from(3));
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Validate { pipelines } => {
            let mut bad = 0;
            for p in &pipelines {
                match PipelineConfig::from_path(p) {
                    Ok(c) => println!("{}: ok ({} stages)", p.display(), c.stages.len()),
                    Err(e) => {
                        bad += 1;
                        eprintln!("newsmill: {e}");
                    }
                }
            }
            Ok(if bad == 0 { ExitCode::SUCCESS } else { ExitCode::from(2) })
        }
        Command::Schema => {
            print!("{}", newsmill::schema::describe());
            Ok(ExitCode::SUCCESS)
        }
        Command::Eval(e) => {
            let report = match e {
                EvalCommand::Ner { conll, models, json } => newsmill::entities::eval_conll(&models, &conll, json)?,
                EvalCommand::Quotes { polnear, models, json } => newsmill::quotes::eval_polnear(&models, &polnear, json)?,
                EvalCommand::Dedup { input, text_field, gold_field, id_field, level, pipeline, models, text_only, json, predictions } => {
                    let level = match level {
                        Level::Copies => EvalLevel::Copies,
                        Level::Stories => EvalLevel::Stories,
                    };
                    let config = match pipeline {
                        Some(p) => newsmill::config::PipelineConfig::from_path(&p)?
                            .overlap()
                            .cloned()
                            .ok_or_else(|| anyhow::anyhow!("{}: the pipeline has no overlap stage", p.display()))?,
                        None => Default::default(),
                    };
                    newsmill::overlap::eval_dedup(&input, newsmill::overlap::EvalFields { text: &text_field, gold: &gold_field, id: id_field.as_deref() }, level, &config, (!text_only).then_some(models.as_path()), json, predictions.as_deref())?
                }
            };
            println!("{}", report.trim_end());
            Ok(ExitCode::SUCCESS)
        }
    }
}
