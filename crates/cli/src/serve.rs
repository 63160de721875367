//! `sessiond serve` and `sessiond migrate`: configuration (flags, then `SESSIOND_*`
//! environment variables, then the TOML file, which `file_layer` turns into the options'
//! defaults, then the built-in defaults) and the server's start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::logging::LogFormat;
use clap::Args;
use sessiond_core::service::{SessionLimitAction, WebhookPolicy};
use sessiond_core::{Core, CoreConfig, LockoutPolicy, LoginThrottle, SystemClock};
use sessiond_server::{tls, AppState, ConnectionLimits, PamConfig, ServerConfig, Transport};
use sessiond_store::StoreSpec;

use crate::fail::{Context, Fail};

/// Options of `sessiond serve`. Each can also be set by its environment variable or in the
/// TOML file given with --config (keys as the long option, with `_` for `-`).
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// TOML configuration file (lowest precedence after the built-in defaults).
    #[arg(long, env = "SESSIOND_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on.
    #[arg(
        long,
        default_value = "127.0.0.1:8000",
        env = "SESSIOND_LISTEN",
        value_name = "ADDR:PORT"
    )]
    pub listen: String,
    /// Directory of the embedded SQLite store, created if missing.
    #[arg(
        long,
        default_value = "./sessiond-data",
        env = "SESSIOND_DATA_DIR",
        value_name = "DIR"
    )]
    pub data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded store: postgres://USER[:PASSWORD]@HOST:PORT/DB
    /// (add ?options=-c%20search_path%3DSCHEMA for a schema). Nodes sharing one database
    /// share every session.
    #[arg(long, env = "SESSIOND_STORE", value_name = "URL")]
    pub store: Option<String>,
    /// Connections in the PostgreSQL pool [default: 10].
    #[arg(long, env = "SESSIOND_STORE_POOL_SIZE", value_name = "N")]
    pub store_pool_size: Option<u32>,
    /// TLS certificate chain (PEM). Without --tls-cert/--tls-key, a self-signed certificate
    /// is generated once into DATA_DIR/tls/ and its fingerprint printed.
    #[arg(
        long,
        env = "SESSIOND_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM), readable by sessiond only.
    #[arg(
        long,
        env = "SESSIOND_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
    /// Extra host name for the generated certificate (repeatable; localhost, 127.0.0.1, ::1
    /// and the server name are always in it).
    #[arg(
        long = "tls-hostname",
        env = "SESSIOND_TLS_HOSTNAMES",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub tls_hostnames: Vec<String>,
    /// Serve plain HTTP instead of HTTPS (only behind a proxy that terminates TLS).
    /// `--insecure-http` alone means true; `false` (also in the environment) overrides a
    /// file's `true`.
    #[arg(
        long,
        default_value = "false",
        env = "SESSIOND_INSECURE_HTTP",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub insecure_http: bool,
    /// Name of this server, recorded on the sessions opened here [default: the host name].
    #[arg(long, env = "SESSIOND_SERVER_NAME", value_name = "NAME")]
    pub server_name: Option<String>,
    /// End a session after this long without a request, e.g. 30m; "off" disables.
    #[arg(
        long,
        default_value = "30m",
        env = "SESSIOND_IDLE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub idle_timeout: String,
    /// End a session this long after login, e.g. 8h; "off" disables.
    #[arg(
        long,
        default_value = "8h",
        env = "SESSIOND_SESSION_LIFETIME",
        value_name = "DURATION"
    )]
    pub session_lifetime: String,
    /// Keep ended sessions queryable this long.
    #[arg(
        long,
        default_value = "30d",
        env = "SESSIOND_HISTORY_RETENTION",
        value_name = "DURATION"
    )]
    pub history_retention: String,
    /// Keep audit events this long.
    #[arg(
        long,
        default_value = "90d",
        env = "SESSIOND_AUDIT_RETENTION",
        value_name = "DURATION"
    )]
    pub audit_retention: String,
    /// Largest request body in bytes; larger ones get 413.
    #[arg(
        long,
        default_value = "1048576",
        env = "SESSIOND_MAX_BODY_BYTES",
        value_name = "BYTES"
    )]
    pub max_body_bytes: usize,
    /// How often in-memory activity is written to the store.
    #[arg(
        long,
        default_value = "5s",
        env = "SESSIOND_FLUSH_INTERVAL",
        value_name = "DURATION"
    )]
    pub flush_interval: String,
    /// How often expired and idle sessions are closed and old history purged.
    #[arg(
        long,
        default_value = "60s",
        env = "SESSIOND_SWEEP_INTERVAL",
        value_name = "DURATION"
    )]
    pub sweep_interval: String,
    /// Web-service root of the Commvault dialect (repeatable) [default: /commandcenter/api
    /// and /webconsole/api].
    #[arg(
        long = "commvault-root",
        env = "SESSIOND_COMMVAULT_ROOTS",
        value_delimiter = ',',
        value_name = "PATH"
    )]
    pub commvault_roots: Vec<String>,
    /// A proxy (address or CIDR) whose Forwarded / X-Forwarded-For headers name the client
    /// (repeatable, or comma-separated in the environment). From any other peer those
    /// headers are ignored.
    #[arg(
        long = "trusted-proxy",
        env = "SESSIOND_TRUSTED_PROXY",
        value_delimiter = ',',
        value_name = "CIDR",
        value_parser = proxy_net
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Keytab for the MIM PAM dialect's Integrated Windows Authentication (HTTP Negotiate),
    /// holding HTTP/host@REALM. Loads MIT's libgssapi_krb5.so.2 (Debian: libgssapi-krb5-2).
    #[arg(long, env = "SESSIOND_KEYTAB", value_name = "FILE")]
    pub keytab: Option<PathBuf>,
    /// NetBIOS domain of PAM user names, DOMAIN\name [default: the Kerberos realm's first
    /// label, else the server name's].
    #[arg(long, env = "SESSIOND_PAM_DOMAIN", value_name = "DOMAIN")]
    pub pam_domain: Option<String>,
    /// Base URL of PAM's odata.metadata [default: the URL the client used when its host is
    /// a --pam-host, else https://SERVER-NAME].
    #[arg(long, env = "SESSIOND_PAM_PUBLIC_URL", value_name = "URL")]
    pub pam_public_url: Option<String>,
    /// A host name clients use in the URL, trusted for odata.metadata when
    /// --pam-public-url is not set (repeatable) [default: the server name, the TLS host
    /// names, localhost, 127.0.0.1, [::1]].
    #[arg(
        long = "pam-host",
        env = "SESSIOND_PAM_HOSTS",
        value_delimiter = ',',
        value_name = "NAME"
    )]
    pub pam_hosts: Vec<String>,
    /// Accept Authorization: Basic on the PAM endpoint (`--pam-basic` alone means true).
    #[arg(
        long,
        default_value = "false",
        env = "SESSIOND_PAM_BASIC",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub pam_basic: bool,
    /// A request whose body has not fully arrived after this long gets 408, in the
    /// dialect's own error shape. (Formerly --pam-read-timeout.)
    #[arg(
        long,
        default_value = "30s",
        alias = "pam-read-timeout",
        env = "SESSIOND_READ_TIMEOUT",
        value_name = "DURATION"
    )]
    pub read_timeout: String,
    /// An origin allowed by CORS on the PAM endpoint (repeatable; * for any).
    #[arg(
        long = "pam-cors-origin",
        env = "SESSIOND_PAM_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGIN"
    )]
    pub pam_cors_origins: Vec<String>,
    /// Let CORS requests carry credentials (cookies, Negotiate); `--pam-cors-credentials`
    /// alone means true.
    #[arg(
        long,
        default_value = "false",
        env = "SESSIOND_PAM_CORS_CREDENTIALS",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub pam_cors_credentials: bool,
    /// Map a Kerberos principal to a user, PRINCIPAL=USER (repeatable); other principals
    /// lose their realm (alice@REALM is alice).
    #[arg(
        long = "pam-principal-map",
        env = "SESSIOND_PAM_PRINCIPAL_MAP",
        value_delimiter = ',',
        value_name = "PRINCIPAL=USER"
    )]
    pub pam_principal_map: Vec<String>,
    /// An LDAP directory (OpenLDAP, Active Directory) that owns the users sessiond does not:
    /// a password login for such a name binds to it as that user (the password is never
    /// stored). ldap://HOST:PORT or ldaps://HOST:PORT.
    #[arg(long, env = "SESSIOND_LDAP_URL", value_name = "URL")]
    pub ldap_url: Option<String>,
    /// Upgrade the ldap:// connection with StartTLS (`--ldap-starttls` alone means true).
    #[arg(
        long,
        default_value = "false",
        env = "SESSIOND_LDAP_STARTTLS",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub ldap_starttls: bool,
    /// CA certificates (PEM) the directory's certificate must chain to [default: the
    /// system's].
    #[arg(long, env = "SESSIOND_LDAP_CA", value_name = "FILE")]
    pub ldap_ca: Option<PathBuf>,
    /// The service account that searches the directory [default: anonymous searches].
    #[arg(long, env = "SESSIOND_LDAP_BIND_DN", value_name = "DN")]
    pub ldap_bind_dn: Option<String>,
    /// A file holding the service account's password (never on the command line).
    #[arg(long, env = "SESSIOND_LDAP_BIND_PASSWORD_FILE", value_name = "FILE")]
    pub ldap_bind_password_file: Option<PathBuf>,
    /// Where users are searched (subtree), e.g. ou=people,dc=example,dc=test.
    #[arg(long, env = "SESSIOND_LDAP_USER_BASE", value_name = "DN")]
    pub ldap_user_base: Option<String>,
    /// The filter that finds a user; {username} is the login name, escaped. For Active
    /// Directory: (sAMAccountName={username}).
    #[arg(
        long,
        default_value = "(uid={username})",
        env = "SESSIOND_LDAP_USER_FILTER",
        value_name = "FILTER"
    )]
    pub ldap_user_filter: String,
    /// Users who also match this filter are disabled (Active Directory's
    /// userAccountControl is read in any case), e.g. (employeeType=disabled).
    #[arg(long, env = "SESSIOND_LDAP_DISABLED_FILTER", value_name = "FILTER")]
    pub ldap_disabled_filter: Option<String>,
    /// Members of GROUP (its DN or its name) get ROLE (repeatable).
    #[arg(
        long = "ldap-group-role",
        env = "SESSIOND_LDAP_GROUP_ROLES",
        value_delimiter = ';',
        value_name = "GROUP=ROLE"
    )]
    pub ldap_group_roles: Vec<String>,
    /// How often every directory user is read again: users disabled or removed there lose
    /// their sessions, group changes reach their privileges.
    #[arg(
        long,
        default_value = "5m",
        env = "SESSIOND_LDAP_SYNC_INTERVAL",
        value_name = "DURATION"
    )]
    pub ldap_sync_interval: String,
    /// Concurrent sessions one user may hold (a role's policy may set fewer); 0: no cap.
    #[arg(
        long,
        default_value = "0",
        env = "SESSIOND_MAX_SESSIONS_PER_USER",
        value_name = "N"
    )]
    pub max_sessions_per_user: u32,
    /// A login past the user's cap: refuse it (403 in the dialect's shape), or end the
    /// user's oldest session (reason "session_limit") to make room.
    #[arg(
        long,
        default_value = "refuse",
        env = "SESSIOND_SESSION_LIMIT_ACTION",
        value_name = "ACTION"
    )]
    pub session_limit_action: LimitAction,
    /// A webhook delivery without an answer for this long failed.
    #[arg(
        long,
        default_value = "10s",
        env = "SESSIOND_WEBHOOK_TIMEOUT",
        value_name = "DURATION"
    )]
    pub webhook_timeout: String,
    /// Longest wait between attempts at a failing webhook endpoint (the waits double from
    /// one second up to this).
    #[arg(
        long,
        default_value = "5m",
        env = "SESSIOND_WEBHOOK_RETRY_MAX",
        value_name = "DURATION"
    )]
    pub webhook_retry_max: String,
    /// Events an endpoint has refused for this long move to its dead letters, where an
    /// admin can read and replay them.
    #[arg(
        long,
        default_value = "24h",
        env = "SESSIOND_WEBHOOK_GIVE_UP_AFTER",
        value_name = "DURATION"
    )]
    pub webhook_give_up_after: String,
    /// Failed logins for one name (from --lockout-addresses addresses or more) that lock
    /// it for everyone, in every dialect; 0 disables locking.
    #[arg(
        long,
        default_value = "5",
        env = "SESSIOND_LOCKOUT_THRESHOLD",
        value_name = "N"
    )]
    pub lockout_threshold: u32,
    /// How many client addresses those failures must come from to lock the name: failures
    /// from fewer only slow them down.
    #[arg(
        long,
        default_value = "3",
        env = "SESSIOND_LOCKOUT_ADDRESSES",
        value_name = "N"
    )]
    pub lockout_addresses: u32,
    /// Failed logins from one address, or for one name, before each further one makes it
    /// wait (1s, doubling); 0 disables the throttle.
    #[arg(
        long,
        default_value = "5",
        env = "SESSIOND_THROTTLE_AFTER",
        value_name = "N"
    )]
    pub throttle_after: u32,
    /// The longest wait an address is given; a name waits 30s at most.
    #[arg(
        long,
        default_value = "5m",
        env = "SESSIOND_THROTTLE_MAX_WAIT",
        value_name = "DURATION"
    )]
    pub throttle_max_wait: String,
    /// The window in which those failures count.
    #[arg(
        long,
        default_value = "15m",
        env = "SESSIOND_LOCKOUT_WINDOW",
        value_name = "DURATION"
    )]
    pub lockout_window: String,
    /// How long a locked account stays locked.
    #[arg(
        long,
        default_value = "30m",
        env = "SESSIOND_LOCKOUT_DURATION",
        value_name = "DURATION"
    )]
    pub lockout_duration: String,
    /// Entries per page of paged lists (Qumulo access tokens, SMB sessions) when the client
    /// asks for no limit.
    #[arg(
        long,
        default_value = "100",
        env = "SESSIOND_PAGE_SIZE",
        value_name = "N"
    )]
    pub page_size: u32,
    /// Open connections at most; at the cap the idlest is closed for a newcomer
    /// [default: 10000, or the open-file limit less 128 if lower].
    #[arg(long, env = "SESSIOND_MAX_CONNECTIONS", value_name = "N")]
    pub max_connections: Option<usize>,
    /// Once a request starts arriving, its headers must be complete within this.
    #[arg(
        long,
        default_value = "10s",
        env = "SESSIOND_HEADER_TIMEOUT",
        value_name = "DURATION"
    )]
    pub header_timeout: String,
    /// A connection with no request in flight that sends nothing for this long is closed.
    #[arg(
        long,
        default_value = "30s",
        env = "SESSIOND_KEEP_ALIVE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub keep_alive_timeout: String,
    /// A TLS handshake not done within this is dropped.
    #[arg(
        long,
        default_value = "10s",
        env = "SESSIOND_TLS_HANDSHAKE_TIMEOUT",
        value_name = "DURATION"
    )]
    pub tls_handshake_timeout: String,
    /// Password hashes computed at once [default: the number of CPUs less one, at least
    /// one, so that a login storm leaves a core to the requests that present tokens].
    #[arg(long, env = "SESSIOND_HASH_CONCURRENCY", value_name = "N")]
    pub hash_concurrency: Option<usize>,
    /// Tokens the hot cache holds; a token not in it costs one store read.
    #[arg(
        long,
        default_value = "100000",
        env = "SESSIOND_CACHE_CAPACITY",
        value_name = "N"
    )]
    pub cache_capacity: usize,
    /// At start, load the active sessions into the hot cache in the background (up to
    /// --cache-capacity), so that their first requests need no store read; requests are
    /// answered meanwhile.
    #[arg(
        long,
        default_value = "true",
        env = "SESSIOND_WARM_CACHE",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub warm_cache: bool,
    /// Serve Prometheus metrics (counts and durations only) at /metrics, without
    /// authentication.
    #[arg(
        long,
        default_value = "true",
        env = "SESSIOND_METRICS",
        value_name = "BOOL",
        num_args = 0..=1,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub metrics: bool,
    /// File holding the first admin's password (else SESSIOND_ADMIN_PASSWORD, else a random
    /// one is printed once). Used only when the store has no users.
    #[arg(long, env = "SESSIOND_ADMIN_PASSWORD_FILE", value_name = "FILE")]
    pub admin_password_file: Option<PathBuf>,
    /// Log as text lines (control characters escaped) or as JSON lines.
    #[arg(
        long,
        default_value = "text",
        env = "SESSIOND_LOG_FORMAT",
        value_name = "FORMAT"
    )]
    pub log_format: LogFormat,
}

/// The resolved configuration.
#[derive(Debug)]
pub struct Settings {
    pub listen: SocketAddr,
    /// The PAM dialect's keytab (Negotiate), if any.
    pub keytab: Option<PathBuf>,
    pub store: StoreSpec,
    /// sessiond's own directory: the SQLite store (without --store) and TLS material.
    pub data_dir: PathBuf,
    /// `None`: plain HTTP.
    pub tls: Option<TlsSettings>,
    pub core: CoreConfig,
    pub server: ServerConfig,
    pub admin_password_file: Option<PathBuf>,
    pub log: Option<String>,
    pub log_format: LogFormat,
    /// Fill the hot cache from the store in the background after start.
    pub warm_cache: bool,
    /// Users from a directory, if configured.
    pub ldap: Option<LdapSettings>,
}

/// The directory, built (and so checked) once while the settings are resolved.
pub struct LdapSettings {
    pub directory: Arc<sessiond_directory::LdapDirectory>,
    pub group_roles: sessiond_core::directory::GroupRoles,
    pub sync_every: Duration,
}

impl std::fmt::Debug for LdapSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use sessiond_core::directory::Directory as _;
        f.debug_struct("LdapSettings")
            .field("directory", &self.directory.describe())
            .field("group_roles", &self.group_roles)
            .field("sync_every", &self.sync_every)
            .finish()
    }
}

#[derive(Debug)]
pub struct TlsSettings {
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    pub hostnames: Vec<String>,
}

/// Variables sessiond reads that are no option of a command (each option's own variable is
/// declared once, on the option, and read from there).
const OTHER_ENV: &[&str] = &[
    "SESSIOND_ADMIN_PASSWORD",
    "SESSIOND_PASSWORD",
    // Read by the test suite only.
    "SESSIOND_TEST_POSTGRES",
];

/// Every `SESSIOND_*` variable set but read by nothing: each is reported as a likely typo.
/// `cli` is the whole command line's definition, whose options name their variables.
pub fn unknown_env_vars(cli: &clap::Command) -> Vec<String> {
    fn collect(cmd: &clap::Command, known: &mut Vec<String>) {
        for arg in cmd.get_arguments() {
            if let Some(env) = arg.get_env() {
                known.push(env.to_string_lossy().into_owned());
            }
        }
        for sub in cmd.get_subcommands() {
            collect(sub, known);
        }
    }
    let mut known: Vec<String> = OTHER_ENV.iter().map(|s| (*s).to_owned()).collect();
    collect(cli, &mut known);
    std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .filter(|k| k.starts_with("SESSIOND_") && !known.contains(k))
        .collect()
}

/// A duration like `30m`, `8h`, `90s`, `30d`; `off`/`0` gives `None` where allowed.
/// Room for connections within the open-file limit, keeping some for the store and logs.
fn default_max_connections() -> usize {
    let files = crate::private::open_file_limit().unwrap_or(1024);
    usize::try_from(files.saturating_sub(128))
        .unwrap_or(usize::MAX)
        .clamp(16, 10_000)
}

fn duration(what: &str, v: &str, allow_off: bool) -> Result<Option<Duration>, Fail> {
    if allow_off && (v == "off" || v == "0") {
        return Ok(None);
    }
    let d = humantime::parse_duration(v).map_err(|e| {
        Fail::usage(format!(
            "{what}: {v:?} is not a duration like 30m or 8h ({e})"
        ))
    })?;
    if d.is_zero() {
        return Err(Fail::usage(format!("{what} must be more than zero")));
    }
    Ok(Some(d))
}

fn to_time(d: Duration) -> time::Duration {
    time::Duration::try_from(d).unwrap_or(time::Duration::MAX)
}

impl ServeArgs {
    pub fn resolve(self, log_flag: Option<String>) -> Result<Settings, Fail> {
        // The file's values arrived as the options' defaults (`file_layer`).
        let ldap = ldap_settings(&self)?;
        let listen = self.listen;
        let listen: SocketAddr = listen.parse().map_err(|_| {
            Fail::usage(format!(
                "--listen: {listen:?} is not an address like 127.0.0.1:8000"
            ))
        })?;
        let idle = self.idle_timeout;
        let lifetime = self.session_lifetime;
        let history = self.history_retention;
        let audit = self.audit_retention;
        let flush = self.flush_interval;
        let sweep = self.sweep_interval;
        let threshold = self.lockout_threshold;
        let window = self.lockout_window;
        let lock_for = self.lockout_duration;
        let lockout = if threshold == 0 {
            None
        } else {
            Some(LockoutPolicy {
                max_failures: threshold,
                window: duration("--lockout-window", &window, false)?
                    .map(to_time)
                    .unwrap_or_default(),
                lock_for: duration("--lockout-duration", &lock_for, false)?
                    .map(to_time)
                    .unwrap_or_default(),
                min_addresses: self.lockout_addresses.max(1),
            })
        };
        let throttle = {
            let after = self.throttle_after;
            let max_wait = self.throttle_max_wait;
            let max_wait = duration("--throttle-max-wait", &max_wait, false)?
                .map(to_time)
                .unwrap_or_default();
            let mut t = LoginThrottle::default();
            // 0: never throttle.
            let free = if after == 0 { u32::MAX - 1 } else { after };
            t.by_address.free = free;
            t.by_address.max = max_wait;
            t.by_name.free = free;
            t.by_name.max = t.by_name.max.min(max_wait);
            t
        };
        let webhooks = {
            let d = |what, v: &str| -> Result<time::Duration, Fail> {
                Ok(duration(what, v, false)?.map(to_time).unwrap_or_default())
            };
            let mut w = WebhookPolicy {
                timeout: d("--webhook-timeout", &self.webhook_timeout)?,
                retry_max: d("--webhook-retry-max", &self.webhook_retry_max)?,
                give_up_after: d("--webhook-give-up-after", &self.webhook_give_up_after)?,
                ..WebhookPolicy::default()
            };
            w.retry_min = w.retry_min.min(w.retry_max);
            w
        };
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let core = CoreConfig {
            server_name: self
                .server_name
                .unwrap_or_else(|| gethostname::gethostname().to_string_lossy().into_owned()),
            idle_timeout: duration("--idle-timeout", &idle, true)?.map(to_time),
            session_lifetime: duration("--session-lifetime", &lifetime, true)?.map(to_time),
            history_retention: duration("--history-retention", &history, false)?
                .map(to_time)
                .unwrap_or_default(),
            audit_retention: duration("--audit-retention", &audit, false)?
                .map(to_time)
                .unwrap_or_default(),
            hash_concurrency: self
                .hash_concurrency
                .unwrap_or(cpus.saturating_sub(1))
                .max(1),
            cache_capacity: self.cache_capacity.max(1),
            lockout,
            throttle,
            max_sessions_per_user: (self.max_sessions_per_user > 0)
                .then_some(self.max_sessions_per_user),
            session_limit: match self.session_limit_action {
                LimitAction::Refuse => SessionLimitAction::Refuse,
                LimitAction::EndOldest => SessionLimitAction::EndOldest,
            },
            webhooks,
        };
        let read_timeout = self.read_timeout;
        let header = self.header_timeout;
        let keep_alive = self.keep_alive_timeout;
        let handshake = self.tls_handshake_timeout;
        let connections = ConnectionLimits {
            max_connections: self
                .max_connections
                .unwrap_or_else(default_max_connections)
                .max(1),
            header_timeout: duration("--header-timeout", &header, false)?.unwrap_or_default(),
            idle_timeout: duration("--keep-alive-timeout", &keep_alive, false)?.unwrap_or_default(),
            tls_handshake_timeout: duration("--tls-handshake-timeout", &handshake, false)?
                .unwrap_or_default(),
        };
        let server = ServerConfig {
            connections,
            read_timeout: duration("--read-timeout", &read_timeout, false)?.unwrap_or_default(),
            max_body_bytes: self.max_body_bytes,
            flush_interval: duration("--flush-interval", &flush, false)?.unwrap_or_default(),
            sweep_interval: duration("--sweep-interval", &sweep, false)?.unwrap_or_default(),
            page_size: self.page_size.clamp(1, 1000),
            commvault_roots: commvault_roots(
                (!self.commvault_roots.is_empty()).then_some(self.commvault_roots),
            )?,
            pam: PamConfig::default(),
            https: false,
            metrics: self.metrics,
            trusted_proxies: self.trusted_proxies,
        };
        let keytab = self.keytab;
        let pam_map = self.pam_principal_map;
        let mut principal_map = vec![];
        for m in pam_map {
            let (p, u) = m
                .split_once('=')
                .filter(|(p, u)| !p.is_empty() && !u.is_empty())
                .ok_or_else(|| {
                    Fail::usage(format!("--pam-principal-map: {m:?} is not PRINCIPAL=USER"))
                })?;
            principal_map.push((p.to_owned(), u.to_owned()));
        }
        // Derived from the keytab's realm, else from this server's name.
        let domain = self.pam_domain.unwrap_or_else(|| {
            let realm = keytab
                .as_ref()
                .and_then(|k| std::fs::read(k).ok())
                .and_then(|bytes| sessiond_server::negotiate::keytab_realm(&bytes));
            sessiond_server::negotiate::netbios_domain(
                realm.as_deref().unwrap_or(&core.server_name),
            )
        });
        let mut server = server;
        server.pam = PamConfig {
            domain,
            public_url: self.pam_public_url,
            hosts: self.pam_hosts,
            basic: self.pam_basic,
            cors_origins: self.pam_cors_origins,
            cors_credentials: self.pam_cors_credentials,
            secure_cookie: false,
            principal_map,
        };
        let data_dir = self.data_dir;
        let store = store_spec(self.store, data_dir.clone(), self.store_pool_size)?;
        let insecure_http = self.insecure_http;
        let (tls_cert, tls_key) = (self.tls_cert, self.tls_key);
        if tls_cert.is_some() != tls_key.is_some() {
            return Err(Fail::usage("tls_cert and tls_key go together"));
        }
        let tls = (!insecure_http).then_some(TlsSettings {
            cert: tls_cert,
            key: tls_key,
            hostnames: self.tls_hostnames,
        });
        server.pam.secure_cookie = tls.is_some();
        server.https = tls.is_some();
        // The names this server is known by are trusted hosts for PAM's metadata URL.
        let mut known = vec![core.server_name.clone()];
        if let Some(t) = &tls {
            known.extend(t.hostnames.iter().cloned());
        }
        known.extend(PamConfig::default().hosts);
        for name in known {
            if !server
                .pam
                .hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(&name))
            {
                server.pam.hosts.push(name);
            }
        }
        Ok(Settings {
            listen,
            keytab,
            store,
            data_dir,
            tls,
            core,
            server,
            admin_password_file: self.admin_password_file,
            log: log_flag,
            log_format: self.log_format,
            warm_cache: self.warm_cache,
            ldap,
        })
    }
}

/// The directory settings, checked; `None` without `--ldap-url`.
fn ldap_settings(a: &ServeArgs) -> Result<Option<LdapSettings>, Fail> {
    let Some(url) = a.ldap_url.clone() else {
        return Ok(None);
    };
    let bind_password = match &a.ldap_bind_password_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| {
                    Fail::usage(format!("--ldap-bind-password-file {}: {e}", f.display()))
                })?
                .trim_end_matches(['\r', '\n'])
                .to_owned(),
        ),
        None => None,
    };
    if a.ldap_bind_dn.is_some() != bind_password.is_some() {
        return Err(Fail::usage(
            "--ldap-bind-dn and --ldap-bind-password-file go together",
        ));
    }
    let mut group_roles = vec![];
    for m in &a.ldap_group_roles {
        // A DN holds '=' itself: the role is after the last one.
        let (g, r) = m
            .rsplit_once('=')
            .filter(|(g, r)| !g.trim().is_empty() && !r.trim().is_empty())
            .ok_or_else(|| Fail::usage(format!("--ldap-group-role: {m:?} is not GROUP=ROLE")))?;
        group_roles.push((g.trim().to_owned(), r.trim().to_owned()));
    }
    let config = sessiond_directory::LdapConfig {
        url,
        starttls: a.ldap_starttls,
        ca_file: a.ldap_ca.clone(),
        bind_dn: a.ldap_bind_dn.clone(),
        bind_password,
        user_base: a.ldap_user_base.clone().unwrap_or_default(),
        user_filter: a.ldap_user_filter.clone(),
        disabled_filter: a.ldap_disabled_filter.clone(),
        timeout: Duration::from_secs(5),
    };
    // Checked now, before listening: a URL or filter that cannot work is a usage error.
    let directory = sessiond_directory::LdapDirectory::new(config).map_err(Fail::usage)?;
    Ok(Some(LdapSettings {
        directory: Arc::new(directory),
        group_roles: sessiond_core::directory::GroupRoles(group_roles),
        sync_every: duration("--ldap-sync-interval", &a.ldap_sync_interval, false)?
            .unwrap_or(Duration::from_secs(300)),
    }))
}

/// Commvault web-service roots: absolute paths, matched without regard to case, that do
/// not shadow sessiond's own prefixes.
fn commvault_roots(given: Option<Vec<String>>) -> Result<Vec<String>, Fail> {
    let Some(given) = given else {
        return Ok(ServerConfig::default().commvault_roots);
    };
    let mut roots = vec![];
    for r in given {
        let root = r.trim().trim_end_matches('/').to_ascii_lowercase();
        let reserved = [
            "/api/v1", "/v1", "/login", "/relay", "/pod", "/healthz", "/readyz",
        ]
        .iter()
        .any(|p| root == *p || root.starts_with(&format!("{p}/")));
        if !root.starts_with('/') || root.len() < 2 || reserved || root.contains(['?', '#', '{']) {
            return Err(Fail::usage(format!(
                "--commvault-root: {r:?} must be an absolute path like /webconsole/api, outside /api/v1 and /v1"
            )));
        }
        if !roots.contains(&root) {
            roots.push(root);
        }
    }
    Ok(roots)
}

/// `--store URL` selects PostgreSQL; otherwise the embedded store lives in `--data-dir`.
pub fn store_spec(
    url: Option<String>,
    data_dir: PathBuf,
    pool_size: Option<u32>,
) -> Result<StoreSpec, Fail> {
    match url {
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(StoreSpec::Postgres {
                url,
                pool_size: pool_size.unwrap_or(10).max(2),
            })
        }
        Some(other) => Err(Fail::usage(format!(
            "--store: {:?} is not a postgres:// URL (leave --store out for the embedded store)",
            sessiond_store::redact_url(&other)
        ))),
        None => Ok(StoreSpec::Sqlite(data_dir)),
    }
}

fn admin_password(file: Option<&Path>) -> Result<Option<String>, Fail> {
    if let Some(path) = file {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read admin password file {}", path.display()))?;
        return Ok(Some(text.trim_end_matches(['\r', '\n']).to_owned()));
    }
    Ok(std::env::var("SESSIOND_ADMIN_PASSWORD")
        .ok()
        .filter(|p| !p.is_empty()))
}

pub async fn run(settings: Settings) -> Result<(), Fail> {
    // Everything that can refuse the options is checked before sessiond listens or says so.
    for warning in crate::private::prepare_data_dir(&settings.data_dir)? {
        tracing::warn!("{warning}");
    }
    let negotiate = negotiator(settings.keytab.as_deref(), &settings.data_dir)?;
    let (transport, scheme) = match &settings.tls {
        None => (Transport::Http, "http"),
        Some(t) => {
            let mut names = t.hostnames.clone();
            names.push(settings.core.server_name.clone());
            let id = tls::prepare(
                &settings.data_dir,
                t.cert.as_deref(),
                t.key.as_deref(),
                &names,
            )
            .context("TLS")?;
            let how = if id.generated {
                "generated now"
            } else {
                "in use"
            };
            println!(
                "sessiond: TLS certificate {} ({how}), SHA-256 fingerprint {}",
                id.cert_path.display(),
                id.fingerprint
            );
            (
                Transport::Https(tls::server_config(&id).context("TLS")?),
                "https",
            )
        }
    };
    let where_ = settings.store.describe();
    let store = sessiond_store::open(&settings.store)
        .await
        .with_context(|| format!("cannot open the store ({where_})"))?;
    let core = Arc::new(
        Core::new(store.clone(), Arc::new(SystemClock), settings.core.clone())
            .await
            .context("cannot start the core")?,
    );
    let password = admin_password(settings.admin_password_file.as_deref())?;
    let boot = core
        .bootstrap(password.as_deref())
        .await
        .context("cannot prepare the store")?;
    if let Some(pw) = &boot.generated_password {
        // Printed once, on stdout, never through the log.
        println!("sessiond: created user \"admin\" with password: {pw}");
        println!("sessiond: this password is shown only once; change it after logging in.");
    } else if boot.admin_created {
        println!("sessiond: created user \"admin\" with the configured password.");
    }
    if let Some(ldap) = &settings.ldap {
        tracing::info!(directory = %sessiond_core::directory::Directory::describe(&*ldap.directory),
            "users sessiond does not own come from the directory");
        core.use_directory(sessiond_core::service::DirectorySource {
            directory: ldap.directory.clone(),
            group_roles: ldap.group_roles.clone(),
        })
        .map_err(|e| Fail::usage(e.to_string()))?;
    }
    let shutdown = shutdown_signal()?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr().context("no local address")?;
    tracing::info!(
        %addr,
        store = %where_,
        server_name = %settings.core.server_name,
        "sessiond listening on {scheme}://{addr}"
    );
    println!("sessiond: listening on {scheme}://{addr}");
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let tasks =
        sessiond_server::tasks::spawn_maintenance(core.clone(), &settings.server, stop_rx.clone());
    let changes = sessiond_server::tasks::spawn_change_listener(core.clone());
    let sender = sessiond_server::webhooks::HttpSender::new().map_err(Fail::new)?;
    let deliveries =
        sessiond_server::webhooks::spawn_delivery(core.clone(), Arc::new(sender), stop_rx.clone());
    let directory_sync = settings.ldap.as_ref().map(|l| {
        sessiond_server::tasks::spawn_directory_sync(core.clone(), l.sync_every, stop_rx.clone())
    });
    let warm = settings
        .warm_cache
        .then(|| sessiond_server::tasks::spawn_cache_warm_up(core.clone()));
    let state = AppState {
        core: core.clone(),
        cfg: Arc::new(settings.server.clone()),
        negotiate,
    };
    sessiond_server::serve_on(listener, state, transport, shutdown)
        .await
        .context("server failed")?;
    let _ = stop_tx.send(true);
    let _ = tasks.await;
    let _ = deliveries.await;
    if let Some(d) = directory_sync {
        let _ = d.await;
    }
    if let Some(c) = changes {
        c.abort();
    }
    if let Some(w) = warm {
        w.abort();
    }
    store.close().await;
    tracing::info!("sessiond stopped");
    Ok(())
}

/// The Negotiate acceptor for `--keytab`, with its replay cache in the data directory.
fn negotiator(
    keytab: Option<&Path>,
    data_dir: &Path,
) -> Result<Option<Arc<dyn sessiond_server::negotiate::Negotiate>>, Fail> {
    let Some(keytab) = keytab else {
        return Ok(None);
    };
    if !keytab.is_file() {
        return Err(Fail::usage(format!(
            "--keytab: {} is not a file",
            keytab.display()
        )));
    }
    let acceptor =
        sessiond_server::negotiate::gssapi::GssAcceptor::new(keytab, &data_dir.join("pam.rcache2"))
            .map_err(|e| Fail::new(format!("--keytab {}: {e}", keytab.display())))?;
    tracing::info!(keytab = %keytab.display(), "HTTP Negotiate enabled for the PAM dialect");
    Ok(Some(Arc::new(acceptor)))
}

pub async fn migrate(store: StoreSpec) -> Result<(), Fail> {
    let where_ = store.describe();
    let opened = sessiond_store::open(&store)
        .await
        .with_context(|| format!("migration of the store ({where_}) failed"))?;
    opened.close().await;
    println!("sessiond: the store ({where_}) is up to date");
    Ok(())
}

/// Registers for SIGTERM and SIGINT now (before the server says it listens, so a signal
/// that arrives at once still stops it gracefully) and resolves when one arrives.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Fail> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {},
            _ = int.recv() => {},
        }
        tracing::info!("shutting down");
    })
}

/// A trusted proxy: a CIDR (`10.0.0.0/8`) or one address (`192.0.2.7`, a /32 or /128).
fn proxy_net(v: &str) -> Result<ipnet::IpNet, String> {
    let v = v.trim();
    v.parse::<ipnet::IpNet>()
        .or_else(|_| v.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{v:?} is not an address or CIDR (10.0.0.0/8, 192.0.2.7, fd00::/8)"))
}

/// `--session-limit-action`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LimitAction {
    Refuse,
    EndOldest,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::FromArgMatches;

    fn parse(args: &[&str]) -> Result<ServeArgs, clap::Error> {
        let cmd = ServeArgs::augment_args(clap::Command::new("serve"));
        let m = cmd.try_get_matches_from(std::iter::once("serve").chain(args.iter().copied()))?;
        ServeArgs::from_arg_matches(&m)
    }

    /// Every BOOL setting, as README's table and `--help` show it: the switch alone is
    /// true and an explicit `false` turns it off (the benchmark passes `--warm-cache false`;
    /// a plain flag refused it).
    #[test]
    fn every_boolean_setting_takes_the_switch_alone_and_an_explicit_value() {
        let cmd = ServeArgs::augment_args(clap::Command::new("serve"));
        let booleans: Vec<String> = cmd
            .get_arguments()
            .filter(|a| a.get_value_names().is_some_and(|n| n == ["BOOL"]))
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        assert!(booleans.len() >= 5, "{booleans:?}");
        for flag in &booleans {
            for value in ["false", "true", "off", "yes"] {
                parse(&[flag, value]).unwrap_or_else(|e| panic!("{flag} {value}: {e}"));
                parse(&[&format!("{flag}={value}")])
                    .unwrap_or_else(|e| panic!("{flag}={value}: {e}"));
            }
            parse(&[flag]).unwrap_or_else(|e| panic!("{flag} alone: {e}"));
        }
        let off = parse(&["--warm-cache", "false", "--metrics", "off"]).unwrap();
        assert!(!off.warm_cache && !off.metrics);
        let on = parse(&["--warm-cache", "--metrics"]).unwrap();
        assert!(on.warm_cache && on.metrics);
    }
}
