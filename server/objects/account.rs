//! `User` and `Employee`: accounts as each role may see and change them (protocol §3.7, §9.5).
//!
//! Passwords never travel through these objects for their owners (only `chpwd` changes them); a
//! manager creating or resetting an employee gives a password that is hashed before it is stored.

use serde_json::{json, Value};

use crate::api::auth::{AppType, Perm};
use crate::api::ctx::Ctx;
use crate::api::params::{value_to_string, Params};
use crate::auth::accounts::Accounts;
use crate::auth::password;
use crate::auth::pwd_dict::PWD_KEY_NAME;
use crate::auth::session::Sessions;
use std::sync::Arc;

use crate::crud::{Decl, Object, Op, Registry, Role, Scope, VCol, Write};
use crate::error::{ApiError, ApiResult};

/// The permission word of a store's manager: staff accounts, settings, the call log.
pub const MANAGER: Perm = Perm("mgr");
/// The word every employee holds.
pub const STAFF: Perm = Perm("emp");

/// Serves User, Employee and Cinf, and declares the staff permission words.
pub fn register(reg: &mut Registry) {
    use Role::*;
    reg.declare_perm(STAFF, "员工");
    reg.declare_perm(MANAGER, "经理");
    reg.declare_accounts(Accounts {
        app_type: AppType::User,
        table: "User",
        roles_col: None,
        default_roles: "",
        disabled_col: None,
        created_col: Some("createTm"),
        self_register: true,
        login_failed: "手机号或密码错误",
        noun: "user",
    });
    reg.declare_accounts(Accounts {
        app_type: AppType::Emp,
        table: "Employee",
        roles_col: Some("perms"),
        default_roles: "emp",
        disabled_col: Some("disableFlag"),
        created_col: None,
        self_register: false,
        login_failed: "用户名或密码错误",
        noun: "employee",
    });
    reg.register("User", &[User], Arc::new(self::User::buyer()));
    reg.register("User", &[Emp, Admin], Arc::new(self::User::staff()));
    reg.register("Employee", &[Emp], Arc::new(Employee::emp()));
    reg.register("Employee", &[Admin], Arc::new(Employee::admin()));
    reg.register("Cinf", &[Emp, Admin], Arc::new(Cinf::new()));
}

/// Creates the bootstrap manager (`admin` / `1234`, phone 12345678901) when Employee is empty, so a new
/// installation can log in to the staff console (protocol §2.4). Its password should be changed.
pub fn bootstrap(conn: crate::db::conn::Conn) -> ApiResult<()> {
    let n: i64 = conn.query_row("SELECT COUNT(*) FROM Employee", [], |r| r.get(0))?;
    if n == 0 {
        conn.execute(
            "INSERT INTO Employee (uname, phone, pwd, name, perms) VALUES ('admin', '12345678901', ?, '管理员', 'emp,mgr')",
            [password::hash("1234")],
        )?;
        log::warn!("created the bootstrap employee `admin` with password 1234: change it");
    }
    Ok(())
}

/// `User` for one role.
pub struct User {
    decl: Decl,
    self_only: bool,
}

impl User {
    /// A buyer: get/set self only; account fields readonly.
    pub fn buyer() -> User {
        let decl = Decl::new("User")
            .allow(&[Op::Get, Op::Set])
            .unique(LOGIN_NAMES_UNIQUE)
            .readonly(&["uname", "phone", "pwd", "createTm"]);
        User { decl, self_only: true }
    }

    /// Staff and admin: every user. Staff may give a new user an initial password (stored hashed);
    /// changing it later is the user's own `chpwd`.
    pub fn staff() -> User {
        let decl = Decl::new("User")
            .unique(LOGIN_NAMES_UNIQUE)
            .readonly_on_set(&["pwd"])
            .q_fields("id!,name,uname,phone")
            .tm_col("createTm")
            .vcols(vec![VCol::new(&["(SELECT COUNT(*) FROM Ordr o WHERE o.userId=t0.id) orderCnt"])]);
        User { decl, self_only: false }
    }
}

/// Replaces a given initial password by its hash; an account added without one has none
/// ([`password::NO_PASSWORD`]) until it is set by `chpwd`.
fn hash_initial_password(w: &mut Write) {
    let pwd = w.fields.get("pwd").map(value_to_string).filter(|p| !p.is_empty() && p != "null");
    let stored = pwd.map(|p| password::hash(&p)).unwrap_or_else(|| password::NO_PASSWORD.to_string());
    w.fields.insert("pwd".into(), json!(stored));
}

/// Logins look accounts up by login name or phone, so a duplicate would make one account unreachable.
const LOGIN_NAMES_UNIQUE: &[(&str, &str)] = &[("phone", "手机号已存在"), ("uname", "用户名已存在")];

impl Object for User {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_validate_id(&self, ctx: &mut Ctx, _op: Op, id: &mut Option<i64>) -> ApiResult<()> {
        if self.self_only {
            *id = Some(ctx.auth.require_user()?);
        }
        Ok(())
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        if self.self_only {
            scope.eq("id", ctx.auth.uid().unwrap_or(0));
        }
        Ok(())
    }

    fn on_validate(&self, _ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        if w.op == Op::Add && !w.fields.contains_key("createTm") {
            w.fields.insert("createTm".into(), json!(crate::db::now_str()));
        }
        if w.op == Op::Add {
            hash_initial_password(w);
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        match (op, id) {
            // A deleted account keeps no live token.
            (Op::Del, Some(id)) => Sessions::revoke(ctx, AppType::User, id, None, None),
            (Op::DelIf, _) => Sessions::resync(ctx, AppType::User),
            _ => Ok(()),
        }
    }
}

/// `Employee` for staff (self unless manager) or the admin (everything).
pub struct Employee {
    decl: Decl,
    admin: bool,
}

impl Employee {
    /// Staff: add/del need `mgr`, checked in the hooks.
    pub fn emp() -> Employee {
        let decl = Decl::new("Employee")
            .unique(LOGIN_NAMES_UNIQUE)
            .readonly(&["storeId"])
            .required(&[&["uname", "phone"]])
            .vcols(vec![VCol::new(&["st.name storeName"]).join("LEFT JOIN Store st ON st.id=t0.storeId").default_on()])
            .q_fields("id!,name,phone");
        Employee { decl, admin: false }
    }

    /// The platform admin.
    pub fn admin() -> Employee {
        // The admin may add an employee without a login name (imports) and chooses its store, which is
        // fixed afterwards; everything else is as for staff.
        let decl = Self::emp().decl.required(&[]).readonly(&[]).readonly_on_set(&["storeId"]);
        Employee { decl, admin: true }
    }

    fn is_mgr(&self, ctx: &Ctx) -> bool {
        self.admin || ctx.auth.may(MANAGER)
    }
}

/// Fields only a manager may change.
const MGR_FIELDS: [&str; 5] = ["perms", "pwd", "phone", "uname", "disableFlag"];

/// Stores (by `Employee.storeId`) that have staff but no active (not disabled) manager.
const STORES_WITHOUT_MANAGER: &str = "SELECT COUNT(DISTINCT COALESCE(e.storeId, 0)) FROM Employee e WHERE NOT EXISTS \
     (SELECT 1 FROM Employee m WHERE COALESCE(m.storeId, 0)=COALESCE(e.storeId, 0) \
      AND ','||COALESCE(m.perms,'')||',' LIKE '%,mgr,%' AND COALESCE(m.disableFlag,0)=0)";

/// The store the calling employee works for (`Employee.storeId`): every emp call of the ticketing
/// platform is scoped to it. Read once per call. An employee without a store (not possible through the
/// API; the upgrade assigns one) sees nothing of any store.
pub fn my_store(ctx: &mut Ctx) -> ApiResult<i64> {
    if let Some(s) = ctx.noted("employee.storeId") {
        return Ok(s);
    }
    let me = ctx.auth.require_emp()?;
    let store = ctx.scalar_int("SELECT storeId FROM Employee WHERE id=?", &[me.into()])?.unwrap_or(0);
    ctx.note("employee.storeId", store);
    Ok(store)
}

/// Puts employees without a store (a database from before stores, the bootstrap `admin`) into the first
/// store, creating `默认商户` when there is none, so that every employee works for exactly one store.
pub fn assign_default_store(conn: crate::db::conn::Conn) -> ApiResult<()> {
    let orphans: i64 = conn.query_row("SELECT COUNT(*) FROM Employee WHERE storeId IS NULL", [], |r| r.get(0))?;
    if orphans == 0 {
        return Ok(());
    }
    let first: Option<i64> = conn.query_row("SELECT MIN(id) FROM Store", [], |r| r.get(0))?;
    let store = match first {
        Some(id) => id,
        None => {
            conn.execute(
                "INSERT INTO Store (name, kind, status, createTm) VALUES ('默认商户', 'show', 'OK', ?)",
                [crate::db::now_str()],
            )?;
            conn.last_insert_rowid()?
        }
    };
    conn.execute("UPDATE Employee SET storeId=? WHERE storeId IS NULL", [store])?;
    log::info!("{orphans} employee(s) without a store now work for store #{store}");
    Ok(())
}

impl Object for Employee {
    fn decl(&self) -> &Decl {
        &self.decl
    }

    fn on_init(&self, ctx: &mut Ctx, op: Op) -> ApiResult<()> {
        // Adding, deleting and bulk changes are for managers (bulk changes could otherwise rewrite
        // one's own perms without passing on_validate).
        if !self.is_mgr(ctx) && matches!(op, Op::Add | Op::Del | Op::SetIf | Op::DelIf) {
            return Err(ctx.auth.refuse("require auth to manager"));
        }
        if op != Op::Add && crate::crud::op_changes(op) {
            let before = ctx.scalar_int(STORES_WITHOUT_MANAGER, &[])?.unwrap_or(0);
            ctx.note("employee.storesWithoutManager", before);
        }
        Ok(())
    }

    fn on_validate_id(&self, ctx: &mut Ctx, op: Op, id: &mut Option<i64>) -> ApiResult<()> {
        if self.is_mgr(ctx) {
            if id.is_none() && op != Op::Del {
                *id = ctx.auth.emp_id();
            }
            return Ok(());
        }
        let me = ctx.auth.require_emp()?;
        if op == Op::Del {
            return Err(ApiError::forbidden("require auth to manager"));
        }
        match *id {
            None => *id = Some(me),
            Some(x) if x == me => {}
            Some(_) => return Err(ApiError::forbidden("an employee may only see and change itself")),
        }
        Ok(())
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        if self.admin {
            return Ok(());
        }
        if !self.is_mgr(ctx) {
            scope.eq("id", ctx.auth.emp_id().unwrap_or(0));
        }
        // A manager manages the staff of its own store only.
        scope.eq("storeId", my_store(ctx)?);
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        let mgr = self.is_mgr(ctx);
        if !mgr {
            if w.op == Op::Add {
                return Err(ApiError::forbidden("require auth to manager"));
            }
            if let Some(f) = MGR_FIELDS.iter().find(|f| w.fields.contains_key(**f)) {
                return Err(ApiError::forbidden(format!("set readonly field Employee.`{f}`")));
            }
        }
        if w.op == Op::Add {
            if self.admin {
                let store = w.fields.get("storeId").and_then(crate::api::params::value_to_int);
                let exists = match store {
                    Some(id) => ctx.scalar_int("SELECT id FROM Store WHERE id=?", &[id.into()])?.is_some(),
                    None => false,
                };
                if !exists {
                    return Err(ApiError::param("请指定员工所属商户(storeId)"));
                }
            } else {
                let store = my_store(ctx)?;
                w.fields.insert("storeId".into(), json!(store));
            }
            w.fields.entry("perms").or_insert(json!("emp"));
            // The initial password (protocol §3.7: 1234 unless given); the employee changes it with chpwd.
            let pwd = w.fields.get("pwd").map(value_to_string).filter(|p| !p.is_empty());
            w.fields.insert("pwd".into(), json!(password::hash(&pwd.unwrap_or_else(|| "1234".into()))));
        } else if let Some(p) = w.fields.get("pwd").map(value_to_string) {
            if p.is_empty() || p == "null" || p == "empty" {
                return Err(ApiError::param("字段`pwd`不允许置空"));
            }
            w.fields.insert("pwd".into(), json!(password::hash(&p)));
            // A manager's reset locks out whoever held the old password; the caller keeps its own session.
            if let Some(id) = w.id {
                let keep = ctx.auth.login.as_ref().filter(|l| l.app_type == AppType::Emp && l.id == id);
                let keep = keep.map(|l| l.session_id);
                Sessions::revoke(ctx, AppType::Emp, id, None, keep)?;
            }
        }
        let disabling =
            w.fields.get("disableFlag").map(value_to_string).is_some_and(|v| v != "0" && !v.is_empty() && v != "null");
        if let (true, Some(id)) = (disabling, w.id) {
            if ctx.auth.login.as_ref().is_some_and(|l| l.app_type == AppType::Emp && l.id == id) {
                return Err(ApiError::with_msg(crate::error::Code::Forbidden, "不能禁用自己")
                    .internal("an employee may not disable itself"));
            }
            // A disabled employee holds no live token from now on.
            Sessions::revoke(ctx, AppType::Emp, id, None, None)?;
        }
        if let Some(perms) = w.fields.get("perms").map(value_to_string) {
            check_perms(ctx, &perms)?;
            if let Some(id) = w.id {
                // Live sessions of that employee gain or lose the manager bit at once.
                Sessions::set_roles(ctx, AppType::Emp, id, &perms)?;
            }
        }
        Ok(())
    }

    fn on_after(&self, ctx: &mut Ctx, op: Op, id: Option<i64>, _w: Option<&Write>) -> ApiResult<()> {
        // Whatever the change (delete, demote, disable, one row or many), every store keeps a manager:
        // without one nobody could add its staff or change its settings again. Compared with the count
        // noted before the change, so a store the admin has not yet given a manager blocks nobody.
        let before = ctx.noted("employee.storesWithoutManager").unwrap_or(0);
        if op != Op::Add && ctx.scalar_int(STORES_WITHOUT_MANAGER, &[])?.unwrap_or(0) > before {
            return Err(ApiError::with_msg(crate::error::Code::Forbidden, "至少要保留一名经理")
                .internal("the last active manager cannot be deleted, demoted or disabled"));
        }
        match (op, id) {
            (Op::Del, Some(id)) => Sessions::revoke(ctx, AppType::Emp, id, None, None),
            (Op::SetIf | Op::DelIf, _) => Sessions::resync(ctx, AppType::Emp),
            _ => Ok(()),
        }
    }
}

/// Perms is a comma list of permission words the product declared (`Registry::declare_perm`).
fn check_perms(ctx: &Ctx, perms: &str) -> ApiResult<()> {
    let known = ctx.state.objects.perms();
    for p in perms.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !known.iter().any(|(w, _)| w.0 == p) {
            return Err(ApiError::param(format!("未知权限: {p}")));
        }
    }
    Ok(())
}

/// Staff-only config access helpers `Cinf.getValue(name)` / `Cinf.setValue(name)(value)`.
pub struct Cinf(pub Decl);

impl Cinf {
    pub fn new() -> Cinf {
        Cinf(Decl::new("Cinf"))
    }
}

impl Default for Cinf {
    fn default() -> Self {
        Self::new()
    }
}

/// The Cinf rows only the server itself reads (secrets): never shown or changed through the API. The
/// password dictionary's key, and what product modules declare (`Registry::declare_private_setting`).
fn private_settings(ctx: &Ctx) -> Vec<&'static str> {
    let mut v = vec![PWD_KEY_NAME];
    v.extend_from_slice(ctx.state.objects.private_settings());
    v
}

fn refuse_reserved(ctx: &Ctx, name: &str) -> ApiResult<()> {
    if private_settings(ctx).contains(&name) {
        return Err(ApiError::forbidden(format!("Cinf `{name}` is reserved for the server")));
    }
    Ok(())
}

/// Settings change the whole store: managers and the admin only; clerks may read them.
fn require_configurer(ctx: &Ctx) -> ApiResult<()> {
    if ctx.auth.may(MANAGER) {
        Ok(())
    } else {
        Err(ApiError::with_msg(crate::error::Code::Forbidden, "只有经理可以修改系统配置")
            .internal("require auth to manager"))
    }
}

impl Object for Cinf {
    fn decl(&self) -> &Decl {
        &self.0
    }

    fn on_init(&self, ctx: &mut Ctx, op: Op) -> ApiResult<()> {
        match op {
            Op::Get | Op::Query => Ok(()),
            _ => require_configurer(ctx),
        }
    }

    fn on_query(&self, ctx: &mut Ctx, _p: &Params, scope: &mut Scope) -> ApiResult<()> {
        let names = private_settings(ctx);
        let marks = vec!["?"; names.len()].join(",");
        scope.sql(
            &format!("(t0.name IS NULL OR t0.name NOT IN ({marks}))"),
            names.into_iter().map(Into::into).collect(),
        );
        Ok(())
    }

    fn on_validate(&self, ctx: &mut Ctx, _p: &Params, w: &mut Write) -> ApiResult<()> {
        match w.fields.get("name").map(value_to_string) {
            Some(n) => refuse_reserved(ctx, &n),
            None => Ok(()),
        }
    }

    fn actions(&self) -> &'static [&'static str] {
        &["getValue", "setValue"]
    }

    fn custom(&self, ctx: &mut Ctx, ac: &str, p: &Params) -> Option<ApiResult<crate::api::Reply>> {
        let r = match ac {
            "getValue" => (|| {
                let name = p.must_str("name")?;
                refuse_reserved(ctx, &name)?;
                let v = ctx.scalar("SELECT value FROM Cinf WHERE name=? ORDER BY id LIMIT 1", &[name.into()])?;
                Ok(match v {
                    Some(crate::query::SqlValue::Text(s)) => json!(s),
                    _ => Value::Null,
                })
            })(),
            "setValue" => (|| {
                require_configurer(ctx)?;
                let name = p.must_str("name")?;
                refuse_reserved(ctx, &name)?;
                let body = p.body_fields();
                let value = match body.get("value") {
                    None => return Err(ApiError::missing("value")),
                    Some(v) if crate::api::params::is_absent(v) => crate::query::SqlValue::Null,
                    Some(v) => value_to_string(v).into(),
                };
                let n = ctx.exec("UPDATE Cinf SET value=? WHERE name=?", &[value.clone(), name.clone().into()])?;
                if n == 0 {
                    ctx.exec("INSERT INTO Cinf (name, value) VALUES (?,?)", &[name.into(), value])?;
                }
                Ok(json!("OK"))
            })(),
            _ => return None,
        };
        Some(r.map(crate::api::Reply::Data))
    }
}
