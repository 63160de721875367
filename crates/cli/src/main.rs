//! `sessiond`: the server (`serve`, `migrate`) and a command-line client of its native API.

mod client;
mod commands;
mod config;
mod fail;
mod file_layer;
mod logging;
mod private;
mod report_samba;
mod serve;
mod table;
mod webhook_commands;

use std::path::PathBuf;

use clap::Subcommand;

use crate::fail::Fail;

#[derive(clap::Parser)]
#[command(
    name = "sessiond",
    version,
    about = "One session service that answers in many products' dialects",
    long_about = "sessiond keeps every session: who opened it, from where, on which server, since \
when, idle for how long, allowed to do what. `sessiond serve` runs the server; the other \
commands are a client of its native API (log in first with `sessiond login`)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Options shared by the client commands.
#[derive(Debug, clap::Args, Clone)]
pub struct ClientOpts {
    /// Where the login token is kept [default: $XDG_CONFIG_HOME/sessiond/credentials.json].
    #[arg(long, env = "SESSIOND_CREDENTIALS", global = true, value_name = "FILE")]
    pub credentials: Option<PathBuf>,
    /// Print JSON (the native API's own) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
}

/// The options of `serve` (and of `config`, which reports them).
#[derive(clap::Args)]
struct ServeCommand {
    #[command(flatten)]
    args: serve::ServeArgs,
    /// Log filter, e.g. info or sessiond=debug [default: info].
    #[arg(long, env = "SESSIOND_LOG", value_name = "FILTER")]
    log: Option<String>,
}

// Parsed once at start-up: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve(ServeCommand),
    /// Print the configuration `serve` would run with: each setting, its value and where it
    /// came from (flag, environment, file or default), secrets masked; then check it.
    Config(ServeCommand),
    /// Create or upgrade the store's schema, then exit.
    Migrate {
        /// Directory of the embedded SQLite store [default: ./sessiond-data].
        #[arg(long, env = "SESSIOND_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// A postgres:// URL: migrate that database instead.
        #[arg(long, env = "SESSIOND_STORE", value_name = "URL")]
        store: Option<String>,
    },
    /// Keep another server's sessions in sessiond (a reporter; runs beside that server).
    Report {
        #[command(subcommand)]
        source: ReportSource,
    },
    #[command(flatten)]
    Client(commands::ClientCommand),
}

#[derive(Subcommand)]
enum ReportSource {
    /// A Samba file server: reads `smbstatus --json` (as root) and reconciles its SMB
    /// sessions with sessiond: new ones reported, changes PATCHed, gone ones closed.
    Samba(report_samba::SambaArgs),
}

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // The TOML file's values become the options' defaults: flag > environment > file.
    let command = match file_layer::apply(<Cli as clap::CommandFactory>::command(), &argv) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sessiond: {}", e.message);
            std::process::exit(e.code);
        }
    };
    let matches = command.clone().get_matches_from(&argv);
    let cli =
        <Cli as clap::FromArgMatches>::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    if matches!(cli.command, Command::Serve { .. } | Command::Migrate { .. }) {
        private::restrict_umask();
    }
    if matches!(cli.command, Command::Serve { .. }) {
        sessiond_server::memory::limit_arenas();
        private::raise_open_file_limit();
    }
    if matches!(cli.command, Command::Client(_)) {
        // Like other command-line tools, end quietly when the reader of our output goes
        // away (`sessiond sessions list | head`). Not for the server, whose sockets must
        // never kill it.
        #[cfg(unix)]
        // SAFETY: called before any thread is started; restores the default disposition.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sessiond: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result: Result<(), Fail> = runtime.block_on(async move {
        match cli.command {
            Command::Serve(ServeCommand { args, log }) => {
                let settings = args.resolve(log)?;
                logging::init(settings.log.as_deref(), settings.log_format);
                for var in serve::unknown_env_vars(&<Cli as clap::CommandFactory>::command()) {
                    tracing::warn!("unknown environment variable {var} is ignored (a typo?)");
                }
                serve::run(settings).await
            }
            Command::Config(ServeCommand { args, log }) => {
                let config = command
                    .find_subcommand("config")
                    .expect("the config command");
                let sub = matches
                    .subcommand_matches("config")
                    .expect("config's matches");
                config::print(&config::report(config, sub, &args)?);
                args.resolve(log).map(|_| ())
            }
            Command::Migrate { data_dir, store } => {
                let dir = data_dir.unwrap_or_else(|| PathBuf::from("./sessiond-data"));
                serve::migrate(serve::store_spec(store, dir, None)?).await
            }
            Command::Report {
                source: ReportSource::Samba(args),
            } => {
                logging::init(None, logging::LogFormat::Text);
                report_samba::run(args).await
            }
            Command::Client(cmd) => commands::run(cmd).await,
        }
    });
    if let Err(e) = result {
        eprintln!("sessiond: {}", e.message);
        std::process::exit(e.code);
    }
}
