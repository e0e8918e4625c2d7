//! Where the action name comes from (protocol §1.1): `_ac`, the path after `/api/` or `/api.php/`,
//! the `ac` URL parameter, and the REST forms (`GET /api/Ordr/12` → `Ordr.get` with `id=12`).
//!
//! Pure functions over strings so every form is unit-tested without a server.

use crate::error::{ApiError, ApiResult};

/// The action and any URL parameters the path contributes.
#[derive(Debug, PartialEq)]
pub struct Route {
    pub ac: String,
    /// `id` from an all-digit REST segment.
    pub id: Option<String>,
}

/// True for paths the API serves.
pub fn is_api(path: &str) -> bool {
    path == "/api" || path == "/api.php" || path.starts_with("/api/") || path.starts_with("/api.php/")
}

/// Resolves the action of an API request. `url_ac` is `_ac` or, failing that, `ac` of the query string.
pub fn route(method: &str, path: &str, underscore_ac: Option<&str>, url_ac: Option<&str>) -> ApiResult<Route> {
    let rest = path.strip_prefix("/api.php").or_else(|| path.strip_prefix("/api")).unwrap_or("");
    let rest = rest.trim_start_matches('/').trim_end_matches('/');
    if let Some(ac) = underscore_ac.filter(|s| !s.is_empty()) {
        return plain(method, ac);
    }
    if rest.is_empty() {
        return match url_ac.filter(|s| !s.is_empty()) {
            Some(ac) => plain(method, ac),
            None => Err(ApiError::missing("ac")),
        };
    }
    let segs: Vec<&str> = rest.split('/').collect();
    let first = segs[0];
    let is_rest = segs.len() > 1 || (first.starts_with(|c: char| c.is_ascii_uppercase()) && !first.contains('.'));
    if !is_rest {
        return plain(method, first);
    }
    rest_route(method, &segs)
}

/// A non-REST action: only GET and POST.
fn plain(method: &str, ac: &str) -> ApiResult<Route> {
    if method != "GET" && method != "POST" {
        return Err(ApiError::bad_param(format!("bad verb `{method}` for {ac}")));
    }
    Ok(Route { ac: ac.to_string(), id: None })
}

fn is_id(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn rest_route(method: &str, segs: &[&str]) -> ApiResult<Route> {
    let obj = segs[0];
    if !obj.starts_with(|c: char| c.is_ascii_uppercase()) || obj.contains('.') {
        return Err(ApiError::bad_param(format!("bad REST path `{}`", segs.join("/"))));
    }
    let r = |op: &str, id: Option<&str>| Route { ac: format!("{obj}.{op}"), id: id.map(str::to_string) };
    match (segs.len(), method) {
        (1, "GET") => Ok(r("query", None)),
        (1, "POST") => Ok(r("add", None)),
        (1, "PATCH" | "DELETE") => Err(ApiError::bad_param(format!("{method} requires an id"))),
        (2, m) if is_id(segs[1]) => match m {
            "GET" => Ok(r("get", Some(segs[1]))),
            "PATCH" => Ok(r("set", Some(segs[1]))),
            "DELETE" => Ok(r("del", Some(segs[1]))),
            _ => Err(ApiError::bad_param(format!("bad verb `{m}` for {obj}/{}", segs[1]))),
        },
        // `/Ordr/cancel` (id from the query string).
        (2, "GET" | "POST") => Ok(r(segs[1], None)),
        // `/Ordr/123/cancel` = `/Ordr/cancel/123`.
        (3, "GET" | "POST") if is_id(segs[1]) => Ok(r(segs[2], Some(segs[1]))),
        (3, "GET" | "POST") if is_id(segs[2]) => Ok(r(segs[1], Some(segs[2]))),
        _ => Err(ApiError::bad_param(format!("bad REST request `{method} {}`", segs.join("/")))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ac(method: &str, path: &str) -> (String, Option<String>) {
        let r = route(method, path, None, None).unwrap();
        (r.ac, r.id)
    }

    #[test]
    fn function_and_object_calls_come_from_the_path() {
        assert_eq!(ac("GET", "/api/login").0, "login");
        assert_eq!(ac("POST", "/api.php/Ordr.query").0, "Ordr.query");
        assert_eq!(route("GET", "/api", None, Some("whoami")).unwrap().ac, "whoami");
        assert_eq!(route("GET", "/api/login", Some("logout"), None).unwrap().ac, "logout");
        assert!(route("GET", "/api", None, None).is_err());
    }

    #[test]
    fn rest_forms_map_to_standard_ops() {
        assert_eq!(ac("GET", "/api/Ordr"), ("Ordr.query".into(), None));
        assert_eq!(ac("POST", "/api/Ordr"), ("Ordr.add".into(), None));
        assert_eq!(ac("GET", "/api/Ordr/12"), ("Ordr.get".into(), Some("12".into())));
        assert_eq!(ac("PATCH", "/api/Ordr/12"), ("Ordr.set".into(), Some("12".into())));
        assert_eq!(ac("DELETE", "/api/Ordr/12"), ("Ordr.del".into(), Some("12".into())));
        assert_eq!(ac("POST", "/api/Ordr/12/cancel"), ("Ordr.cancel".into(), Some("12".into())));
        assert_eq!(ac("GET", "/api/Ordr/cancel/12"), ("Ordr.cancel".into(), Some("12".into())));
        assert_eq!(ac("GET", "/api/Ordr/cancel"), ("Ordr.cancel".into(), None));
    }

    #[test]
    fn rest_misuse_is_a_parameter_error() {
        assert!(route("POST", "/api/Ordr/12", None, None).is_err());
        assert!(route("PATCH", "/api/Ordr", None, None).is_err());
        assert!(route("DELETE", "/api/Ordr", None, None).is_err());
        assert!(route("PUT", "/api/login", None, None).is_err());
        assert!(route("GET", "/api/Ordr/1/2/3", None, None).is_err());
    }
}
