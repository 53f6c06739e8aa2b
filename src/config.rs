//! Pipeline files: what a run does. `PipelineConfig` is what the TOML says (serde,
//! unknown keys refused); `validate` reports every problem at once with stage and key.

use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::entities::EntitiesConfig;
use crate::error::Error;
use crate::overlap::OverlapConfig;
use crate::quotes::QuotesConfig;
use crate::write::Format;

/// A whole pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Name of the job.
    pub name: String,
    /// Where reports come from.
    pub input: InputConfig,
    /// The stages, in order.
    #[serde(rename = "stage", default)]
    pub stages: Vec<StageConfig>,
    /// Where tables go.
    pub output: OutputConfig,
}

/// `[input]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputConfig {
    /// Files, folders or globs, relative to the working directory.
    pub paths: Vec<String>,
    /// Field (JSONL) or column (CSV) names.
    #[serde(default)]
    pub fields: FieldMap,
    /// Records larger than this many bytes are refused (`too_large`).
    #[serde(default = "default_max_doc_bytes")]
    pub max_doc_bytes: NonZeroUsize,
}

fn default_max_doc_bytes() -> NonZeroUsize {
    NonZeroUsize::new(5_000_000).expect("nonzero")
}

/// Which JSONL field or CSV column holds what.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldMap {
    /// The report's body.
    pub text: String,
    /// Headline.
    pub title: String,
    /// URL.
    pub url: String,
    /// Publication time.
    pub published_at: String,
    /// Publisher.
    pub outlet: String,
    /// The record's own id.
    pub id: String,
}

impl Default for FieldMap {
    fn default() -> Self {
        FieldMap {
            text: "text".into(),
            title: "title".into(),
            url: "url".into(),
            published_at: "published_at".into(),
            outlet: "outlet".into(),
            id: "id".into(),
        }
    }
}

/// One `[[stage]]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StageConfig {
    /// Unicode and whitespace normalization, lifting headline, dateline and boilerplate.
    Normalize(NormalizeConfig),
    /// Entity mentions, then linking into canonical entities.
    ExtractEntities(EntitiesConfig),
    /// Quotations with speakers.
    ExtractQuotes(QuotesConfig),
    /// Copies, stories and quote clusters across the run.
    Overlap(OverlapConfig),
}

impl StageConfig {
    /// The stage's `type` as written in the file.
    pub fn kind(&self) -> &'static str {
        match self {
            StageConfig::Normalize(_) => "normalize",
            StageConfig::ExtractEntities(_) => "extract_entities",
            StageConfig::ExtractQuotes(_) => "extract_quotes",
            StageConfig::Overlap(_) => "overlap",
        }
    }

    fn order(&self) -> u8 {
        match self {
            StageConfig::Normalize(_) => 0,
            StageConfig::ExtractEntities(_) => 1,
            StageConfig::ExtractQuotes(_) => 2,
            StageConfig::Overlap(_) => 3,
        }
    }
}

/// `[[stage]] type = "normalize"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Lift a headline line, a section label and a dateline out of the body.
    pub lift_header: bool,
    /// Lift copyright and author-contact lines out of the body.
    pub lift_boilerplate: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        NormalizeConfig { lift_header: true, lift_boilerplate: true }
    }
}

/// `[output]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// Output folder.
    pub dir: String,
    /// parquet, csv or both.
    #[serde(default = "default_format")]
    pub format: Format,
}

fn default_format() -> Format {
    Format::Both
}

impl PipelineConfig {
    /// Reads, parses and validates a pipeline file.
    pub fn from_path(path: &Path) -> Result<PipelineConfig, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::ParsePipeline {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let cfg: PipelineConfig = toml::from_str(&text).map_err(|e| Error::ParsePipeline {
            path: path.to_path_buf(),
            detail: e.to_string(),
        })?;
        let problems = cfg.validate();
        if problems.is_empty() {
            Ok(cfg)
        } else {
            Err(Error::InvalidPipeline { path: path.to_path_buf(), problems })
        }
    }

    /// Every problem with the file, each naming its stage and key.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.name.trim().is_empty() {
            p.push("name: must not be empty".to_string());
        }
        if self.input.paths.is_empty() {
            p.push("input.paths: name at least one file, folder or glob".to_string());
        }
        for (i, s) in self.input.paths.iter().enumerate() {
            if s.trim().is_empty() {
                p.push(format!("input.paths[{i}]: empty path"));
            }
        }
        let f = &self.input.fields;
        for (key, v) in [
            ("text", &f.text),
            ("title", &f.title),
            ("url", &f.url),
            ("published_at", &f.published_at),
            ("outlet", &f.outlet),
            ("id", &f.id),
        ] {
            if v.trim().is_empty() {
                p.push(format!("input.fields.{key}: must not be empty"));
            }
        }
        if self.output.dir.trim().is_empty() {
            p.push("output.dir: must not be empty".to_string());
        }
        let mut seen: Vec<&'static str> = Vec::new();
        let mut last_order = 0;
        for (i, s) in self.stages.iter().enumerate() {
            if seen.contains(&s.kind()) {
                p.push(format!("stage {i} ({}): appears more than once", s.kind()));
            }
            seen.push(s.kind());
            if s.order() < last_order {
                p.push(format!(
                    "stage {i} ({}): must come before the stages that need its output (order: normalize, extract_entities, extract_quotes, overlap)",
                    s.kind()
                ));
            }
            last_order = last_order.max(s.order());
            match s {
                StageConfig::ExtractEntities(c) if c.models.trim().is_empty() => {
                    p.push(format!("stage {i} (extract_entities): models: must name a folder"))
                }
                StageConfig::ExtractQuotes(c) if c.models.trim().is_empty() => {
                    p.push(format!("stage {i} (extract_quotes): models: must name a folder"))
                }
                _ => {}
            }
        }
        p
    }

    /// The stage config of a kind, if the pipeline has that stage.
    pub fn normalize(&self) -> Option<&NormalizeConfig> {
        self.stages.iter().find_map(|s| match s {
            StageConfig::Normalize(c) => Some(c),
            _ => None,
        })
    }
    /// The entity stage, if any.
    pub fn entities(&self) -> Option<&EntitiesConfig> {
        self.stages.iter().find_map(|s| match s {
            StageConfig::ExtractEntities(c) => Some(c),
            _ => None,
        })
    }
    /// The quote stage, if any.
    pub fn quotes(&self) -> Option<&QuotesConfig> {
        self.stages.iter().find_map(|s| match s {
            StageConfig::ExtractQuotes(c) => Some(c),
            _ => None,
        })
    }
    /// The overlap stage, if any.
    pub fn overlap(&self) -> Option<&OverlapConfig> {
        self.stages.iter().find_map(|s| match s {
            StageConfig::Overlap(c) => Some(c),
            _ => None,
        })
    }

    /// The output folder as a path.
    pub fn output_dir(&self) -> PathBuf {
        PathBuf::from(&self.output.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_refused() {
        let t = "name='x'\n[input]\npaths=['a']\n[[stage]]\ntype='normalize'\nlift_headr=true\n[output]\ndir='o'\n";
        let e = toml::from_str::<PipelineConfig>(t).unwrap_err().to_string();
        assert!(e.contains("lift_headr"), "{e}");
    }

    #[test]
    fn validate_reports_every_problem() {
        let t = "name=''\n[input]\npaths=[]\n[[stage]]\ntype='overlap'\n[[stage]]\ntype='normalize'\n[[stage]]\ntype='normalize'\n[output]\ndir=''\n";
        let c: PipelineConfig = toml::from_str(t).unwrap();
        let p = c.validate();
        assert!(p.len() >= 5, "{p:#?}");
        assert!(p.iter().any(|s| s.starts_with("stage 2 (normalize): appears more than once")));
    }

    #[test]
    fn zero_size_cap_is_refused_by_the_parser() {
        let t = "name='x'\n[input]\npaths=['a']\nmax_doc_bytes=0\n[output]\ndir='o'\n";
        assert!(toml::from_str::<PipelineConfig>(t).is_err());
    }
}
