//! `sessiond report samba`: keeps a Samba server's SMB sessions in sessiond, so that
//! NetSessionEnum, `sessiond net session` and the lists answer for a real file server. Each
//! pass reads `smbstatus --json` and reconciles it with what sessiond holds for the server:
//! new sessions are reported, changed ones PATCHed, gone ones closed ("closed by server").
//! It keeps no state of its own: after a restart it reconciles instead of duplicating.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use sessiond_api as api;

use crate::client::{enc, Api};
use crate::fail::{Context, Fail};

#[derive(Debug, clap::Args)]
pub struct SambaArgs {
    /// The Samba server's configuration (passed to smbstatus -s).
    #[arg(long, value_name = "FILE")]
    pub smb_conf: PathBuf,
    /// The name the server's sessions are kept under (NetSessionEnum's servername).
    #[arg(long, value_name = "NAME")]
    pub server: String,
    /// The sessiond server, e.g. https://sessiond.example.com:8000.
    #[arg(long, env = "SESSIOND_SERVER", value_name = "URL")]
    pub url: String,
    /// A file holding an access token of a user with PRIVILEGE_SESSION_REPORT (the role
    /// Session Reporters).
    #[arg(long, value_name = "FILE")]
    pub token_file: PathBuf,
    /// CA certificate (PEM) the sessiond server's certificate must chain to.
    #[arg(long, env = "SESSIOND_CA", value_name = "FILE")]
    pub ca: Option<PathBuf>,
    /// Time between passes.
    #[arg(long, default_value = "30s", value_name = "DURATION")]
    pub interval: String,
    /// One pass, then exit (non-zero if it failed).
    #[arg(long)]
    pub once: bool,
    /// The smbstatus program.
    #[arg(long, default_value = "smbstatus", value_name = "PATH")]
    pub smbstatus: PathBuf,
}

/// One SMB session, as sessiond should hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbSession {
    /// What ties it to its sessiond session across passes: the client's address and port
    /// (`ipv4:10.0.0.7:51234`), unique per connection; kept as the session's transport.
    pub key: String,
    pub username: String,
    pub client: String,
    /// The dialect, e.g. `SMB3_11`.
    pub protocol: String,
    pub encrypted: bool,
    pub signed: bool,
    pub shares: Vec<String>,
    pub opens: i64,
}

const SESS_NOENCRYPTION: i64 = 0x2;
const SESS_SIGNED: i64 = 0x4;

impl SmbSession {
    fn user_flags(&self) -> i64 {
        let mut f = 0;
        if !self.encrypted {
            f |= SESS_NOENCRYPTION;
        }
        if self.signed {
            f |= SESS_SIGNED;
        }
        f
    }
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether smbstatus' `{"cipher", "degree"}` says the protection is on.
fn protected(v: &Value) -> bool {
    let degree = v["degree"].as_str().unwrap_or("none");
    let cipher = v["cipher"].as_str().unwrap_or("");
    degree != "none" && !cipher.is_empty()
}

/// The sessions in `smbstatus --json`'s answer, with their shares (tree connects) and their
/// open files (tied to a session by the serving process and the user: opens carry no
/// session id).
pub fn parse_smbstatus(status: &Value) -> Result<Vec<SmbSession>, String> {
    let Some(sessions) = status["sessions"].as_object() else {
        // No session at all: smbstatus leaves the key out.
        return Ok(vec![]);
    };
    let mut shares: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    if let Some(tcons) = status["tcons"].as_object() {
        for t in tcons.values() {
            if let (Some(sid), Some(service)) = (text(&t["session_id"]), t["service"].as_str()) {
                // IPC$ is Samba's own plumbing, not a share a user opened.
                if !service.eq_ignore_ascii_case("IPC$") {
                    shares.entry(sid).or_default().insert(service.to_owned());
                }
            }
        }
    }
    let mut opens: BTreeMap<(String, String), i64> = BTreeMap::new();
    if let Some(files) = status["open_files"].as_object() {
        for f in files.values() {
            for o in f["opens"].as_object().into_iter().flat_map(|m| m.values()) {
                if let (Some(proc_id), Some(uid)) =
                    (text(&o["server_id"]["unique_id"]), text(&o["uid"]))
                {
                    *opens.entry((proc_id, uid)).or_default() += 1;
                }
            }
        }
    }
    let mut out = vec![];
    for (id, s) in sessions {
        let sid = text(&s["session_id"]).unwrap_or_else(|| id.clone());
        let username = s["username"].as_str().unwrap_or_default();
        // An IPv6 address may carry its zone (`fe80::1%eth0`): not part of a computer name.
        let client = s["remote_machine"]
            .as_str()
            .unwrap_or_default()
            .split('%')
            .next()
            .unwrap_or_default();
        let key = s["hostname"].as_str().unwrap_or_default();
        if username.is_empty() || client.is_empty() || key.is_empty() {
            // A connection still negotiating: no user yet.
            continue;
        }
        let proc_id = text(&s["server_id"]["unique_id"]).unwrap_or_default();
        let uid = text(&s["uid"]).unwrap_or_default();
        out.push(SmbSession {
            key: key.to_owned(),
            // smbd spells domain users DOMAIN\name; sessiond's names are plain.
            username: username.rsplit('\\').next().unwrap_or(username).to_owned(),
            client: client.to_owned(),
            protocol: s["session_dialect"].as_str().unwrap_or("SMB").to_owned(),
            encrypted: protected(&s["encryption"]),
            signed: protected(&s["signing"]),
            shares: shares
                .remove(&sid)
                .map(|s| s.into_iter().collect())
                .unwrap_or_default(),
            opens: opens.get(&(proc_id, uid)).copied().unwrap_or(0),
        });
    }
    out.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(out)
}

/// What one pass did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct PassReport {
    pub reported: usize,
    pub changed: usize,
    pub closed: usize,
    /// Sessions of users sessiond does not know (reported again at the next pass).
    pub unknown_users: usize,
    /// Sessions sessiond refused as they are (tried again at the next pass).
    pub refused: usize,
}

async fn smbstatus(args: &SambaArgs) -> Result<Value, Fail> {
    let out = tokio::process::Command::new(&args.smbstatus)
        .arg("-s")
        .arg(&args.smb_conf)
        .arg("--json")
        .output()
        .await
        .with_context(|| format!("cannot run {}", args.smbstatus.display()))?;
    if !out.status.success() {
        return Err(Fail::new(format!(
            "{} failed ({}): {}",
            args.smbstatus.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    serde_json::from_slice(&out.stdout)
        .with_context(|| format!("{} did not answer JSON", args.smbstatus.display()))
}

async fn pass(args: &SambaArgs, api: &Api) -> Result<PassReport, Fail> {
    let now = parse_smbstatus(&smbstatus(args).await?).map_err(Fail::new)?;
    let path = format!("/servers/{}/sessions", enc(&args.server));
    let held: api::ReportedSessionList = api.call(Method::GET, &path, None::<&()>).await?;
    let mut report = PassReport::default();
    let mut seen = BTreeSet::new();
    for s in &now {
        let mine = held.sessions.iter().find(|h| {
            h.transport.as_deref() == Some(s.key.as_str())
                && h.username.eq_ignore_ascii_case(&s.username)
        });
        match mine {
            Some(h) => {
                seen.insert(h.id.clone());
                if h.num_opens != s.opens || h.shares != s.shares || h.client_type != s.protocol {
                    let change = serde_json::json!({
                        "num_opens": s.opens, "shares": s.shares, "client_type": s.protocol,
                    });
                    let _: Value = api
                        .call(
                            Method::PATCH,
                            &format!("{path}/{}", enc(&h.id)),
                            Some(&change),
                        )
                        .await?;
                    report.changed += 1;
                }
            }
            None => {
                let new = serde_json::json!({
                    "client_name": s.client,
                    "username": s.username,
                    "client_type": s.protocol,
                    "transport": s.key,
                    "num_opens": s.opens,
                    "user_flags": s.user_flags(),
                    "shares": s.shares,
                });
                match api.call::<Value>(Method::POST, &path, Some(&new)).await {
                    Ok(_) => report.reported += 1,
                    Err(e) if e.message.contains("NERR_UserNotFound") => {
                        tracing::warn!(user = %s.username, client = %s.client,
                            "an SMB session of a user sessiond does not know: not reported");
                        report.unknown_users += 1;
                    }
                    // One session sessiond refuses (a name it does not accept) must not
                    // stop the others from being reported.
                    Err(e) if e.message.contains("[HTTP 400]") => {
                        tracing::warn!(user = %s.username, client = %s.client, error = %e.message,
                            "an SMB session sessiond refused: not reported");
                        report.refused += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
    }
    for h in &held.sessions {
        if !seen.contains(&h.id) {
            let _: Value = api
                .call(
                    Method::DELETE,
                    &format!("{path}/{}", enc(&h.id)),
                    None::<&()>,
                )
                .await?;
            report.closed += 1;
        }
    }
    Ok(report)
}

pub async fn run(args: SambaArgs) -> Result<(), Fail> {
    let token = std::fs::read_to_string(&args.token_file)
        .with_context(|| format!("cannot read the token file {}", args.token_file.display()))?
        .trim()
        .to_owned();
    if token.is_empty() {
        return Err(Fail::usage(format!(
            "{} is empty",
            args.token_file.display()
        )));
    }
    let every = humantime::parse_duration(&args.interval).map_err(|e| {
        Fail::usage(format!(
            "--interval: {:?} is not a duration like 30s ({e})",
            args.interval
        ))
    })?;
    let api = Api::new(&args.url, Some(token), args.ca.as_deref())?;
    loop {
        match pass(&args, &api).await {
            Ok(r) => {
                if args.once {
                    let mut line = format!(
                        "{}: {} reported, {} changed, {} closed",
                        args.server, r.reported, r.changed, r.closed
                    );
                    if r.unknown_users > 0 {
                        line += &format!(", {} of unknown users skipped", r.unknown_users);
                    }
                    if r.refused > 0 {
                        line += &format!(", {} refused by sessiond", r.refused);
                    }
                    println!("{line}");
                    return Ok(());
                }
                if r != PassReport::default() {
                    tracing::info!(server = %args.server, reported = r.reported, changed = r.changed,
                        closed = r.closed, unknown_users = r.unknown_users, refused = r.refused,
                        "SMB sessions reconciled");
                }
            }
            Err(e) if args.once => return Err(e),
            Err(e) => tracing::warn!(error = %e.message, "reporting pass failed; will retry"),
        }
        tokio::time::sleep(every.max(Duration::from_secs(1))).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// The shape of Samba 4.17's `smbstatus --json`, trimmed to what the reporter reads.
    fn status() -> Value {
        json!({
            "sessions": {
                "3372220416": {
                    "session_id": "3372220416",
                    "server_id": {"pid": "4242", "task_id": "0", "vnn": "4294967295", "unique_id": "88"},
                    "uid": 1001, "gid": 1001, "username": "alice", "groupname": "alice",
                    "remote_machine": "127.0.0.1", "hostname": "ipv4:127.0.0.1:57256",
                    "session_dialect": "SMB3_11",
                    "encryption": {"cipher": "", "degree": "none"},
                    "signing": {"cipher": "AES-128-GMAC", "degree": "partial"}
                },
                "99": {
                    "session_id": "99",
                    "server_id": {"pid": "4243", "task_id": "0", "vnn": "4294967295", "unique_id": "89"},
                    "uid": 1002, "gid": 1002, "username": "EXAMPLE\\bob", "groupname": "bob",
                    "remote_machine": "10.0.0.7", "hostname": "ipv4:10.0.0.7:40000",
                    "session_dialect": "SMB3_11",
                    "encryption": {"cipher": "AES-128-GCM", "degree": "full"},
                    "signing": {"cipher": "", "degree": "none"}
                }
            },
            "tcons": {
                "1": {"service": "share", "session_id": "3372220416", "connected_at": "x"},
                "2": {"service": "IPC$", "session_id": "3372220416", "connected_at": "x"},
                "3": {"service": "home", "session_id": "99", "connected_at": "x"}
            },
            "open_files": {
                "/srv/share/hello.txt": {"opens": {
                    "4242/1": {"server_id": {"unique_id": "88"}, "uid": 1001},
                    "4243/2": {"server_id": {"unique_id": "89"}, "uid": 1002}
                }},
                "/srv/share/b.txt": {"opens": {
                    "4242/3": {"server_id": {"unique_id": "88"}, "uid": 1001}
                }}
            }
        })
    }

    #[test]
    fn sessions_get_their_shares_opens_and_protection() {
        let s = parse_smbstatus(&status()).unwrap();
        assert_eq!(s.len(), 2);
        let bob = &s[0];
        assert_eq!(
            (
                bob.username.as_str(),
                bob.client.as_str(),
                bob.opens,
                bob.shares.clone()
            ),
            ("bob", "10.0.0.7", 1, vec!["home".to_owned()])
        );
        assert_eq!(bob.user_flags(), 0, "encrypted, not signed");
        let alice = &s[1];
        assert_eq!(alice.key, "ipv4:127.0.0.1:57256");
        assert_eq!(alice.opens, 2);
        assert_eq!(alice.shares, ["share"]);
        assert_eq!(alice.protocol, "SMB3_11");
        assert_eq!(alice.user_flags(), SESS_NOENCRYPTION | SESS_SIGNED);
    }

    #[test]
    fn an_ipv6_zone_is_not_part_of_the_client_name() {
        let mut st = status();
        st["sessions"]["99"]["remote_machine"] = json!("fe80::1%eth0");
        let s = parse_smbstatus(&st).unwrap();
        assert!(s.iter().any(|x| x.client == "fe80::1"), "{s:?}");
    }

    #[test]
    fn no_sessions_and_half_made_ones_are_nothing_to_report() {
        assert!(parse_smbstatus(&json!({"timestamp": "x"}))
            .unwrap()
            .is_empty());
        let half = json!({"sessions": {"1": {"session_id": "1", "username": "", "remote_machine": "127.0.0.1", "hostname": "ipv4:127.0.0.1:1"}}});
        assert!(parse_smbstatus(&half).unwrap().is_empty());
    }
}
