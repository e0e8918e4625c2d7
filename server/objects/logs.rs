//! `ApiLog` and `ObjLog` as the staff console and admin read them (protocol §3.7, §7).
//!
//! Logs are read-only through the API; ApiLog is for managers (it shows every caller's requests).

use crate::api::auth::perm;
use crate::api::ctx::Ctx;
use crate::api::params::Params;
use crate::crud::{Decl, Object, Op, Scope, SubObj, VCol};
use crate::error::ApiResult;

/// ApiLog, managers and admin only.
pub struct ApiLog(Decl);

impl ApiLog {
    pub fn new() -> ApiLog {
        let mut d = Decl::new("ApiLog").allow(&[Op::Query, Op::Get]);
        d.default_sort = Some("id DESC".into());
        d.tm_col = Some("tm".into());
        d.no_objlog = true;
        d.vcols = vec![VCol::new(&["e.name empName", "e.phone empPhone"])
            .join("LEFT JOIN Employee e ON e.id=t0.userId AND t0.app LIKE 'emp%'")];
        let mut log1 = SubObj::new("log1", "ApiLog1", "apiLogId");
        log1.orderby = Some("id".into());
        d.subobjs = vec![log1];
        d.q_fields = Some("ac,req,addr".into());
        ApiLog(d)
    }
}

impl Default for ApiLog {
    fn default() -> Self {
        Self::new()
    }
}

impl Object for ApiLog {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, _scope: &mut Scope) -> ApiResult<()> {
        if !ctx.auth.is_admin() {
            ctx.auth.require(perm::MGR)?;
        }
        Ok(())
    }
}

/// ObjLog with the call it came from.
pub struct ObjLog(Decl);

impl ObjLog {
    pub fn new() -> ObjLog {
        let mut d = Decl::new("ObjLog").allow(&[Op::Query, Op::Get]);
        d.default_sort = Some("id DESC".into());
        d.no_objlog = true;
        d.vcols = vec![VCol::new(&["l.tm tm", "l.ac ac", "l.req req", "l.userId userId", "l.addr addr", "l.app app"])
            .join("LEFT JOIN ApiLog l ON l.id=t0.apiLogId")
            .default_on()];
        ObjLog(d)
    }
}

impl Default for ObjLog {
    fn default() -> Self {
        Self::new()
    }
}

impl Object for ObjLog {
    fn decl(&self) -> &Decl {
        &self.0
    }
}
