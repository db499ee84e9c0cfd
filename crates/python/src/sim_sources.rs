//! The tag sources of `Simulator(...)` (cpppo.cfg files, `udt`, `defined_tags`, `l5x`,
//! `tags`), gathered as `cpppo enip server` gathers them, with Python exceptions naming the bad
//! one: `TagFileError` (an `OSError`) for a file that cannot be read, `TagSourceError` (a
//! `ValueError`) for one that cannot be served.

use std::path::PathBuf;
use std::sync::Arc;

use cpppo_enip::model::config::Config;
use cpppo_enip::runtime::simulator::TagHook;
use cpppo_enip::runtime::tag_sources::{l5x_hook, tag_sources, TagSourceError};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyInt, PyString};

use crate::errors::raise;

/// `config=`: one path (`str` or `os.PathLike`) or a sequence of them, read in order.
pub fn config_paths(config: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<PathBuf>> {
    let Some(config) = config else {
        return Ok(Vec::new());
    };
    if config.is_instance_of::<PyString>() || config.hasattr("__fspath__")? {
        return Ok(vec![config.extract()?]);
    }
    config.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "config must be a path or a sequence of paths (cpppo.cfg files)",
        )
    })
}

/// `input_only_point=` / `listen_only_point=`: a heartbeat point (an instance number
/// 1..4294967295), or `None`; anything else is a `ValueError` naming the keyword.
pub fn heartbeat_point(keyword: &str, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<u32>> {
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let point = match value.is_instance_of::<PyInt>() && !value.is_instance_of::<PyBool>() {
        true => value.extract::<u32>().ok().filter(|&p| p > 0),
        false => None,
    };
    point.map(Some).ok_or_else(|| {
        let shown = value.repr().map_or_else(|_| "?".into(), |r| r.to_string());
        PyValueError::new_err(format!(
            "{keyword}={shown}: not an instance number 1..4294967295"
        ))
    })
}

/// The cpppo.cfg files `paths`, read in order (later ones win); each must exist.
pub fn load_config(py: Python<'_>, paths: &[PathBuf]) -> PyResult<Config> {
    for path in paths {
        if let Err(e) = std::fs::metadata(path) {
            let line = format!("config {}: {e}", path.display());
            return Err(raise(py, "TagFileError", (line,)));
        }
    }
    Config::load(paths, true).map_err(|e| raise(py, "TagSourceError", (format!("config {e}"),)))
}

/// What `Simulator(...)` was given to serve besides its config.
pub struct Sources<'a> {
    /// `udt=`: structure definitions.
    pub udt: &'a [String],
    /// `defined_tags=`: a pycomm3 tag JSON file.
    pub defined_tags: Option<PathBuf>,
    /// `l5x=`: a Studio 5000 project export (else cpppo.cfg's `L5X`).
    pub l5x: Option<PathBuf>,
    /// `tags=`: tag specifications.
    pub tags: &'a [String],
}

/// The tags to serve and the hook to build them with: an L5X project's (initial values,
/// read-only tags, aliases) before `hook`. An L5X project also names the controller
/// (`config.device`), and what it has that is not served is logged as a warning.
pub fn gather(
    py: Python<'_>,
    config: &mut Config,
    sources: Sources<'_>,
    hook: Option<TagHook>,
) -> PyResult<(Vec<cpppo_enip::model::tagspec::TagSpec>, Option<TagHook>)> {
    let l5x = sources.l5x.or_else(|| config.l5x.clone());
    let sourced = tag_sources(
        config,
        sources.udt,
        sources.defined_tags.as_deref(),
        l5x.as_deref(),
        sources.tags,
    )
    .map_err(|e| source_error(py, e))?;
    let Some(project) = sourced.project else {
        return Ok((sourced.tags, hook));
    };
    let file = l5x.map(|f| f.display().to_string()).unwrap_or_default();
    for line in &project.skipped {
        warn(py, &format!("--l5x {file}: skipped {line}"));
    }
    if let Some(name) = &project.controller {
        config.device.controller_name = name.clone();
    }
    Ok((sourced.tags, Some(l5x_hook(Arc::new(project), hook))))
}

/// A tag source error as `TagFileError` (unreadable) or `TagSourceError`.
fn source_error(py: Python<'_>, e: TagSourceError) -> PyErr {
    let class = if e.is_io() {
        "TagFileError"
    } else {
        "TagSourceError"
    };
    raise(py, class, (e.to_string(),))
}

/// Log `line` as a warning on the `cpppo_rs.enip` logger.
fn warn(py: Python<'_>, line: &str) {
    let logged = py
        .import("logging")
        .and_then(|m| m.call_method1("getLogger", ("cpppo_rs.enip",)))
        .and_then(|log| log.call_method1("warning", ("%s", line)));
    if logged.is_err() {
        eprintln!("cpppo_rs: {line}");
    }
}
