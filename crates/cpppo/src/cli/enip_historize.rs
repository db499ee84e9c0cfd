//! `cpppo enip historize FILE [server options] TAG...` and the server's `--replay` options.
//!
//! historize runs `cpppo enip server` with every tag wrapped in
//! [`cpppo_enip::history::historize::Historize`]: each read and write is appended to FILE as a cpppo
//! history record, and a write is in the file (handed to the kernel) before the client gets
//! its acknowledgement, so it survives SIGKILL of the simulator.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{anyhow, Context};
use clap::Args;
use cpppo_enip::history::historize::{Historian, Historize};
use cpppo_enip::history::replay::ReplayOptions;
use cpppo_enip::model::attribute::Attribute;
use cpppo_history::{Compression, HistoryReader, ReadOptions};

use super::enip::server::{self, ServerArgs, TagHook};
use cpppo_enip::model::logix_type::TagLayout;
use std::collections::HashMap;

/// Arguments of `cpppo enip historize`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every read and write of every tag is appended to FILE as \
`TIME<TAB>[\"TAG\", [FIRST, LAST]]<TAB>{\"read\"|\"write\": [VALUES]}` (cpppo's history format; \
`cpppo history cat FILE` prints it). A write is in FILE before it is acknowledged (one write(2) \
per record), so it survives the simulator being killed.\n\n\
Examples:\n  cpppo enip historize plant.hst SCADA=INT[1000] FLOAT=REAL\n  \
cpppo enip historize -a 127.0.0.1:44819 plant.hst Tag_Name=INT[1000]"
)]
pub struct HistorizeArgs {
    /// History file to append to (created if absent; plain text).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The simulator's options and tags (as `cpppo enip server`).
    #[command(flatten)]
    server: ServerArgs,
}

/// `--replay FILE [--speed X] [--loop]` of `cpppo enip server`.
#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// Drive the tags' values from this history (its `write` records), while serving.
    #[arg(long, value_name = "FILE")]
    replay: Vec<PathBuf>,
    /// Replay speed: 10 plays ten seconds of history a second.
    #[arg(long, value_name = "X", default_value_t = 1.0, requires = "replay")]
    speed: f64,
    /// Start the history over after its last record.
    #[arg(long = "loop", requires = "replay")]
    looping: bool,
}

impl ReplayArgs {
    /// The replay to run, if `--replay` was given; a bad speed is an error naming it.
    pub fn options(&self) -> anyhow::Result<Option<ReplayOptions>> {
        if self.replay.is_empty() {
            return Ok(None);
        }
        if !(self.speed.is_finite() && self.speed > 0.0) {
            return Err(anyhow!("--speed {}: must be a number above 0", self.speed));
        }
        HistoryReader::open(&self.replay, ReadOptions::default())
            .map_err(|e| anyhow!("--replay: {e}"))?;
        Ok(Some(ReplayOptions {
            files: self.replay.clone(),
            speed: self.speed,
            looping: self.looping,
        }))
    }
}

/// Run the recording simulator; a file that cannot be opened gives one line and exit code 2.
pub fn run(args: HistorizeArgs) -> ExitCode {
    if Compression::from_path(&args.file) != Compression::None {
        eprintln!(
            "cpppo enip historize: {}: records are appended as plain text; name the file without \
             a .gz/.bz2/.xz suffix (compress it afterwards)",
            args.file.display()
        );
        return ExitCode::from(2);
    }
    let history = match Historian::open(&args.file)
        .with_context(|| format!("cannot open history file {}", args.file.display()))
    {
        Ok(h) => Arc::new(h),
        Err(e) => {
            eprintln!("cpppo enip historize: {e:#}");
            return ExitCode::from(2);
        }
    };
    // Structure tags are recorded member by member; a bad tag list is reported by the server.
    let layouts: HashMap<String, Arc<TagLayout>> = server::tag_specs(&args.server)
        .map(|(_, tags, _)| tags)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|t| Some((t.name.to_ascii_uppercase(), t.layout?)))
        .collect();
    let hook: TagHook = Arc::new(move |name: &str, inner: Arc<dyn Attribute>| {
        let tag = Historize::new(name, inner, history.clone())
            .map_err(|e| format!("cannot record tag {name}: {e}"))?
            .with_layout(layouts.get(&name.to_ascii_uppercase()).map(|l| l.as_ref()));
        Ok(Arc::new(tag) as Arc<dyn Attribute>)
    });
    server::run_with(args.server, Some(hook))
}
