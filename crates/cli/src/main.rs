//! `sessiond`: the server (`serve`, `migrate`) and a command-line client of its native API.

mod arenas;
mod client;
mod commands;
mod fail;
mod logging;
mod private;
mod serve;
mod table;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::fail::Fail;

#[derive(Parser)]
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

// Parsed once at start-up: the size of its variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run the server.
    Serve {
        #[command(flatten)]
        args: serve::ServeArgs,
        /// Log filter, e.g. info or sessiond=debug [default: info].
        #[arg(long, env = "SESSIOND_LOG", value_name = "FILTER")]
        log: Option<String>,
    },
    /// Create or upgrade the store's schema, then exit.
    Migrate {
        /// Directory of the embedded SQLite store [default: ./sessiond-data].
        #[arg(long, env = "SESSIOND_DATA_DIR", value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// A postgres:// URL: migrate that database instead.
        #[arg(long, env = "SESSIOND_STORE", value_name = "URL")]
        store: Option<String>,
    },
    #[command(flatten)]
    Client(commands::ClientCommand),
}

fn main() {
    let cli = Cli::parse();
    if matches!(cli.command, Command::Serve { .. } | Command::Migrate { .. }) {
        private::restrict_umask();
    }
    if matches!(cli.command, Command::Serve { .. }) {
        arenas::limit();
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
            Command::Serve { args, log } => {
                let settings = args.resolve(log)?;
                logging::init(settings.log.as_deref(), settings.log_format);
                for var in serve::unknown_env_vars(&<Cli as clap::CommandFactory>::command()) {
                    tracing::warn!("unknown environment variable {var} is ignored (a typo?)");
                }
                serve::run(settings).await
            }
            Command::Migrate { data_dir, store } => {
                let dir = data_dir.unwrap_or_else(|| PathBuf::from("./sessiond-data"));
                serve::migrate(serve::store_spec(store, dir, None)?).await
            }
            Command::Client(cmd) => commands::run(cmd).await,
        }
    });
    if let Err(e) = result {
        eprintln!("sessiond: {}", e.message);
        std::process::exit(e.code);
    }
}
