//! Per-operation route and send paths (cpppo's `parse_operations(tags, route_path=...,
//! send_path=...)`): an operation may carry its own paths, overriding its connector's, and a
//! pipeline runs each run of operations sharing a route with the session routed that way
//! (`crate::stream`).

use cpppo_enip::client::operation::PathStep;
use cpppo_enip::client::route::{parse_route_path, parse_send_path, Route};
use pyo3::prelude::*;

use crate::errors::raise;

/// One path given for an operation: its text (as given) and what it parsed to (`None`: no
/// path, eg. `send_path=""` or `route_path=False`).
#[derive(Clone, Debug)]
pub(crate) struct Given {
    pub(crate) text: String,
    path: Option<Vec<PathStep>>,
}

/// The paths an operation carries of its own; each `None` is the connector's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Paths {
    pub(crate) route_path: Option<Given>,
    pub(crate) send_path: Option<Given>,
}

impl Paths {
    /// Parses `route_path` (`"1/0"`, JSON, `"false"`) and `send_path` (`"@6/1"`, `""`) as
    /// cpppo's options; `OperationError` naming the bad one.
    pub(crate) fn parse(
        py: Python<'_>,
        route_path: Option<&str>,
        send_path: Option<&str>,
    ) -> PyResult<Paths> {
        let given = |text: Option<&str>,
                     parse: fn(&str) -> Result<Option<Vec<PathStep>>, String>,
                     what: &str| {
            text.map(|t| {
                parse(t)
                    .map(|path| Given {
                        text: t.to_string(),
                        path,
                    })
                    .map_err(|e| raise(py, "OperationError", (format!("{what} {t:?}: {e}"),)))
            })
            .transpose()
        };
        Ok(Paths {
            route_path: given(route_path, parse_route_path, "route_path")?,
            send_path: given(send_path, parse_send_path, "send_path")?,
        })
    }

    /// These paths over `other`'s: each one given here wins.
    pub(crate) fn over(&self, other: &Paths) -> Paths {
        Paths {
            route_path: self.route_path.clone().or_else(|| other.route_path.clone()),
            send_path: self.send_path.clone().or_else(|| other.send_path.clone()),
        }
    }

    /// Whether neither path is given.
    pub(crate) fn is_empty(&self) -> bool {
        self.route_path.is_none() && self.send_path.is_none()
    }

    /// The route `default` (the connector's) with these paths in place of its own. An empty
    /// send path sends requests directly (a simple device), whatever the route path.
    pub(crate) fn route(&self, default: &Route) -> Route {
        let mut route = default.clone();
        if let Some(g) = &self.send_path {
            route.send_path = g.path.clone();
        }
        if let Some(g) = &self.route_path {
            route.route_path = g.path.clone();
        }
        route
    }
}
