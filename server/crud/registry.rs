//! Which object serves `Obj.ac` for which caller (protocol §3.1).
//!
//! Objects are registered per (name, role). A logged-in caller's role is its login type; a caller
//! without a login is a guest. The admin may use every op on every table: where no admin object is
//! registered, a plain object over the design table serves. No object for the role → E_NOAUTH for a
//! guest, E_FORBIDDEN for a logged-in caller; a name that is neither a table nor an object → E_PARAM.

use std::sync::Arc;

use super::object::{Decl, Object, Plain};
use crate::api::auth::{AppType, Perm};
use crate::api::ctx::Ctx;
use crate::auth::accounts::Accounts;
use crate::error::{ApiError, ApiResult};
use crate::meta::{Design, Table};
use crate::FastMap;

pub use crate::api::auth::Role;

/// All application objects.
#[derive(Default)]
pub struct Registry {
    map: FastMap<(String, Role), Arc<dyn Object>>,
    generic: FastMap<String, Arc<dyn Object>>,
    /// Permission words an employee may hold, with their labels, in declaration order.
    perms: Vec<(Perm, &'static str)>,
    /// Where the accounts of each app type live (login, chpwd, sessions read it).
    accounts: Vec<Accounts>,
    /// Columns (table, column) whose attachments anyone may read, guests included (posters).
    public_files: Vec<(&'static str, &'static str)>,
    /// `Cinf` names only the server reads (secrets such as a payment channel's key).
    private_settings: Vec<&'static str>,
}

impl Registry {
    /// A registry where the admin can reach every table of the design.
    pub fn new(design: &Design) -> Registry {
        let generic = design
            .tables
            .iter()
            .map(|t| (t.name.clone(), Arc::new(Plain(Decl::of(t.name.clone().into()))) as Arc<dyn Object>))
            .collect();
        Registry {
            map: FastMap::default(),
            generic,
            perms: Vec::new(),
            accounts: Vec::new(),
            public_files: Vec::new(),
            private_settings: Vec::new(),
        }
    }

    /// Declares the account table of an app type.
    pub fn declare_accounts(&mut self, a: Accounts) {
        self.accounts.retain(|x| x.app_type != a.app_type);
        self.accounts.push(a);
    }

    /// The account table of an app type, if the product declared one.
    pub fn accounts(&self, t: AppType) -> Option<&Accounts> {
        self.accounts.iter().find(|a| a.app_type == t)
    }

    /// Declares a permission word an employee may hold (`Employee.perms`) with its label; the module whose
    /// objects check the word declares it.
    pub fn declare_perm(&mut self, p: Perm, label: &'static str) {
        if !self.perms.iter().any(|(q, _)| *q == p) {
            self.perms.push((p, label));
        }
    }

    /// Declares that an attachment named by `table.column` (an id column such as `Event.posterId`) is
    /// public: `att` serves it to anyone, guests included.
    pub fn declare_public_file(&mut self, table: &'static str, column: &'static str) {
        self.public_files.push((table, column));
    }

    /// The columns whose attachments are public.
    pub fn public_files(&self) -> &[(&'static str, &'static str)] {
        &self.public_files
    }

    /// Declares a `Cinf` name the server keeps to itself: no call reads, lists or changes it.
    pub fn declare_private_setting(&mut self, name: &'static str) {
        self.private_settings.push(name);
    }

    /// The private setting names.
    pub fn private_settings(&self) -> &[&'static str] {
        &self.private_settings
    }

    /// The declared permission words.
    pub fn perms(&self) -> &[(Perm, &'static str)] {
        &self.perms
    }

    /// Serves `name` to the given roles with `obj`.
    pub fn register(&mut self, name: &str, roles: &[Role], obj: Arc<dyn Object>) {
        for r in roles {
            self.map.insert((name.to_string(), *r), obj.clone());
        }
    }

    /// The object serving `name` to `role`.
    pub fn get(&self, name: &str, role: Role) -> Option<Arc<dyn Object>> {
        if let Some(o) = self.map.get(&(name.to_string(), role)) {
            return Some(o.clone());
        }
        if role == Role::Admin {
            return self.generic.get(name).cloned();
        }
        None
    }

    /// The addresses of the declarations of every object held here (they live as long as the registry).
    pub fn decl_addresses(&self) -> impl Iterator<Item = usize> + '_ {
        self.map.values().chain(self.generic.values()).map(|o| o.decl() as *const Decl as usize)
    }

    /// Every object a role can reach, sorted by name and role: the registered ones, and the admin's
    /// generic object for each design table without an admin registration. This is the list the
    /// authorization-table test walks, so an object cannot be added without deciding who may use it.
    pub fn entries(&self) -> Vec<(String, Role, Arc<dyn Object>)> {
        let mut out: Vec<(String, Role, Arc<dyn Object>)> =
            self.map.iter().map(|((n, r), o)| (n.clone(), *r, o.clone())).collect();
        for (n, o) in &self.generic {
            if !self.map.contains_key(&(n.clone(), Role::Admin)) {
                out.push((n.clone(), Role::Admin, o.clone()));
            }
        }
        out.sort_by(|a, b| (&a.0, a.1 as u8).cmp(&(&b.0, b.1 as u8)));
        out
    }

    /// True if `Obj.ac` only reads: a standard read op, or a custom action that every object serving
    /// `obj` declares read-only ([`Object::read_actions`]). Decided before the caller is known, so an
    /// action must read for every role or it goes to the writer.
    pub fn action_reads(&self, obj: &str, ac: &str) -> bool {
        if matches!(ac, "get" | "query") {
            return true;
        }
        let mut serving = self.map.iter().filter(|((n, _), _)| n == obj).peekable();
        serving.peek().is_some() && serving.all(|(_, o)| o.read_actions().contains(&ac))
    }

    /// True if `name` is known at all (a table or a registered object).
    pub fn knows(&self, name: &str) -> bool {
        self.generic.contains_key(name) || self.map.keys().any(|(n, _)| n == name)
    }
}

/// The object serving `name` to the caller of `ctx`.
pub fn resolve(ctx: &Ctx, name: &str) -> ApiResult<Arc<dyn Object>> {
    let role = ctx.auth.role();
    match ctx.state.objects.get(name, role) {
        Some(o) => Ok(o),
        None if !ctx.state.objects.knows(name) => {
            Err(ApiError::param("接口不支持").internal(format!("unknown object `{name}`")))
        }
        None => Err(ctx.auth.refuse(format!("Operation is not allowed for current user on object `{name}`"))),
    }
}

/// The design table an object serves.
pub fn table_of<'a>(ctx: &Ctx<'a>, obj: &dyn Object) -> ApiResult<&'a Table> {
    let name = &obj.decl().table;
    ctx.state
        .design
        .table(name)
        .ok_or_else(|| ApiError::server(format!("object serves table `{name}` which the design does not declare")))
}
