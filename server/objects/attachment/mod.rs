//! Attachments: `upload` stores files and records them in `Attachment`, `att` serves them back, and
//! orders link them through `OrderAtt` (protocol F66, F67, F70; DESIGN.md "附件").
//!
//! Where they live: `Attachment.path` is `upload/[category/]YYYYMM/{6 digits}[-n].{ext}` as in the
//! reference, so rows and folders move between this server and jdcloud-php unchanged. The `upload/`
//! prefix names the configured upload directory (`P_UPLOAD_DIR`, default `data/upload`); a path that is
//! not a plain relative path below it is never opened. The client's file name is kept only as
//! `orgName` (download name), never used on disk.
//!
//! Who may do what (our decisions; the reference lets anyone with an id read any file):
//! - `upload`: any login (user, employee, admin); guests get E_NOAUTH. The uploader is recorded in
//!   `Attachment.userId` / `empId`.
//! - `att`: any login; guests get E_NOAUTH. Employees and the admin read every attachment; a user
//!   reads the ones they uploaded and the ones attached to their own orders (ids are sequential, so
//!   "anyone with the id" would let one user page through everybody's photos). Anything else answers
//!   404, as a missing file does, so ids cannot be probed. Browsers send the `{app}id` cookie with
//!   `<img src=".../api/att?id=..">` (staff pages add `_app=emp`); other clients use
//!   `Authorization: Bearer`.
//! - `OrderAtt`: users attach files to their own orders only through `Ordr.add`/`Ordr.set` with
//!   `atts: [{attId}]`, and only files they uploaded themselves.

pub mod att;
pub mod filetype;
pub mod order_att;
pub mod picture;
pub mod upload;

use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use crate::api::functions::Functions;
use crate::crud::{Decl, Op, Plain, Registry, Role};

pub use order_att::OrderAtt;

/// Serves `upload`, `att` and the order-attachment links: users write OrderAtt only through Ordr (their
/// own uploads) and read their own orders' links; staff read them.
pub fn register(reg: &mut Registry, functions: &mut Functions) {
    reg.register("OrderAtt", &[Role::User], Arc::new(OrderAtt::user()));
    reg.register("OrderAtt", &[Role::Emp], Arc::new(Plain(Decl::new("OrderAtt").allow(&[Op::Query, Op::Get]))));
    functions.add_prepared("upload", upload::prepare, upload::upload);
    functions.add_blocking("att", false, att::att);
}

/// What every `Attachment.path` written by `upload` starts with; it stands for the upload directory.
pub const PATH_PREFIX: &str = "upload/";

/// The file on disk for an `Attachment.path`: only a plain relative path below `upload/` maps to one
/// (no `..`, no absolute path, nothing else), whatever a row imported from elsewhere may contain.
pub fn disk_path(upload_dir: &Path, path: &str) -> Option<PathBuf> {
    let rel = Path::new(path.strip_prefix(PATH_PREFIX)?);
    let mut parts = rel.components().peekable();
    parts.peek()?;
    parts.all(|c| matches!(c, Component::Normal(_))).then(|| upload_dir.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_below_upload_map_to_files() {
        let root = Path::new("/srv/up");
        assert_eq!(disk_path(root, "upload/202601/123456.jpg"), Some(PathBuf::from("/srv/up/202601/123456.jpg")));
        assert_eq!(disk_path(root, "upload/../secret.txt"), None);
        assert_eq!(disk_path(root, "upload//etc/passwd"), None);
        assert_eq!(disk_path(root, "upload/a/../../x"), None);
        assert_eq!(disk_path(root, "/etc/passwd"), None);
        assert_eq!(disk_path(root, "data/jdy.db"), None);
        assert_eq!(disk_path(root, "upload/"), None);
    }
}
