//! Where a simulator's tags come from: Logix structure definitions (`--udt`, cpppo.cfg's
//! `[Logix] UDT`), a pycomm3 tag JSON file (`-D/--defined-tags`), a Studio 5000 project export
//! (`--l5x`), cpppo.cfg's `[Tags]` and the tag specifications themselves. The CLI's server and
//! fleet and the Python `Simulator` all gather their tags here, so each source means the same
//! everywhere and a bad one is reported with the same line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::config::Config;
use crate::model::l5x::{L5xError, Project};
use crate::model::logix_type::{TypeError, Types};
use crate::model::tagspec::{TagSpec, TagSpecError};
use crate::runtime::simulator::TagHook;

/// A tag source that cannot be served; the message names the source as the CLI spells it
/// (`--udt`, `--defined-tags FILE`, `--l5x FILE`, `config [Tags] SPEC`).
#[derive(Debug, thiserror::Error)]
pub enum TagSourceError {
    /// A structure definition (`--udt`, or cpppo.cfg's `[Logix] UDT`) is refused.
    #[error("{source_name}: {err}")]
    Udt {
        /// Where it was given: `--udt` or `config [Logix] UDT`.
        source_name: &'static str,
        /// Why it is refused.
        err: TypeError,
    },
    /// A file (`--defined-tags` or `--l5x`) cannot be read.
    #[error("{option} {}: {err}", path.display())]
    Read {
        /// The option naming the file: `--defined-tags` or `--l5x`.
        option: &'static str,
        /// The file.
        path: PathBuf,
        /// Why it cannot be read.
        err: std::io::Error,
    },
    /// A `--defined-tags` file is not a pycomm3 tag JSON file that can be served.
    #[error("--defined-tags {}: {why}", path.display())]
    DefinedTags {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        why: String,
    },
    /// An `--l5x` file is not a project export that can be served.
    #[error("--l5x {}: {err}", path.display())]
    L5x {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        err: L5xError,
    },
    /// A cpppo.cfg `[Tags]` (or `[Assembly]`) entry does not parse.
    #[error("config [Tags] {spec}: {err}")]
    ConfigTag {
        /// The entry, as written.
        spec: String,
        /// Why it does not parse.
        err: TagSpecError,
    },
    /// A tag specification does not parse.
    #[error(transparent)]
    Tag(#[from] TagSpecError),
}

impl TagSourceError {
    /// Whether a file could not be read (rather than holding something that cannot be served).
    pub fn is_io(&self) -> bool {
        matches!(self, TagSourceError::Read { .. })
    }
}

/// The tags a simulator serves, in order, and the L5X project they came from (if any).
pub struct SourcedTags {
    /// The `-D` file's tags, then the L5X project's, cpppo.cfg's `[Tags]`, then `specs`.
    pub tags: Vec<TagSpec>,
    /// The L5X project: its hook ([`l5x_hook`]) gives the tags their initial values.
    pub project: Option<Project>,
}

/// The tags of `specs`, after those of a `defined` tag JSON file (or cpppo.cfg's
/// `Defined Tags`), of an `l5x` project and of cpppo.cfg's `[Tags]`; in Logix mode (structure
/// types, `Program:` scopes) when structures are defined (`udts`, cpppo.cfg's `[Logix] UDT`,
/// `defined` or `l5x`). `l5x` is taken as given: a caller wanting cpppo.cfg's `L5X` passes it.
pub fn tag_sources(
    config: &Config,
    udts: &[String],
    defined: Option<&Path>,
    l5x: Option<&Path>,
    specs: &[String],
) -> Result<SourcedTags, TagSourceError> {
    let mut types = Types::default();
    let given = config.udts.iter().map(|u| ("config [Logix] UDT", u));
    for (source_name, u) in given.chain(udts.iter().map(|u| ("--udt", u))) {
        types
            .define_compact(u)
            .map_err(|err| TagSourceError::Udt { source_name, err })?;
    }
    let mut tags = Vec::new();
    let defined = defined.or(config.defined_tags.as_deref());
    if let Some(path) = defined {
        let text = read("--defined-tags", path)?;
        tags = crate::model::logix_json::load(&text, &mut types).map_err(|why| {
            TagSourceError::DefinedTags {
                path: path.to_path_buf(),
                why,
            }
        })?;
    }
    let project = match l5x {
        Some(path) => {
            let text = read("--l5x", path)?;
            let project =
                crate::model::l5x::load(&text, &mut types).map_err(|err| TagSourceError::L5x {
                    path: path.to_path_buf(),
                    err,
                })?;
            tags.extend(project.tags.iter().cloned());
            Some(project)
        }
        None => None,
    };
    let structured = !udts.is_empty() || !config.udts.is_empty() || defined.is_some();
    let logix = (structured || l5x.is_some()).then_some(&types);
    for spec in &config.tags {
        let tag = TagSpec::parse_with(spec, logix).map_err(|err| TagSourceError::ConfigTag {
            spec: spec.clone(),
            err,
        })?;
        tags.push(tag);
    }
    for spec in specs {
        tags.push(TagSpec::parse_with(spec, logix)?);
    }
    Ok(SourcedTags { tags, project })
}

/// The text of `path`, or the error naming `option` and the file.
fn read(option: &'static str, path: &Path) -> Result<String, TagSourceError> {
    std::fs::read_to_string(path).map_err(|err| TagSourceError::Read {
        option,
        path: path.to_path_buf(),
        err,
    })
}

/// A tag hook giving an L5X project's tags their initial values, read-only flags and aliases
/// (see [`Project::prepare`]), before the caller's `hook`.
pub fn l5x_hook(project: Arc<Project>, hook: Option<TagHook>) -> TagHook {
    Arc::new(move |name: &str, attr| {
        let attr = project.prepare(name, attr)?;
        match &hook {
            Some(hook) => hook(name, attr),
            None => Ok(attr),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(s: &[&str]) -> Vec<String> {
        s.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn udts_config_tags_and_specs_are_served_in_order() {
        let config = Config {
            udts: strings(&["Motor{Speed:REAL, Running:BOOL}"]),
            tags: strings(&["Inputs@4/100/3=SINT[8]"]),
            ..Config::default()
        };
        let got = tag_sources(&config, &[], None, None, &strings(&["M1=Motor"])).unwrap();
        let names: Vec<_> = got.tags.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["Inputs", "M1"]);
        assert!(got.tags[1].layout.is_some(), "M1 is a structure");
        assert!(got.project.is_none());
    }

    /// The error of a source that must be refused.
    fn refused(r: Result<SourcedTags, TagSourceError>) -> TagSourceError {
        match r {
            Ok(got) => panic!("served {} tag(s)", got.tags.len()),
            Err(e) => e,
        }
    }

    #[test]
    fn each_bad_source_is_named() {
        let none = Config::default();
        let e = refused(tag_sources(&none, &strings(&["A{x:FOO}"]), None, None, &[]));
        assert!(e.to_string().starts_with("--udt: "), "{e}");
        assert!(e.to_string().contains("FOO"), "{e}");
        let config = Config {
            udts: strings(&["B{y:BAR}"]),
            ..Config::default()
        };
        let e = refused(tag_sources(&config, &[], None, None, &[]));
        assert!(e.to_string().starts_with("config [Logix] UDT: "), "{e}");
        let missing = Path::new("/nonexistent/tags.json");
        let e = refused(tag_sources(&none, &[], Some(missing), None, &[]));
        assert!(e.is_io());
        let text = e.to_string();
        assert!(
            text.starts_with("--defined-tags /nonexistent/tags.json: "),
            "{e}"
        );
        let l5x = Path::new("/nonexistent/p.L5X");
        let e = refused(tag_sources(&none, &[], None, Some(l5x), &[]));
        assert!(
            e.to_string().starts_with("--l5x /nonexistent/p.L5X: "),
            "{e}"
        );
        let config = Config {
            tags: strings(&["X=NOPE"]),
            ..Config::default()
        };
        let e = refused(tag_sources(&config, &[], None, None, &[]));
        assert!(!e.is_io());
        assert!(e.to_string().starts_with("config [Tags] X=NOPE: "), "{e}");
        let e = refused(tag_sources(&none, &[], None, None, &strings(&["Y=NOPE"])));
        let plain = TagSpec::parse("Y=NOPE").map(|t| t.name).unwrap_err();
        assert_eq!(e.to_string(), plain.to_string());
    }
}
