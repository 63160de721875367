//! The client commands: each sends native API requests and prints tables or `--json`.

use std::io::{BufRead, IsTerminal};

use clap::Subcommand;
use reqwest::Method;
use serde::Serialize;
use sessiond_api as api;

use crate::client::{self, enc, Api, Credentials};
use crate::fail::{Context, Fail};
use crate::table;
use crate::ClientOpts;

// Parsed once per process; the size difference between variants costs nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Log in; the token is kept (mode 0600) for the commands that follow. The password
    /// comes from SESSIOND_PASSWORD, or is asked for without echo.
    Login {
        /// URL of the sessiond server [default: the last one logged in to, else
        /// http://127.0.0.1:8000].
        #[arg(long, env = "SESSIOND_SERVER", value_name = "URL")]
        server: Option<String>,
        /// User name.
        #[arg(long, short)]
        username: String,
        /// CA certificate (PEM) to check the server's certificate against, e.g. the
        /// DATA_DIR/tls/cert.pem a server generated; kept for later commands.
        #[arg(long, env = "SESSIOND_CA", value_name = "FILE")]
        ca: Option<std::path::PathBuf>,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// End this session on the server and forget the token.
    Logout {
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Who am I: user, session and privileges.
    Whoami {
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// List, show and revoke sessions.
    Sessions {
        #[command(subcommand)]
        cmd: SessionsCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Manage users (needs the user privileges).
    Users {
        #[command(subcommand)]
        cmd: UsersCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Manage extension apps that act on behalf of users (Symphony OBO).
    Apps {
        #[command(subcommand)]
        cmd: AppsCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Manage roles and their privileges.
    Roles {
        #[command(subcommand)]
        cmd: RolesCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Webhook endpoints: signed event deliveries (sessions created and ended, users
    /// disabled and locked).
    Webhooks {
        #[command(subcommand)]
        cmd: crate::webhook_commands::WebhooksCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Network sessions on a server, as Windows' `net session` shows them.
    Net {
        #[command(subcommand)]
        cmd: NetCmd,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Who is connected to a server now (like `w`).
    Who {
        /// The server [default: the sessiond server itself].
        #[arg(long)]
        server: Option<String>,
        #[command(flatten)]
        opts: ClientOpts,
    },
    /// Read the audit log (needs PRIVILEGE_AUDIT_READ).
    Audit {
        #[command(flatten)]
        opts: ClientOpts,
        /// Only this kind: login, login_failed, logout, revoke, denied, ...
        #[arg(long)]
        kind: Option<String>,
        /// Only what this user (name or id) did.
        #[arg(long)]
        user: Option<String>,
        /// Only events at or after this RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        /// At most this many events (newest first) [default: 100].
        #[arg(long)]
        limit: Option<u32>,
    },
}

#[derive(Subcommand)]
pub enum SessionsCmd {
    /// List sessions: yours, or everyone's with PRIVILEGE_SESSION_READ.
    List {
        /// Only this user's (name or id).
        #[arg(long)]
        user: Option<String>,
        /// Only sessions on this server.
        #[arg(long)]
        server: Option<String>,
        /// Only sessions from this client.
        #[arg(long)]
        client: Option<String>,
        /// active, ended or all [default: active].
        #[arg(long)]
        state: Option<String>,
    },
    /// Show one session.
    Show { id: String },
    /// End a session by id; with --others every other session of yours; with --user
    /// every session of that user (PRIVILEGE_SESSION_WRITE).
    Revoke {
        /// The session's id.
        #[arg(required_unless_present_any = ["others", "user"], conflicts_with_all = ["others", "user"])]
        id: Option<String>,
        /// Revoke all your sessions except this one.
        #[arg(long, conflicts_with = "user")]
        others: bool,
        /// Revoke every session of this user (name or id).
        #[arg(long)]
        user: Option<String>,
    },
    /// Give an active session a new end (PRIVILEGE_SESSION_WRITE): --by a duration from
    /// now, e.g. 2h, or --no-end.
    Extend {
        /// The session's id.
        id: String,
        /// The new end, this long from now (e.g. 2h, 3d; at most 366 days).
        #[arg(
            long,
            required_unless_present = "no_end",
            conflicts_with = "no_end",
            value_name = "DURATION"
        )]
        by: Option<String>,
        /// No end at all (the idle time-out still applies).
        #[arg(long)]
        no_end: bool,
    },
}

#[derive(Subcommand)]
pub enum UsersCmd {
    /// List users.
    List,
    /// Show one user (name or id).
    Show { user: String },
    /// Create a user; the password is asked for, or read from stdin with --password-stdin.
    Add {
        name: String,
        #[command(flatten)]
        fields: UserFieldArgs,
        /// Role to grant (repeatable).
        #[arg(long = "role", value_name = "ROLE")]
        roles: Vec<String>,
        /// Create the user without a password (cannot log in by password).
        #[arg(long, conflicts_with = "password_stdin")]
        no_password: bool,
        /// Read the password from the first line of standard input.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Change a user's fields; an empty value clears a field.
    Modify {
        user: String,
        #[command(flatten)]
        fields: UserFieldArgs,
        /// Rename the user.
        #[arg(long)]
        rename: Option<String>,
        /// Allow the user to log in.
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Refuse the user's logins and end their sessions.
        #[arg(long)]
        disable: bool,
        /// Set a new password (asked for, or from stdin with --password-stdin); ends the
        /// user's sessions.
        #[arg(long)]
        reset_password: bool,
        #[arg(long, requires = "reset_password")]
        password_stdin: bool,
    },
    /// Delete a user and end their sessions.
    Delete { user: String },
    /// List the user names locked after failed logins from several addresses.
    Locked,
    /// Lift the lock on a user name (whether or not a user has it) and forget its failed
    /// logins.
    Unlock { name: String },
    /// Register an RSA public key (PEM, 2048 bits or more) with which the user (a bot) signs
    /// its login JWTs.
    AddKey {
        user: String,
        /// The public key file (BEGIN PUBLIC KEY or BEGIN RSA PUBLIC KEY).
        #[arg(long, value_name = "FILE")]
        public_key: std::path::PathBuf,
    },
    /// List a user's RSA public keys.
    Keys { user: String },
    /// Remove one of a user's RSA public keys.
    RemoveKey { user: String, key_id: String },
    /// Replace a user's roles.
    SetRoles {
        user: String,
        /// The complete list of roles (none to remove all).
        roles: Vec<String>,
    },
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct UserFieldArgs {
    #[arg(long)]
    display_name: Option<String>,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    email: Option<String>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    company: Option<String>,
    #[arg(long)]
    location: Option<String>,
    #[arg(long)]
    department: Option<String>,
    #[arg(long)]
    division: Option<String>,
    #[arg(long)]
    job_function: Option<String>,
    #[arg(long)]
    work_phone: Option<String>,
    #[arg(long)]
    mobile_phone: Option<String>,
    /// NORMAL, SYSTEM (service accounts) or SDL.
    #[arg(long)]
    account_type: Option<String>,
    #[arg(long)]
    primary_group: Option<i64>,
    #[arg(long)]
    sid: Option<String>,
    #[arg(long)]
    nfs_uid: Option<String>,
    #[arg(long)]
    home_directory: Option<String>,
    #[arg(long)]
    can_change_password: Option<bool>,
}

impl UserFieldArgs {
    fn into_fields(self) -> api::UserFields {
        api::UserFields {
            display_name: self.display_name,
            first_name: self.first_name,
            last_name: self.last_name,
            email: self.email,
            title: self.title,
            company: self.company,
            location: self.location,
            department: self.department,
            division: self.division,
            job_function: self.job_function,
            work_phone: self.work_phone,
            mobile_phone: self.mobile_phone,
            account_type: self.account_type,
            primary_group: self.primary_group,
            sid: self.sid,
            nfs_uid: self.nfs_uid,
            home_directory: self.home_directory,
            can_change_password: self.can_change_password,
            ..api::UserFields::default()
        }
    }
}

#[derive(Subcommand)]
pub enum NetCmd {
    /// List sessions (`net session`), show one client's (`net session \\CLIENT`), or end
    /// them with --delete.
    Session {
        /// A client computer, with or without the leading \\.
        client: Option<String>,
        /// Only this user's sessions.
        #[arg(long)]
        user: Option<String>,
        /// The server [default: the sessiond server itself].
        #[arg(long)]
        server: Option<String>,
        /// Information level: 0, 1, 2, 10 or 502 [default: 2; 502 for one client]. Levels 1,
        /// 2 and 502 need Administrators or Server Operators.
        #[arg(long)]
        level: Option<u32>,
        /// End the matching sessions (a client, a user or both).
        #[arg(long)]
        delete: bool,
    },
}

/// `HH:MM:SS`, as `net session` shows times.
fn hms(secs: i64) -> String {
    let s = secs.max(0);
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

fn net_query(
    server: &Option<String>,
    client: &Option<String>,
    user: &Option<String>,
) -> Vec<String> {
    let mut q = vec![];
    for (k, v) in [("server", server), ("client", client), ("user", user)] {
        if let Some(v) = v {
            q.push(format!("{k}={}", enc(v)));
        }
    }
    q
}

fn field<'a>(e: &'a serde_json::Value, level: u32, name: &str) -> &'a serde_json::Value {
    &e[format!("sesi{level}_{name}")]
}

async fn net(c: NetCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    let NetCmd::Session {
        client,
        user,
        server,
        level,
        delete,
    } = c;
    let q = net_query(&server, &client, &user);
    if delete {
        if client.is_none() && user.is_none() {
            return Err(Fail::usage("--delete needs a client, --user or both"));
        }
        let r: serde_json::Value = api
            .call(
                Method::DELETE,
                &format!("/net/sessions?{}", q.join("&")),
                None::<&()>,
            )
            .await?;
        if opts.json {
            return print_json(&r);
        }
        println!("Closed {} session(s).", r["closed"]);
        println!("The command completed successfully.");
        return Ok(());
    }
    let level = level.unwrap_or(if client.is_some() { 502 } else { 2 });
    let r: serde_json::Value = api
        .call(
            Method::GET,
            &format!("/net/sessions?{}&level={level}&prefmaxlen=-1", q.join("&")),
            None::<&()>,
        )
        .await?;
    if opts.json {
        return print_json(&r);
    }
    let entries = r["entries"].as_array().cloned().unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("").to_owned();
    if client.is_some() && matches!(level, 2 | 502) {
        for e in &entries {
            println!("User name       {}", text(field(e, level, "username")));
            println!(
                "Computer        {}",
                text(field(e, level, "cname")).trim_start_matches('\\')
            );
            let guest = field(e, level, "user_flags").as_i64().unwrap_or(0) & 1 != 0;
            println!("Guest logon     {}", if guest { "Yes" } else { "No" });
            println!("Client type     {}", text(field(e, level, "cltype_name")));
            if level == 502 {
                println!("Transport       {}", text(field(e, level, "transport")));
            }
            println!(
                "Sess time       {}",
                hms(field(e, level, "time").as_i64().unwrap_or(0))
            );
            println!(
                "Idle time       {}",
                hms(field(e, level, "idle_time").as_i64().unwrap_or(0))
            );
            println!("Opens           {}", field(e, level, "num_opens"));
            println!();
        }
        println!("The command completed successfully.");
        return Ok(());
    }
    println!("Computer              User name            Client Type       Opens Idle time");
    println!();
    println!("{}", "-".repeat(79));
    for e in &entries {
        let opens = field(e, level, "num_opens")
            .as_i64()
            .map(|n| n.to_string())
            .unwrap_or_default();
        let cltype: String = text(field(e, level, "cltype_name"))
            .chars()
            .take(17)
            .collect();
        println!(
            "{:<22}{:<21}{:<18}{:>5} {}",
            text(field(e, level, "cname")),
            text(field(e, level, "username")),
            cltype,
            opens,
            field(e, level, "idle_time")
                .as_i64()
                .map(hms)
                .unwrap_or_default()
        );
    }
    println!("The command completed successfully.");
    Ok(())
}

async fn who(server: Option<String>, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    let q = net_query(&server, &None, &None);
    let r: serde_json::Value = api
        .call(
            Method::GET,
            &format!("/net/sessions?{}&level=10&prefmaxlen=-1", q.join("&")),
            None::<&()>,
        )
        .await?;
    if opts.json {
        return print_json(&r);
    }
    let entries = r["entries"].as_array().cloned().unwrap_or_default();
    let now = time::OffsetDateTime::now_utc();
    println!(
        " {} up, {} session(s) on {}",
        table::time(&now),
        entries.len(),
        r["server"].as_str().unwrap_or("")
    );
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let since = e["sesi10_time"].as_i64().unwrap_or(0);
            let login = now - time::Duration::seconds(since);
            vec![
                e["sesi10_username"].as_str().unwrap_or("").to_owned(),
                e["sesi10_cname"]
                    .as_str()
                    .unwrap_or("")
                    .trim_start_matches('\\')
                    .to_owned(),
                table::time(&login),
                table::human_duration(e["sesi10_idle_time"].as_i64().unwrap_or(0)),
            ]
        })
        .collect();
    table::print(&["USER", "FROM", "LOGIN@", "IDLE"], &rows);
    Ok(())
}

#[derive(Subcommand)]
pub enum AppsCmd {
    /// List apps.
    List,
    /// Show one app.
    Show { app_id: String },
    /// Register an app.
    Add {
        app_id: String,
        #[command(flatten)]
        fields: AppFieldArgs,
    },
    /// Change an app; the lists given replace the old ones.
    Modify {
        app_id: String,
        #[command(flatten)]
        fields: AppFieldArgs,
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        #[arg(long)]
        disable: bool,
    },
    /// Remove an app.
    Delete { app_id: String },
}

#[derive(Debug, Clone, Default, clap::Args)]
pub struct AppFieldArgs {
    #[arg(long)]
    name: Option<String>,
    /// The app's RSA public key (PEM file).
    #[arg(long, value_name = "FILE")]
    public_key: Option<std::path::PathBuf>,
    /// A permission, e.g. GET_BASIC_USER_INFO (repeatable).
    #[arg(long = "permission", value_name = "PERMISSION")]
    permissions: Vec<String>,
    /// A user (name or id) it may act for (repeatable).
    #[arg(long = "user", value_name = "USER")]
    users: Vec<String>,
}

impl AppFieldArgs {
    async fn into_request(
        self,
        api: &Api,
        app_id: Option<String>,
    ) -> Result<api::AppRequest, Fail> {
        let public_key = match &self.public_key {
            Some(p) => Some(
                std::fs::read_to_string(p)
                    .with_context(|| format!("cannot read {}", p.display()))?,
            ),
            None => None,
        };
        let mut users = vec![];
        for u in &self.users {
            users.push(user_ref(api, u).await?);
        }
        Ok(api::AppRequest {
            app_id,
            name: self.name,
            public_key,
            permissions: (!self.permissions.is_empty()).then_some(self.permissions),
            users: (!users.is_empty()).then_some(users),
            enabled: None,
        })
    }
}

fn print_app(a: &api::AppView) {
    println!("App:         {} ({})", a.app_id, a.name);
    println!("Enabled:     {}", if a.enabled { "yes" } else { "no" });
    println!("Permissions: {}", a.permissions.join(", "));
    println!(
        "Acts for:    {}",
        a.users
            .iter()
            .map(|u| u.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
}

async fn apps(c: AppsCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    match c {
        AppsCmd::List => {
            let list: api::AppList = api.call(Method::GET, "/apps", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .apps
                .iter()
                .map(|a| {
                    vec![
                        a.app_id.clone(),
                        a.name.clone(),
                        if a.enabled { "yes" } else { "no" }.into(),
                        a.permissions.join(","),
                        a.users.len().to_string(),
                    ]
                })
                .collect();
            table::print(&["APP", "NAME", "ENABLED", "PERMISSIONS", "USERS"], &rows);
            Ok(())
        }
        AppsCmd::Show { app_id } => {
            let a: api::AppView = api
                .call(Method::GET, &format!("/apps/{}", enc(&app_id)), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&a);
            }
            print_app(&a);
            Ok(())
        }
        AppsCmd::Add { app_id, fields } => {
            let req = fields.into_request(&api, Some(app_id)).await?;
            let a: api::AppView = api.call(Method::POST, "/apps", Some(&req)).await?;
            if opts.json {
                return print_json(&a);
            }
            println!("Registered app {}.", a.app_id);
            Ok(())
        }
        AppsCmd::Modify {
            app_id,
            fields,
            enable,
            disable,
        } => {
            let mut req = fields.into_request(&api, None).await?;
            req.enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            let a: api::AppView = api
                .call(
                    Method::PATCH,
                    &format!("/apps/{}", enc(&app_id)),
                    Some(&req),
                )
                .await?;
            if opts.json {
                return print_json(&a);
            }
            println!("Changed app {}.", a.app_id);
            Ok(())
        }
        AppsCmd::Delete { app_id } => {
            api.call_empty(
                Method::DELETE,
                &format!("/apps/{}", enc(&app_id)),
                None::<&()>,
            )
            .await?;
            println!("Removed app {app_id}.");
            Ok(())
        }
    }
}

#[derive(Subcommand)]
pub enum RolesCmd {
    /// List roles.
    List,
    /// Show a role and its privileges.
    Show { name: String },
    /// Create a custom role, or replace its privileges.
    Put {
        name: String,
        #[arg(long, default_value = "")]
        description: String,
        /// Privilege to grant (repeatable), e.g. PRIVILEGE_SESSION_READ.
        #[arg(long = "privilege", value_name = "PRIVILEGE")]
        privileges: Vec<String>,
    },
    /// Set a role's session rules (built-in roles too); an option left out clears that
    /// rule (the server's setting applies).
    Policy {
        name: String,
        /// End a session unused this long, e.g. 10m.
        #[arg(long, value_name = "DURATION")]
        idle_timeout: Option<String>,
        /// End a session this long after login, e.g. 2h.
        #[arg(long, value_name = "DURATION")]
        session_lifetime: Option<String>,
        /// Concurrent sessions a user of the role may hold.
        #[arg(long, value_name = "N")]
        max_sessions: Option<u32>,
    },
    /// Delete a custom role.
    Delete { name: String },
    /// List every privilege sessiond knows.
    Privileges,
}

pub(crate) fn print_json(v: &impl Serialize) -> Result<(), Fail> {
    println!(
        "{}",
        serde_json::to_string_pretty(v).context("cannot print JSON")?
    );
    Ok(())
}

/// A signed-in client: the server and token from the credentials file.
pub(crate) fn signed_in(opts: &ClientOpts) -> Result<Api, Fail> {
    let path = client::credentials_path(opts.credentials.clone());
    let creds = client::load_credentials(&path)?
        .ok_or_else(|| Fail::new("not logged in: run `sessiond login --username NAME` first"))?;
    Api::new(&creds.server, Some(creds.token), creds.ca.as_deref())
}

fn read_secret(prompt: &str, from_stdin: bool) -> Result<String, Fail> {
    if from_stdin || !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    rpassword::prompt_password(prompt).context("cannot read the password")
}

async fn user_ref(api: &Api, user: &str) -> Result<i64, Fail> {
    if let Ok(id) = user.parse() {
        return Ok(id);
    }
    let list: api::UserList = api.call(Method::GET, "/users", None::<&()>).await?;
    list.users
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(user))
        .map(|u| u.id)
        .ok_or_else(|| Fail::new(format!("no user named {user:?}")))
}

pub async fn run(cmd: ClientCommand) -> Result<(), Fail> {
    match cmd {
        ClientCommand::Login {
            server,
            username,
            ca,
            opts,
        } => login(&opts, server, &username, ca).await,
        ClientCommand::Logout { opts } => {
            let path = client::credentials_path(opts.credentials.clone());
            let api = signed_in(&opts)?;
            let result = api
                .call_empty(Method::DELETE, "/session", None::<&()>)
                .await;
            // The local token goes either way: a dead one is of no use.
            client::remove_credentials(&path)?;
            result?;
            println!("Logged out.");
            Ok(())
        }
        ClientCommand::Whoami { opts } => {
            let api = signed_in(&opts)?;
            let me: api::WhoAmI = api.call(Method::GET, "/session", None::<&()>).await?;
            if opts.json {
                return print_json(&me);
            }
            println!("User:       {} (id {})", me.user.name, me.user.id);
            if let Some(d) = &me.user.display_name {
                println!("Name:       {d}");
            }
            println!("Roles:      {}", me.user.roles.join(", "));
            if let Some(session) = &me.session {
                println!("Session:    {}", session.id);
                println!("Server:     {}", session.server);
                println!("Client:     {}", session.client_name);
                println!("Logged in:  {}", table::time(&session.login_time));
                if let Some(e) = &session.expires_at {
                    println!("Expires:    {}", table::time(e));
                }
            }
            if let Some(t) = &me.access_token_id {
                println!("Access token: {t}");
            }
            println!("Privileges: {}", me.privileges.len());
            for p in &me.privileges {
                println!("  {p}");
            }
            Ok(())
        }
        ClientCommand::Sessions { cmd, opts } => sessions(cmd, &opts).await,
        ClientCommand::Users { cmd, opts } => users(cmd, &opts).await,
        ClientCommand::Roles { cmd, opts } => roles(cmd, &opts).await,
        ClientCommand::Apps { cmd, opts } => apps(cmd, &opts).await,
        ClientCommand::Webhooks { cmd, opts } => crate::webhook_commands::run(cmd, &opts).await,
        ClientCommand::Net { cmd, opts } => net(cmd, &opts).await,
        ClientCommand::Who { server, opts } => who(server, &opts).await,
        ClientCommand::Audit {
            opts,
            kind,
            user,
            since,
            limit,
        } => {
            let api = signed_in(&opts)?;
            let mut q = vec![];
            if let Some(k) = kind {
                q.push(format!("kind={}", enc(&k)));
            }
            if let Some(u) = user {
                q.push(format!("user={}", enc(&u)));
            }
            if let Some(s) = since {
                q.push(format!("since={}", enc(&s)));
            }
            if let Some(l) = limit {
                q.push(format!("limit={l}"));
            }
            let list: api::AuditList = api
                .call(Method::GET, &format!("/audit?{}", q.join("&")), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .events
                .iter()
                .map(|e| {
                    vec![
                        table::time(&e.time),
                        e.kind.clone(),
                        table::opt(e.actor_name.as_deref()),
                        table::opt(e.client.as_deref()),
                        table::opt(e.subject.as_deref()),
                        e.detail.clone(),
                    ]
                })
                .collect();
            table::print(
                &["TIME", "KIND", "ACTOR", "CLIENT", "SUBJECT", "DETAIL"],
                &rows,
            );
            Ok(())
        }
    }
}

async fn login(
    opts: &ClientOpts,
    server: Option<String>,
    username: &str,
    ca: Option<std::path::PathBuf>,
) -> Result<(), Fail> {
    let path = client::credentials_path(opts.credentials.clone());
    let previous = client::load_credentials(&path).ok().flatten();
    let server = server
        .or_else(|| previous.as_ref().map(|c| c.server.clone()))
        .unwrap_or_else(|| client::DEFAULT_SERVER.into());
    let ca = match ca {
        Some(p) => Some(std::path::absolute(&p).unwrap_or(p)),
        None => previous.and_then(|c| c.ca),
    };
    let password = match std::env::var("SESSIOND_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => read_secret(&format!("Password for {username}: "), false)?,
    };
    let api = Api::new(&server, None, ca.as_deref())?;
    let req = api::LoginRequest {
        username: username.to_owned(),
        password,
        client_type: None,
    };
    let resp: api::LoginResponse = api.call(Method::POST, "/login", Some(&req)).await?;
    client::save_credentials(
        &path,
        &Credentials {
            server: api.base.clone(),
            username: username.to_owned(),
            session_id: resp.session_id.clone(),
            token: resp.token,
            ca,
        },
    )?;
    if opts.json {
        return print_json(&serde_json::json!({
            "session_id": resp.session_id,
            "expires_at": resp.expires_at.map(|t| table::time(&t)),
        }));
    }
    println!(
        "Logged in to {} as {username} (session {}).",
        api.base, resp.session_id
    );
    Ok(())
}

fn session_rows(list: &[api::SessionView]) -> Vec<Vec<String>> {
    list.iter()
        .map(|s| {
            vec![
                format!("{}{}", s.id, if s.current { " *" } else { "" }),
                s.username.to_string(),
                s.server.to_string(),
                s.client_name.to_string(),
                s.auth_method.to_string(),
                table::time(&s.login_time),
                s.idle_seconds
                    .map(table::human_duration)
                    .unwrap_or_else(|| "-".into()),
                match &s.end_reason {
                    Some(r) => format!("ended ({r})"),
                    None => s.state.to_string(),
                },
            ]
        })
        .collect()
}

async fn sessions(c: SessionsCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    match c {
        SessionsCmd::List {
            user,
            server,
            client,
            state,
        } => {
            let mut q = vec![];
            for (k, v) in [
                ("user", user),
                ("server", server),
                ("client", client),
                ("state", state),
            ] {
                if let Some(v) = v {
                    q.push(format!("{k}={}", enc(&v)));
                }
            }
            let list: api::SessionList = api
                .call(
                    Method::GET,
                    &format!("/sessions?{}", q.join("&")),
                    None::<&()>,
                )
                .await?;
            if opts.json {
                return print_json(&list);
            }
            table::print(
                &[
                    "SESSION", "USER", "SERVER", "CLIENT", "AUTH", "LOGIN", "IDLE", "STATE",
                ],
                &session_rows(&list.sessions),
            );
            Ok(())
        }
        SessionsCmd::Show { id } => {
            let s: api::SessionView = api
                .call(Method::GET, &format!("/sessions/{}", enc(&id)), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&s);
            }
            println!(
                "Session:     {}{}",
                s.id,
                if s.current { " (this one)" } else { "" }
            );
            println!("User:        {} (id {})", s.username, s.user_id);
            println!("Server:      {}", s.server);
            println!("Client:      {} ({})", s.client_name, s.client_type);
            println!("Auth:        {}", s.auth_method);
            println!("Logged in:   {}", table::time(&s.login_time));
            println!("Last active: {}", table::time(&s.last_active));
            if let Some(e) = &s.expires_at {
                println!("Expires:     {}", table::time(e));
            }
            match (&s.logout_time, &s.end_reason) {
                (Some(t), Some(r)) => println!("Ended:       {} ({r})", table::time(t)),
                _ => println!("State:       active"),
            }
            Ok(())
        }
        SessionsCmd::Extend { id, by, no_end } => {
            let expires_at = match by {
                Some(d) if !no_end => {
                    Some(time::OffsetDateTime::now_utc() + seconds_of("--by", &d)?)
                }
                _ => None,
            };
            let s: api::SessionView = api
                .call(
                    Method::PATCH,
                    &format!("/sessions/{}", enc(&id)),
                    Some(&api::SessionChange { expires_at }),
                )
                .await?;
            if opts.json {
                return print_json(&s);
            }
            match s.expires_at {
                Some(t) => println!("Session {} now ends at {}.", s.id, table::time(&t)),
                None => println!("Session {} now has no end.", s.id),
            }
            Ok(())
        }
        SessionsCmd::Revoke { id, others, user } => {
            if let Some(user) = user {
                let uid = user_ref(&api, &user).await?;
                let r: api::RevokeOthersResponse = api
                    .call(
                        Method::DELETE,
                        &format!("/users/{uid}/sessions"),
                        None::<&()>,
                    )
                    .await?;
                if opts.json {
                    return print_json(&r);
                }
                println!("Revoked {} session(s) of {user}.", r.revoked.len());
                return Ok(());
            }
            if others {
                let r: api::RevokeOthersResponse = api
                    .call(Method::DELETE, "/session/others", None::<&()>)
                    .await?;
                if opts.json {
                    return print_json(&r);
                }
                println!("Revoked {} other session(s).", r.revoked.len());
                return Ok(());
            }
            let id = id.unwrap_or_default();
            let s: api::SessionView = api
                .call(
                    Method::DELETE,
                    &format!("/sessions/{}", enc(&id)),
                    None::<&()>,
                )
                .await?;
            if opts.json {
                return print_json(&s);
            }
            println!("Session {} ended.", s.id);
            Ok(())
        }
    }
}

fn print_policy(p: &api::RolePolicy) {
    let secs = |s: Option<i64>| {
        s.map(table::human_duration)
            .unwrap_or_else(|| "the server's".into())
    };
    println!("  idle time-out:    {}", secs(p.idle_timeout_seconds));
    println!("  session lifetime: {}", secs(p.session_lifetime_seconds));
    println!(
        "  max sessions:     {}",
        p.max_sessions
            .map(|n| n.to_string())
            .unwrap_or_else(|| "the server's".into())
    );
}

/// A duration as people write it (`90s`, `10m`, `2h`, `7d`).
fn seconds_of(what: &str, v: &str) -> Result<time::Duration, Fail> {
    let d = humantime::parse_duration(v).map_err(|e| {
        Fail::usage(format!(
            "{what}: {v:?} is not a duration like 10m or 2h ({e})"
        ))
    })?;
    time::Duration::try_from(d).map_err(|_| Fail::usage(format!("{what}: {v:?} is too long")))
}

fn print_user(u: &api::UserView) {
    println!("Id:           {}", u.id);
    println!("Name:         {}", u.name);
    for (label, v) in [
        ("Display name", &u.display_name),
        ("Email", &u.email),
        ("Title", &u.title),
        ("Department", &u.department),
        ("Home", &u.home_directory),
    ] {
        if let Some(v) = v {
            println!("{label:<13} {v}");
        }
    }
    println!("Account type: {}", u.account_type);
    println!("SID:          {}", u.sid);
    println!("Enabled:      {}", if u.enabled { "yes" } else { "no" });
    println!("Roles:        {}", u.roles.join(", "));
}

async fn users(c: UsersCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    match c {
        UsersCmd::List => {
            let list: api::UserList = api.call(Method::GET, "/users", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .users
                .iter()
                .map(|u| {
                    vec![
                        u.id.to_string(),
                        u.name.to_string(),
                        table::opt(u.display_name.as_deref()),
                        u.account_type.to_string(),
                        if u.enabled { "yes" } else { "no" }.into(),
                        u.roles.join(", "),
                    ]
                })
                .collect();
            table::print(
                &["ID", "NAME", "DISPLAY NAME", "TYPE", "ENABLED", "ROLES"],
                &rows,
            );
            Ok(())
        }
        UsersCmd::Show { user } => {
            let id = user_ref(&api, &user).await?;
            let u: api::UserView = api
                .call(Method::GET, &format!("/users/{id}"), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&u);
            }
            print_user(&u);
            Ok(())
        }
        UsersCmd::Add {
            name,
            fields,
            roles,
            no_password,
            password_stdin,
        } => {
            let mut f = fields.into_fields();
            f.name = Some(name.clone());
            f.roles = (!roles.is_empty()).then_some(roles);
            if !no_password {
                f.password = Some(read_secret(
                    &format!("Password for {name}: "),
                    password_stdin,
                )?);
            }
            let u: api::UserView = api.call(Method::POST, "/users", Some(&f)).await?;
            if opts.json {
                return print_json(&u);
            }
            println!("Created user {} (id {}).", u.name, u.id);
            Ok(())
        }
        UsersCmd::Modify {
            user,
            fields,
            rename,
            enable,
            disable,
            reset_password,
            password_stdin,
        } => {
            let id = user_ref(&api, &user).await?;
            let mut f = fields.into_fields();
            f.name = rename;
            f.enabled = match (enable, disable) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if reset_password {
                f.password = Some(read_secret("New password: ", password_stdin)?);
            }
            let u: api::UserView = api
                .call(Method::PATCH, &format!("/users/{id}"), Some(&f))
                .await?;
            if opts.json {
                return print_json(&u);
            }
            println!("Changed user {} (id {}).", u.name, u.id);
            Ok(())
        }
        UsersCmd::Delete { user } => {
            let id = user_ref(&api, &user).await?;
            api.call_empty(Method::DELETE, &format!("/users/{id}"), None::<&()>)
                .await?;
            println!("Deleted user {user} (id {id}).");
            Ok(())
        }
        UsersCmd::Locked => {
            let list: api::LockoutList = api.call(Method::GET, "/lockouts", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .lockouts
                .iter()
                .map(|l| vec![l.name.clone(), table::time(&l.locked_until)])
                .collect();
            table::print(&["NAME", "LOCKED UNTIL"], &rows);
            Ok(())
        }
        UsersCmd::Unlock { name } => {
            api.call_empty(
                Method::DELETE,
                &format!("/lockouts/{}", path_segment(&name)),
                None::<&()>,
            )
            .await?;
            println!("Unlocked {name}.");
            Ok(())
        }
        UsersCmd::AddKey { user, public_key } => {
            let id = user_ref(&api, &user).await?;
            let pem = std::fs::read_to_string(&public_key)
                .with_context(|| format!("cannot read {}", public_key.display()))?;
            let k: api::KeyView = api
                .call(
                    Method::POST,
                    &format!("/users/{id}/keys"),
                    Some(&api::KeyRequest { public_key: pem }),
                )
                .await?;
            if opts.json {
                return print_json(&k);
            }
            println!("Added key {} to {user}.", k.id);
            Ok(())
        }
        UsersCmd::Keys { user } => {
            let id = user_ref(&api, &user).await?;
            let list: api::KeyList = api
                .call(Method::GET, &format!("/users/{id}/keys"), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .keys
                .iter()
                .map(|k| vec![k.id.clone(), table::time(&k.created_at)])
                .collect();
            table::print(&["KEY", "ADDED"], &rows);
            Ok(())
        }
        UsersCmd::RemoveKey { user, key_id } => {
            let id = user_ref(&api, &user).await?;
            api.call_empty(
                Method::DELETE,
                &format!("/users/{id}/keys/{}", enc(&key_id)),
                None::<&()>,
            )
            .await?;
            println!("Removed key {key_id} from {user}.");
            Ok(())
        }
        UsersCmd::SetRoles { user, roles } => {
            let id = user_ref(&api, &user).await?;
            let u: api::UserView = api
                .call(Method::PUT, &format!("/users/{id}/roles"), Some(&roles))
                .await?;
            if opts.json {
                return print_json(&u);
            }
            println!("{} now has roles: {}", u.name, u.roles.join(", "));
            Ok(())
        }
    }
}

async fn roles(c: RolesCmd, opts: &ClientOpts) -> Result<(), Fail> {
    let api = signed_in(opts)?;
    match c {
        RolesCmd::List => {
            let list: api::RoleList = api.call(Method::GET, "/roles", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .roles
                .iter()
                .map(|r| {
                    vec![
                        r.name.clone(),
                        if r.builtin { "built-in" } else { "custom" }.into(),
                        r.privileges.len().to_string(),
                        r.description.clone(),
                    ]
                })
                .collect();
            table::print(&["ROLE", "KIND", "PRIVILEGES", "DESCRIPTION"], &rows);
            Ok(())
        }
        RolesCmd::Show { name } => {
            let r: api::RoleView = api
                .call(Method::GET, &format!("/roles/{}", enc(&name)), None::<&()>)
                .await?;
            if opts.json {
                return print_json(&r);
            }
            println!(
                "{} ({}): {}",
                r.name,
                if r.builtin { "built-in" } else { "custom" },
                r.description
            );
            print_policy(&r.policy);
            for p in &r.privileges {
                println!("  {p}");
            }
            Ok(())
        }
        RolesCmd::Policy {
            name,
            idle_timeout,
            session_lifetime,
            max_sessions,
        } => {
            let secs = |what: &str, v: Option<String>| -> Result<Option<i64>, Fail> {
                v.map(|d| seconds_of(what, &d).map(|d| d.whole_seconds()))
                    .transpose()
            };
            let req = api::RolePolicy {
                idle_timeout_seconds: secs("--idle-timeout", idle_timeout)?,
                session_lifetime_seconds: secs("--session-lifetime", session_lifetime)?,
                max_sessions,
            };
            let r: api::RoleView = api
                .call(
                    Method::PUT,
                    &format!("/roles/{}/policy", enc(&name)),
                    Some(&req),
                )
                .await?;
            if opts.json {
                return print_json(&r);
            }
            println!("Saved the session rules of {}:", r.name);
            print_policy(&r.policy);
            Ok(())
        }
        RolesCmd::Put {
            name,
            description,
            privileges,
        } => {
            let req = api::RoleRequest {
                name: name.clone(),
                description,
                privileges,
            };
            let r: api::RoleView = api
                .call(Method::PUT, &format!("/roles/{}", enc(&name)), Some(&req))
                .await?;
            if opts.json {
                return print_json(&r);
            }
            println!(
                "Saved role {} with {} privilege(s).",
                r.name,
                r.privileges.len()
            );
            Ok(())
        }
        RolesCmd::Delete { name } => {
            api.call_empty(
                Method::DELETE,
                &format!("/roles/{}", enc(&name)),
                None::<&()>,
            )
            .await?;
            println!("Deleted role {name}.");
            Ok(())
        }
        RolesCmd::Privileges => {
            let list: Vec<api::PrivilegeView> =
                api.call(Method::GET, "/privileges", None::<&()>).await?;
            if opts.json {
                return print_json(&list);
            }
            let rows: Vec<Vec<String>> = list
                .iter()
                .map(|p| vec![p.name.clone(), p.description.clone()])
                .collect();
            table::print(&["PRIVILEGE", "DESCRIPTION"], &rows);
            Ok(())
        }
    }
}

/// `s` percent-encoded for one path segment.
fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
